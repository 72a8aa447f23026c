"""PATCH /api/v1/me/: time zone, preferred name and phone; a new phone number is used only once
its owner types the code sent to it."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from carecore.accounts.models import PhoneChange, Role
from carecore.audit.models import AuditEvent
from carecore.notifications.sms import LocmemSmsBackend
from tests.factories import ClinicianFactory

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"
CONFIRM = "/api/v1/me/phone/confirm/"
NEW_NUMBER = "+12125550147"


@pytest.fixture(autouse=True)
def sms_outbox():
    LocmemSmsBackend.outbox.clear()
    yield LocmemSmsBackend.outbox
    LocmemSmsBackend.outbox.clear()


def sent_code(outbox) -> str:
    (message,) = outbox
    found = re.search(r"\b(\d{6})\b", message.body)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("actor", ["patient", "clinician", "coordinator", "scheduler", "admin"])
def test_every_user_changes_their_time_zone_and_preferred_name(actors, client_for, actor):
    response = client_for(actors[actor]).patch(
        ME, {"timezone": "America/Chicago", "preferred_name": "Sam"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["timezone"] == "America/Chicago"
    assert response.json()["preferred_name"] == "Sam"
    user = actors[actor]
    user.refresh_from_db()
    assert (user.timezone, user.preferred_name) == ("America/Chicago", "Sam")
    assert AuditEvent.objects.filter(object_type="user", object_id=str(user.id)).exists()


def test_a_nul_in_the_preferred_name_is_a_400_naming_it(client_for, patient):
    # PostgreSQL stores no NUL: DRF's CharField refuses it, a 400 rather than a 500.
    response = client_for(patient.user).patch(ME, {"preferred_name": "Sam\x00"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "preferred_name": ["Null characters are not allowed."]
    }


def test_a_new_phone_is_used_only_after_its_code_is_confirmed(
    client_for, patient, sms_outbox, django_capture_on_commit_callbacks
):
    client = client_for(patient.user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(ME, {"phone": NEW_NUMBER}, format="json")

    assert response.status_code == 200
    assert response.json()["phone"] == ""
    assert response.json()["pending_phone"] == NEW_NUMBER
    (message,) = sms_outbox
    assert message.to == NEW_NUMBER
    assert patient.user.full_name not in message.body
    patient.user.refresh_from_db()
    assert str(patient.user.phone) == ""
    assert sent_code(sms_outbox) not in PhoneChange.objects.get().code_hash

    confirmed = client.post(CONFIRM, {"code": sent_code(sms_outbox)}, format="json")

    assert confirmed.status_code == 200
    assert confirmed.json()["phone"] == NEW_NUMBER
    assert confirmed.json()["pending_phone"] is None
    patient.user.refresh_from_db()
    assert str(patient.user.phone) == NEW_NUMBER


def test_wrong_codes_are_counted_and_then_none_is_accepted(
    client_for, patient, sms_outbox, django_capture_on_commit_callbacks
):
    client = client_for(patient.user)
    with django_capture_on_commit_callbacks(execute=True):
        client.patch(ME, {"phone": NEW_NUMBER}, format="json")
    right = sent_code(sms_outbox)
    wrong = "000000" if right != "000000" else "111111"

    for _ in range(5):
        refused = client.post(CONFIRM, {"code": wrong}, format="json")
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "invalid_code"

    assert PhoneChange.objects.get().attempts == 5
    assert client.post(CONFIRM, {"code": right}, format="json").status_code == 400
    patient.user.refresh_from_db()
    assert str(patient.user.phone) == ""


def test_a_code_is_only_good_for_the_user_it_was_sent_to(
    client_for, patient, other_patient, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client_for(patient.user).patch(ME, {"phone": NEW_NUMBER}, format="json")

    stolen = client_for(other_patient.user).post(
        CONFIRM, {"code": sent_code(sms_outbox)}, format="json"
    )

    assert stolen.status_code == 400
    other_patient.user.refresh_from_db()
    assert str(other_patient.user.phone) == ""


def test_an_empty_phone_removes_it_at_once(client_for, patient):
    patient.user.phone = "+12125550100"
    patient.user.save(update_fields=["phone"])

    response = client_for(patient.user).patch(ME, {"phone": ""}, format="json")

    assert response.json()["phone"] == ""
    patient.user.refresh_from_db()
    assert str(patient.user.phone) == ""


@override_settings(CARECORE_SMS_BACKEND="")
def test_without_sms_a_phone_cannot_be_confirmed(client_for, patient):
    response = client_for(patient.user).patch(ME, {"phone": NEW_NUMBER}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "sms_unavailable"


def test_every_invalid_field_is_named_at_once(client_for, patient):
    response = client_for(patient.user).patch(
        ME, {"timezone": "Mars/Olympus", "phone": "12", "preferred_name": 7}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"timezone", "phone", "preferred_name"}


@pytest.mark.parametrize("name", ["localtime", "Factory", "posixrules"])
def test_a_tz_database_name_that_is_no_place_is_not_a_time_zone(client_for, patient, name):
    response = client_for(patient.user).patch(ME, {"timezone": name}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"timezone"}


def test_me_cannot_change_role_email_or_names(client_for, patient):
    client_for(patient.user).patch(
        ME, {"role": Role.ADMIN, "email": "x@example.test", "first_name": "X"}, format="json"
    )

    patient.user.refresh_from_db()
    assert patient.user.role == Role.PATIENT
    assert patient.user.email == "patient@example.test"


def test_anonymous_callers_cannot_patch_me(anon):
    assert anon.patch(ME, {"timezone": "UTC"}, format="json").status_code == 401


# --- the care team's ids ----------------------------------------------------------------------


def test_every_clinician_on_the_care_team_is_named_by_their_clinician_id(
    client_for, patient, clinician, coordinator
):
    second = ClinicianFactory(user__email="second@example.test", licensed_states=["NY"])
    patient.care_team.memberships.create(user=second.user)

    team = client_for(patient.user).get(ME).json()["care_team"]
    clinicians = [clinician.id, second.id]
    listed = [team["lead"], *team["members"]]
    listed_clinicians = [p for p in listed if p["role"] == "clinician"]

    assert [p["id"] for p in listed_clinicians] == [str(c) for c in clinicians]
    directory = {
        c["id"] for c in client_for(patient.user).get("/api/v1/clinicians/").json()["results"]
    }
    assert {p["id"] for p in listed_clinicians} <= directory
    (coordinator_entry,) = [p for p in listed if p["role"] == "coordinator"]
    assert coordinator_entry["id"] == coordinator_entry["user_id"] == str(coordinator.id)


def test_asking_again_voids_the_earlier_code_and_codes_are_capped_per_hour(
    client_for, patient, sms_outbox, django_capture_on_commit_callbacks
):
    client = client_for(patient.user)
    with django_capture_on_commit_callbacks(execute=True):
        client.patch(ME, {"phone": NEW_NUMBER}, format="json")
    first = sent_code(sms_outbox)
    sms_outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.patch(ME, {"phone": "+12125550148"}, format="json")

    assert client.post(CONFIRM, {"code": first}, format="json").status_code in (200, 400)
    patient.user.refresh_from_db()
    assert str(patient.user.phone) != NEW_NUMBER  # the first number was never confirmed
    for number in range(149, 152):
        client.patch(ME, {"phone": f"+1212555{number:04d}"}, format="json")
    capped = client.patch(ME, {"phone": "+12125550199"}, format="json")
    assert capped.status_code == 429
    assert capped.json()["error"]["code"] == "throttled"
