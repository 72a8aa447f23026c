"""Staff TOTP enrolment (issue #12 item 1): failures count, every case answers alike, and the
first enrolment needs a one-time code e-mailed to the account."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core import mail
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from carecore.accounts.models import MfaEnrollmentCode, Role
from carecore.audit.models import AuditEvent

from ..factories import TEST_PASSWORD, UserFactory

LOGIN = "/api/v1/auth/login/"
CODE = "/api/v1/auth/mfa/enroll/code/"
ENROL = "/api/v1/auth/mfa/enroll/"
CONFIRM = "/api/v1/auth/mfa/confirm/"
STAFF = "coordinator@example.test"

pytestmark = pytest.mark.django_db


def totp_now(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, digits=device.digits):0{device.digits}d}"


def mailed_code(to: str) -> str:
    [message] = [message for message in mail.outbox if message.to == [to]]
    match = re.search(r"\b(\d{8})\b", str(message.body))
    assert match is not None
    return match.group(1)


@pytest.fixture
def request_code(anon, django_capture_on_commit_callbacks):
    def send(email: str = STAFF, password: str = TEST_PASSWORD):
        with django_capture_on_commit_callbacks(execute=True):
            return anon.post(CODE, {"email": email, "password": password}, format="json")

    return send


# --- failures count, whatever rolls back ------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "extra"),
    [(CODE, {}), (ENROL, {"code": "12345678"}), (CONFIRM, {"otp": "123456"})],
)
def test_wrong_passwords_at_any_enrolment_step_count_towards_the_lockout(
    anon, coordinator, path, extra
):
    for _ in range(10):
        anon.post(path, {"email": STAFF, "password": "wrong", **extra}, format="json")

    login = anon.post(LOGIN, {"email": STAFF, "password": TEST_PASSWORD}, format="json")

    assert login.status_code == 429
    assert login.json()["error"]["code"] == "throttled"


@pytest.mark.parametrize(
    ("path", "extra"), [(ENROL, {"code": "12345678"}), (CONFIRM, {"otp": "123456"})]
)
def test_a_wrong_password_at_enrolment_is_audited_as_a_failed_sign_in(
    anon, coordinator, path, extra
):
    anon.post(path, {"email": STAFF, "password": "wrong", **extra}, format="json")

    assert AuditEvent.objects.filter(action="login_failed", outcome="failed").exists()


def test_wrong_enrolment_codes_count_towards_the_lockout(anon, coordinator, request_code):
    request_code()
    for _ in range(10):
        anon.post(
            ENROL, {"email": STAFF, "password": TEST_PASSWORD, "code": "00000000"}, format="json"
        )

    login = anon.post(LOGIN, {"email": STAFF, "password": TEST_PASSWORD}, format="json")

    assert login.status_code == 429


# --- one answer for every case ----------------------------------------------------------------


@pytest.fixture
def cases(patient, clinician, coordinator, scheduler):
    """email, password for each case an attacker would like to tell apart."""
    TOTPDevice.objects.create(user=clinician.user, name="phone", confirmed=True)
    return {
        "unknown address": ("nobody@example.test", TEST_PASSWORD),
        "wrong password": (STAFF, "not-the-password"),
        "patient": ("patient@example.test", TEST_PASSWORD),
        "staff already enrolled": ("clinician@example.test", TEST_PASSWORD),
        "staff not enrolled, no code asked": ("scheduler@example.test", TEST_PASSWORD),
    }


def test_asking_for_a_code_answers_the_same_in_every_case(cases, request_code):
    answers = {name: request_code(*credentials) for name, credentials in cases.items()}

    assert {response.status_code for response in answers.values()} == {202}
    assert len({response.content for response in answers.values()}) == 1


def test_enrolling_answers_the_same_in_every_case(anon, cases):
    answers = {
        name: anon.post(
            ENROL, {"email": email, "password": password, "code": "12345678"}, format="json"
        )
        for name, (email, password) in cases.items()
    }

    assert {response.status_code for response in answers.values()} == {400}
    assert len({response.content for response in answers.values()}) == 1
    assert answers["patient"].json()["error"]["code"] == "invalid_credentials"
    assert not TOTPDevice.objects.filter(confirmed=False).exists()


def test_confirming_answers_the_same_in_every_case(anon, cases):
    answers = {
        name: anon.post(
            CONFIRM, {"email": email, "password": password, "otp": "123456"}, format="json"
        )
        for name, (email, password) in cases.items()
    }

    assert {response.status_code for response in answers.values()} == {400}
    assert len({response.content for response in answers.values()}) == 1


# --- the e-mailed code ------------------------------------------------------------------------


def test_the_password_alone_does_not_enrol_staff(anon, coordinator):
    response = anon.post(ENROL, {"email": STAFF, "password": TEST_PASSWORD}, format="json")

    assert response.status_code == 400
    assert not TOTPDevice.objects.filter(user=coordinator).exists()


def test_staff_enrol_with_the_code_e_mailed_to_them(anon, coordinator, request_code, caplog):
    caplog.set_level(logging.DEBUG)

    assert request_code().status_code == 202
    code = mailed_code(STAFF)
    assert code not in caplog.text
    assert not MfaEnrollmentCode.objects.filter(code_hash__contains=code).exists()

    body = {"email": STAFF, "password": TEST_PASSWORD, "code": code}
    enrol = anon.post(ENROL, body, format="json")
    assert enrol.status_code == 201
    assert enrol.json()["otpauth_uri"].startswith("otpauth://totp/")
    device = TOTPDevice.objects.get(user=coordinator)

    confirm = anon.post(
        CONFIRM, {"email": STAFF, "password": TEST_PASSWORD, "otp": totp_now(device)}, format="json"
    )
    assert confirm.status_code == 204
    device.refresh_from_db()
    assert device.confirmed


def test_a_code_works_once(anon, coordinator, request_code):
    request_code()
    body = {"email": STAFF, "password": TEST_PASSWORD, "code": mailed_code(STAFF)}
    assert anon.post(ENROL, body, format="json").status_code == 201

    again = anon.post(ENROL, body, format="json")

    assert again.status_code == 400


def test_a_code_expires(anon, coordinator, request_code):
    request_code()
    body = {"email": STAFF, "password": TEST_PASSWORD, "code": mailed_code(STAFF)}

    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        response = anon.post(ENROL, body, format="json")

    assert response.status_code == 400
    assert not TOTPDevice.objects.filter(user=coordinator).exists()


def test_a_code_dies_after_five_wrong_guesses(anon, coordinator, request_code):
    request_code()
    code = mailed_code(STAFF)
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    for _ in range(5):
        anon.post(ENROL, {"email": STAFF, "password": TEST_PASSWORD, "code": wrong}, format="json")

    right = anon.post(
        ENROL, {"email": STAFF, "password": TEST_PASSWORD, "code": code}, format="json"
    )

    assert right.status_code == 400


def test_a_new_code_replaces_the_last(anon, coordinator, request_code):
    request_code()
    first = mailed_code(STAFF)
    mail.outbox.clear()
    request_code()

    response = anon.post(
        ENROL, {"email": STAFF, "password": TEST_PASSWORD, "code": first}, format="json"
    )

    assert response.status_code == 400


def test_codes_are_capped_per_hour_without_saying_so(coordinator, request_code):
    answers = [request_code() for _ in range(7)]

    assert {response.status_code for response in answers} == {202}
    assert len(mail.outbox) == 5


def test_staff_with_an_authenticator_get_a_notice_and_no_code(coordinator, request_code):
    TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)

    request_code()

    [message] = mail.outbox
    assert message.to == [STAFF]
    assert "already has one" in message.body
    assert not re.search(r"\b\d{8}\b", str(message.body))
    assert not MfaEnrollmentCode.objects.exists()


def test_patients_and_wrong_passwords_get_no_mail(patient, coordinator, request_code):
    request_code("patient@example.test", TEST_PASSWORD)
    request_code(STAFF, "wrong")

    assert mail.outbox == []


def test_the_code_endpoints_are_in_the_schema(anon):
    schema = anon.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    code_post = schema["paths"]["/api/v1/auth/mfa/enroll/code/"]["post"]
    assert "202" in code_post["responses"]
    enrol_body = schema["paths"]["/api/v1/auth/mfa/enroll/"]["post"]["requestBody"]
    ref = enrol_body["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    assert "code" in schema["components"]["schemas"][ref]["required"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("path", "extra"),
    [(ENROL, {"code": "12345678"}), (CONFIRM, {"otp": "123456"})],
)
def test_a_refused_enrolment_commits_its_failure_as_a_real_request_does(
    anon, staff_groups, path, extra
):
    """No test transaction around it: what a request in production leaves behind."""
    UserFactory(role=Role.COORDINATOR, email=STAFF)

    response = anon.post(path, {"email": STAFF, "password": "wrong", **extra}, format="json")

    assert response.status_code == 400
    assert AccessAttempt.objects.filter(username=STAFF, failures_since_start=1).exists()
    assert AuditEvent.objects.filter(action="login_failed", outcome="failed").count() == 1
