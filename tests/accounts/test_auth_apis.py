"""Sign-up, login, lockout, logout, password change, token expiry and staff MFA."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken
from rest_framework.test import APIClient

from carecore.accounts.models import CareTeamMember, Patient, Role, User
from carecore.audit.models import AuditEvent

from ..factories import TEST_PASSWORD, ClinicianFactory

REGISTER = "/api/v1/auth/register/"
LOGIN = "/api/v1/auth/login/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/me/"

pytestmark = pytest.mark.django_db


def sign_up_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "email": "New.Patient@Example.test",
        "password": "a-long-enough-passphrase",
        "first_name": "Nia",
        "last_name": "Patel",
        "date_of_birth": "1993-02-14",
        "state": "NY",
        "timezone": "America/New_York",
    }
    body.update(overrides)
    return body


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_it_signs_a_patient_up_and_returns_a_working_token(anon, clinician, coordinator):
    response = anon.post(REGISTER, sign_up_body(), format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["user"]["role"] == "patient"
    assert body["user"]["email"] == "new.patient@example.test"
    me = bearer(body["token"]).get(ME).json()
    assert me["patient_id"] == body["user"]["patient_id"]
    assert me["care_team"]["lead"]["id"] == str(clinician.id)
    assert [member["user_id"] for member in me["care_team"]["members"]] == [str(coordinator.id)]


def test_it_ignores_a_role_sent_at_sign_up(anon, db):
    response = anon.post(REGISTER, sign_up_body(role="admin", is_staff=True), format="json")

    assert response.status_code == 201
    user = User.objects.get(email="new.patient@example.test")
    assert user.role == Role.PATIENT
    assert not user.is_staff


def test_it_accepts_any_iana_time_zone(anon, db):
    response = anon.post(REGISTER, sign_up_body(timezone="Pacific/Chatham"), format="json")

    assert response.status_code == 201
    assert response.json()["user"]["timezone"] == "Pacific/Chatham"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timezone", "EST+5"),
        ("state", "XX"),
        ("email", "not-an-email"),
        ("password", "short"),
        ("date_of_birth", "2999-01-01"),
    ],
)
def test_it_rejects_invalid_sign_up_fields_by_name(anon, db, field, value):
    response = anon.post(REGISTER, sign_up_body(**{field: value}), format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"]
    assert not Patient.objects.exists()


def test_a_second_sign_up_with_the_same_email_in_any_case_makes_no_account(anon, db):
    anon.post(REGISTER, sign_up_body(), format="json")

    response = anon.post(REGISTER, sign_up_body(email="NEW.PATIENT@example.test"), format="json")

    # The answer does not say the address is taken (tests/accounts/test_sign_up.py).
    assert response.status_code == 201
    assert User.objects.count() == 1


def test_it_assigns_the_least_loaded_clinician_licensed_in_the_state(anon, db):
    busy = ClinicianFactory(licensed_states=["CA"])
    free = ClinicianFactory(licensed_states=["CA", "NV"])
    ClinicianFactory(licensed_states=["NY"])  # not licensed in CA: never chosen
    anon.post(REGISTER, sign_up_body(email="first@example.test", state="CA"), format="json")
    assert Patient.objects.get(user__email="first@example.test").care_team.lead == busy

    anon.post(REGISTER, sign_up_body(email="second@example.test", state="CA"), format="json")

    assert Patient.objects.get(user__email="second@example.test").care_team.lead == free


def test_a_patient_in_a_state_no_clinician_covers_has_a_team_without_lead(anon, clinician):
    response = anon.post(REGISTER, sign_up_body(state="AK"), format="json")

    assert response.status_code == 201
    me = bearer(response.json()["token"]).get(ME).json()
    assert me["care_team"]["lead"] is None
    assert me["care_team"]["members"] == []


def test_it_logs_in_with_email_and_password(anon, patient):
    response = anon.post(
        LOGIN, {"email": "PATIENT@example.test", "password": TEST_PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["user"]["patient_id"] == str(patient.id)
    assert bearer(response.json()["token"]).get(ME).status_code == 200


def test_wrong_credentials_get_invalid_credentials(anon, patient):
    wrong_password = anon.post(
        LOGIN, {"email": "patient@example.test", "password": "nope"}, format="json"
    )
    unknown_email = anon.post(
        LOGIN, {"email": "nobody@example.test", "password": "nope"}, format="json"
    )

    for response in (wrong_password, unknown_email):
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_credentials"


def test_it_locks_out_an_account_and_ip_after_ten_failures(anon, patient):
    for _ in range(10):
        anon.post(LOGIN, {"email": "patient@example.test", "password": "wrong"}, format="json")

    locked = anon.post(
        LOGIN, {"email": "patient@example.test", "password": TEST_PASSWORD}, format="json"
    )

    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "throttled"
    assert int(locked["Retry-After"]) > 0


def test_a_lockout_from_one_ip_does_not_lock_the_user_out_elsewhere(anon, patient):
    for _ in range(10):
        anon.post(
            LOGIN,
            {"email": "patient@example.test", "password": "wrong"},
            format="json",
            REMOTE_ADDR="203.0.113.9",
        )

    from_home = anon.post(
        LOGIN,
        {"email": "patient@example.test", "password": TEST_PASSWORD},
        format="json",
        REMOTE_ADDR="198.51.100.20",
    )

    assert from_home.status_code == 200


def test_the_lockout_ends_after_the_cool_off(anon, patient):
    for _ in range(10):
        anon.post(LOGIN, {"email": "patient@example.test", "password": "wrong"}, format="json")

    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        response = anon.post(
            LOGIN, {"email": "patient@example.test", "password": TEST_PASSWORD}, format="json"
        )

    assert response.status_code == 200


def test_tokens_are_stored_hashed(anon, patient):
    token = anon.post(
        LOGIN, {"email": "patient@example.test", "password": TEST_PASSWORD}, format="json"
    ).json()["token"]

    stored = AuthToken.objects.get(user=patient.user)
    assert token not in stored.digest
    assert len(stored.token_key) < len(token)


def test_logout_revokes_the_token(client_for, patient):
    client = client_for(patient.user)

    assert client.post(LOGOUT).status_code == 204
    response = client.get(ME)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_logout_revokes_only_that_token(client_for, patient):
    phone, laptop = client_for(patient.user), client_for(patient.user)

    phone.post(LOGOUT)

    assert laptop.get(ME).status_code == 200


def test_tokens_expire(client_for, patient):
    client = client_for(patient.user)

    with time_machine.travel(timezone.now() + timedelta(hours=13)):
        response = client.get(ME)

    assert response.status_code == 401


def test_a_password_change_revokes_every_token_and_returns_a_new_one(client_for, patient):
    phone, laptop = client_for(patient.user), client_for(patient.user)

    response = phone.post(
        "/api/v1/auth/password/",
        {"current_password": TEST_PASSWORD, "new_password": "an-entirely-new-passphrase"},
        format="json",
    )

    assert response.status_code == 200
    assert phone.get(ME).status_code == 401
    assert laptop.get(ME).status_code == 401
    assert bearer(response.json()["token"]).get(ME).status_code == 200


def test_a_password_change_needs_the_current_password(client_for, patient):
    response = client_for(patient.user).post(
        "/api/v1/auth/password/",
        {"current_password": "guess", "new_password": "an-entirely-new-passphrase"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_credentials"


def test_logins_are_audited_without_the_password(anon, patient):
    anon.post(LOGIN, {"email": "patient@example.test", "password": "wrong"}, format="json")
    anon.post(LOGIN, {"email": "patient@example.test", "password": TEST_PASSWORD}, format="json")

    actions = list(AuditEvent.objects.order_by("id").values_list("action", "outcome"))
    assert ("login_failed", "failed") in actions
    assert ("login", "success") in actions
    assert not AuditEvent.objects.filter(detail__icontains=TEST_PASSWORD).exists()


# --- staff MFA ---------------------------------------------------------------------------


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, digits=device.digits):0{device.digits}d}"


@pytest.fixture
def mfa_on():
    with override_settings(CARECORE_REQUIRE_STAFF_MFA=True):
        yield


def test_staff_without_an_authenticator_must_enrol_first(anon, mfa_on, coordinator):
    response = anon.post(
        LOGIN, {"email": "coordinator@example.test", "password": TEST_PASSWORD}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "mfa_enrollment_required"


def test_staff_enrol_and_then_log_in_with_a_code(
    anon, mfa_on, coordinator, django_capture_on_commit_callbacks
):
    credentials = {"email": "coordinator@example.test", "password": TEST_PASSWORD}
    with django_capture_on_commit_callbacks(execute=True):
        asked = anon.post("/api/v1/auth/mfa/enroll/code/", credentials, format="json")
    assert asked.status_code == 202
    [message] = mail.outbox
    code = re.search(r"\b(\d{8})\b", str(message.body)).group(1)  # type: ignore[union-attr]
    enrol = anon.post("/api/v1/auth/mfa/enroll/", {**credentials, "code": code}, format="json")
    assert enrol.status_code == 201
    assert enrol.json()["otpauth_uri"].startswith("otpauth://totp/")
    device = TOTPDevice.objects.get(user=coordinator)

    confirm = anon.post(
        "/api/v1/auth/mfa/confirm/", {**credentials, "otp": current_code(device)}, format="json"
    )
    assert confirm.status_code == 204

    without_code = anon.post(LOGIN, credentials, format="json")
    assert without_code.status_code == 400
    assert without_code.json()["error"]["code"] == "otp_required"

    device.refresh_from_db()
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        with_code = anon.post(LOGIN, {**credentials, "otp": current_code(device)}, format="json")
    assert with_code.status_code == 200


def test_a_wrong_code_is_refused(anon, mfa_on, coordinator):
    device = TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)
    wrong = f"{(int(current_code(device)) + 1) % 1_000_000:06d}"

    response = anon.post(
        LOGIN,
        {"email": "coordinator@example.test", "password": TEST_PASSWORD, "otp": wrong},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_credentials"


def test_enrolment_is_refused_once_a_device_is_confirmed(anon, mfa_on, coordinator):
    TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)

    response = anon.post(
        "/api/v1/auth/mfa/enroll/",
        {"email": "coordinator@example.test", "password": TEST_PASSWORD, "code": "12345678"},
        format="json",
    )

    # The same answer as a wrong password (tests/accounts/test_mfa_enrollment.py).
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_credentials"


def test_patients_never_need_mfa(anon, mfa_on, patient):
    response = anon.post(
        LOGIN, {"email": "patient@example.test", "password": TEST_PASSWORD}, format="json"
    )

    assert response.status_code == 200


def test_sign_up_puts_the_lead_and_coordinators_on_the_team(anon, clinician, coordinator):
    anon.post(REGISTER, sign_up_body(), format="json")

    patient = Patient.objects.get(user__email="new.patient@example.test")
    members = set(
        CareTeamMember.objects.filter(care_team__patient=patient).values_list("user_id", flat=True)
    )
    assert members == {clinician.user_id, coordinator.id}
