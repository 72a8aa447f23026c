from __future__ import annotations

import pytest

from carecore.accounts.unread import register_unread_counter, unread_count_for

from ..factories import ClinicianFactory

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"
CLINICIANS = "/api/v1/clinicians/"


def test_me_for_a_patient_has_patient_id_and_care_team(client_for, patient, clinician, coordinator):
    body = client_for(patient.user).get(ME).json()

    assert body["role"] == "patient"
    assert body["patient_id"] == str(patient.id)
    assert body["timezone"] == "America/New_York"
    assert body["unread_count"] == 0
    assert body["care_team"]["id"] == str(patient.care_team.id)
    assert body["care_team"]["lead"] == {
        "id": str(clinician.id),
        "user_id": str(clinician.user_id),
        "name": clinician.user.full_name,
        "role": "clinician",
    }
    assert body["care_team"]["members"] == [
        {
            "id": str(coordinator.id),
            "user_id": str(coordinator.id),
            "name": coordinator.full_name,
            "role": "coordinator",
        }
    ]


def test_me_for_a_clinician_carries_the_clinician_id(client_for, clinician):
    body = client_for(clinician.user).get(ME).json()

    assert body["role"] == "clinician"
    assert body["clinician_id"] == str(clinician.id)
    assert body["profile"]["licensed_states"] == ["NY", "NJ"]
    assert "patient_id" not in body


@pytest.mark.parametrize("actor", ["coordinator", "scheduler", "admin"])
def test_me_for_other_staff_has_the_role(actors, client_for, actor):
    assert client_for(actors[actor]).get(ME).json()["role"] == actor


def test_me_requires_authentication(anon):
    response = anon.get(ME)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_unread_count_sums_what_apps_register(patient):
    def three(user):
        return 3

    register_unread_counter(three)
    try:
        assert unread_count_for(patient.user) == 3
    finally:
        from carecore.accounts import unread

        unread._counters.remove(three)


def test_clinician_profiles_are_public_to_signed_in_users(
    client_for, patient, clinician, other_clinician
):
    body = client_for(patient.user).get(CLINICIANS).json()

    by_id = {row["id"]: row for row in body["results"]}
    assert set(by_id) == {str(clinician.id), str(other_clinician.id)}
    assert by_id[str(clinician.id)]["licensed_states"] == ["NY", "NJ"]
    assert set(by_id[str(clinician.id)]) == {
        "id",
        "name",
        "credentials",
        "specialties",
        "licensed_states",
        "visit_types",
        "bio",
        "accepting_new_patients",
    }


def test_clinicians_can_be_filtered_by_state(client_for, patient, clinician, other_clinician):
    body = client_for(patient.user).get(CLINICIANS, {"state": "WA"}).json()

    assert [row["id"] for row in body["results"]] == [str(other_clinician.id)]


def test_clinician_list_needs_sign_in(anon):
    assert anon.get(CLINICIANS).status_code == 401


def test_clinician_list_query_count_does_not_grow(client_for, patient, django_assert_num_queries):
    client = client_for(patient.user)
    ClinicianFactory.create_batch(2)
    # the token with its user, the clinicians page (with user)
    with django_assert_num_queries(2):
        client.get(CLINICIANS)
    ClinicianFactory.create_batch(10)
    with django_assert_num_queries(2):
        response = client.get(CLINICIANS)
    assert len(response.json()["results"]) == 13  # with the patient fixture's clinician
