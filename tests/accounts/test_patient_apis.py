"""Who sees which patient: care teams, schedulers (demographics), admins (break-glass only)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from carecore.audit.models import AuditEvent

from ..factories import PatientFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/patients/"


def detail(patient_id: object) -> str:
    return f"/api/v1/patients/{patient_id}/"


def listed_ids(response) -> set[str]:
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize(
    ("actor", "sees"),
    [
        ("patient", {"patient"}),
        ("other_patient", {"other_patient"}),
        ("clinician", {"patient"}),
        ("coordinator", {"patient"}),
        ("other_clinician", {"other_patient"}),
        ("scheduler", {"patient", "other_patient"}),
        ("admin", set()),
    ],
)
def test_the_patient_list_holds_exactly_whom_each_role_may_see(
    actors, client_for, patient, other_patient, actor, sees
):
    ids = {"patient": str(patient.id), "other_patient": str(other_patient.id)}

    response = client_for(actors[actor]).get(LIST)

    assert response.status_code == 200
    assert listed_ids(response) == {ids[name] for name in sees}


@pytest.mark.parametrize("actor", ["patient", "clinician", "coordinator", "scheduler"])
def test_allowed_roles_read_the_patient(actors, client_for, patient, actor):
    response = client_for(actors[actor]).get(detail(patient.id))

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(patient.id)
    assert body["state"] == "NY"
    assert body["care_team"]["lead"]["role"] == "clinician"


@pytest.mark.parametrize("actor", ["other_patient", "other_clinician", "admin"])
def test_someone_elses_patient_is_a_404(actors, client_for, patient, actor):
    response = client_for(actors[actor]).get(detail(patient.id))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_missing_patient_looks_exactly_like_a_forbidden_one(client_for, clinician, other_patient):
    client = client_for(clinician.user)

    forbidden = client.get(detail(other_patient.id))
    missing = client.get(detail(uuid.uuid4()))

    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.json() == missing.json()


def test_anonymous_callers_get_401(anon, patient):
    assert anon.get(LIST).status_code == 401
    assert anon.get(detail(patient.id)).status_code == 401


def test_reads_are_audited_including_denied_ones(client_for, clinician, patient, other_patient):
    client = client_for(clinician.user)

    client.get(detail(patient.id))
    client.get(detail(other_patient.id))

    allowed = AuditEvent.objects.get(object_id=str(patient.id), action="read")
    denied = AuditEvent.objects.get(object_id=str(other_patient.id), action="read")
    assert (allowed.outcome, allowed.actor_id, allowed.patient_id) == (
        "success",
        clinician.user_id,
        patient.id,
    )
    assert allowed.request_id
    assert denied.outcome == "denied"
    assert denied.patient_id is None  # a denied probe does not confirm the patient exists


def test_a_list_writes_one_audit_event_naming_every_patient_shown(
    client_for, scheduler, patient, other_patient
):
    shown = [row["id"] for row in client_for(scheduler).get(LIST).json()["results"]]

    (event,) = AuditEvent.objects.filter(action="list")
    assert {str(patient.id), str(other_patient.id)} == set(shown)
    assert [str(patient_id) for patient_id in event.patient_ids] == shown
    assert event.detail["object_ids"] == shown


def test_the_patient_list_query_count_does_not_grow_with_rows(
    client_for, scheduler, clinician, django_assert_num_queries
):
    PatientFactory.create_batch(3)
    client = client_for(scheduler)
    # the token with its user, the patients page (with user, care
    # team, lead), care-team members prefetch, one audit INSERT for the page
    with django_assert_num_queries(4):
        first = client.get(LIST)
    PatientFactory.create_batch(12)
    with django_assert_num_queries(4):
        second = client.get(LIST)

    assert len(first.json()["results"]) == 3
    assert len(second.json()["results"]) == 15


def test_the_patient_list_is_paginated_with_a_capped_page_size(client_for, scheduler, clinician):
    PatientFactory.create_batch(5)
    client = client_for(scheduler)

    page = client.get(LIST, {"page_size": 2}).json()
    assert len(page["results"]) == 2
    assert page["next"] and page["previous"] is None
    seen = {row["id"] for row in page["results"]}
    while page["next"]:
        page = client.get(page["next"]).json()
        seen |= {row["id"] for row in page["results"]}
    assert len(seen) == 5

    capped = client.get(LIST, {"page_size": 10_000})
    assert capped.status_code == 200


# --- break-glass ---------------------------------------------------------------------------


def break_glass(client, patient_id, reason="Patient called the on-call line, team unreachable"):
    return client.post(
        f"/api/v1/patients/{patient_id}/break-glass/", {"reason": reason}, format="json"
    )


def test_break_glass_gives_time_limited_audited_access(client_for, other_clinician, patient):
    client = client_for(other_clinician.user)
    assert client.get(detail(patient.id)).status_code == 404

    grant = break_glass(client, patient.id)

    assert grant.status_code == 201
    assert client.get(detail(patient.id)).status_code == 200
    read = AuditEvent.objects.filter(object_id=str(patient.id), outcome="success").latest("id")
    assert read.detail == {"break_glass": True, "grant_id": grant.json()["id"]}
    assert AuditEvent.objects.filter(action="break_glass", patient_id=patient.id).exists()
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert client.get(detail(patient.id)).status_code == 404


def test_admins_see_patients_only_through_break_glass(client_for, admin_user, patient):
    client = client_for(admin_user)
    assert client.get(detail(patient.id)).status_code == 404

    break_glass(client, patient.id)

    assert client.get(detail(patient.id)).status_code == 200
    assert listed_ids(client.get(LIST)) == {str(patient.id)}


def test_break_glass_needs_a_written_reason(client_for, other_clinician, patient):
    response = break_glass(client_for(other_clinician.user), patient.id, reason="because")

    assert response.status_code == 400
    assert "reason" in response.json()["error"]["fields"]


@pytest.mark.parametrize("actor", ["patient", "coordinator", "scheduler"])
def test_other_roles_cannot_break_glass(actors, client_for, other_patient, actor):
    response = break_glass(client_for(actors[actor]), other_patient.id)

    assert response.status_code == 403


def test_break_glass_on_a_missing_patient_is_a_404(client_for, other_clinician):
    assert break_glass(client_for(other_clinician.user), uuid.uuid4()).status_code == 404


# --- care team changes ------------------------------------------------------------------------


def change_team(client, patient_id, body):
    return client.put(f"/api/v1/patients/{patient_id}/care-team/", body, format="json")


def test_an_admin_changes_a_care_team(client_for, admin_user, patient, coordinator):
    from ..factories import ClinicianFactory

    new_lead = ClinicianFactory(licensed_states=["NY"])

    response = change_team(
        client_for(admin_user),
        patient.id,
        {"lead": str(new_lead.id), "members": [str(coordinator.id)]},
    )

    assert response.status_code == 200
    assert response.json()["lead"]["id"] == str(new_lead.id)
    assert [m["user_id"] for m in response.json()["members"]] == [str(coordinator.id)]
    assert AuditEvent.objects.filter(object_type="care_team", action="update").exists()


def test_a_lead_must_be_licensed_in_the_patients_state(
    client_for, admin_user, patient, other_clinician
):
    response = change_team(
        client_for(admin_user), patient.id, {"lead": str(other_clinician.id), "members": []}
    )

    assert response.status_code == 400
    assert "lead" in response.json()["error"]["fields"]
    patient.care_team.refresh_from_db()
    assert patient.care_team.lead_id != other_clinician.id


def test_the_lead_clinician_may_change_their_team(client_for, clinician, patient):
    response = change_team(
        client_for(clinician.user), patient.id, {"lead": str(clinician.id), "members": []}
    )

    assert response.status_code == 200
    assert response.json()["members"] == []


def test_a_coordinator_cannot_change_the_team(client_for, coordinator, patient, clinician):
    response = change_team(
        client_for(coordinator), patient.id, {"lead": str(clinician.id), "members": []}
    )

    assert response.status_code == 403


def test_another_teams_clinician_gets_404_for_a_team_change(client_for, other_clinician, patient):
    response = change_team(
        client_for(other_clinician.user),
        patient.id,
        {"lead": str(other_clinician.id), "members": []},
    )

    assert response.status_code == 404
