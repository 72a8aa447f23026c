"""Sign-up does not tell who has an account (issue #12 item 8; docs/security.md, "Sign-up
enumeration"): an address that is taken gets the same 201 shape, its owner an e-mail, and
sign-up is throttled per client and per target address."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from carecore.accounts import throttles
from carecore.accounts.models import Patient, User
from carecore.audit.models import AuditEvent

from .test_auth_apis import REGISTER, bearer, sign_up_body

pytestmark = pytest.mark.django_db

TAKEN = "patient@example.test"


def shape(body: object) -> object:
    """The keys of a JSON value, recursively (values differ between any two sign-ups)."""
    if isinstance(body, dict):
        return {key: shape(value) for key, value in body.items()}
    return type(body).__name__


def test_a_taken_address_gets_the_same_answer_as_a_new_one(anon, patient):
    new = anon.post(REGISTER, sign_up_body(email="brand.new@example.test"), format="json")
    taken = anon.post(REGISTER, sign_up_body(email=TAKEN.upper()), format="json")

    assert new.status_code == taken.status_code == 201
    assert shape(new.json()) == shape(taken.json())
    assert len(new.json()["token"]) == len(taken.json()["token"])
    user = taken.json()["user"]
    assert user["email"] == TAKEN
    assert user["role"] == "patient"
    assert user["id"] != str(patient.user_id)
    assert user["patient_id"] != str(patient.id)


def test_a_taken_address_makes_no_account_and_changes_nothing(anon, patient):
    password_before = patient.user.password

    response = anon.post(REGISTER, sign_up_body(email=TAKEN, first_name="Mallory"), format="json")

    assert response.status_code == 201
    assert User.objects.filter(email=TAKEN).count() == 1
    assert Patient.objects.count() == 1
    patient.user.refresh_from_db()
    assert patient.user.password == password_before
    assert patient.user.first_name != "Mallory"
    # The stand-in token was never issued: it opens nothing, least of all the owner's account.
    assert bearer(response.json()["token"]).get("/api/v1/me/").status_code == 401


def test_invalid_fields_are_refused_alike_for_taken_and_new_addresses(anon, patient):
    taken = anon.post(REGISTER, sign_up_body(email=TAKEN, password="short"), format="json")
    new = anon.post(
        REGISTER, sign_up_body(email="fresh@example.test", password="short"), format="json"
    )

    assert taken.status_code == new.status_code == 400
    assert taken.json() == new.json()


def test_a_nul_in_a_name_is_a_400_naming_each(anon, db):
    body = sign_up_body(email="nul@example.test", first_name="Ann\x00", last_name="\x00Lee")

    response = anon.post(REGISTER, body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "first_name": ["Null characters are not allowed."],
        "last_name": ["Null characters are not allowed."],
    }
    assert not User.objects.filter(email="nul@example.test").exists()


def test_the_owner_of_a_taken_address_is_told_by_e_mail(
    anon, patient, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        anon.post(REGISTER, sign_up_body(email=TAKEN), format="json")

    [message] = mail.outbox
    assert message.to == [TAKEN]
    assert "tried to create" in message.body
    assert "Nia" not in message.body  # nothing the caller typed
    assert AuditEvent.objects.filter(
        object_type="user", object_id=str(patient.user_id), action="create", outcome="denied"
    ).exists()


def test_a_new_sign_up_sends_no_notice(anon, db, eager_celery, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert anon.post(REGISTER, sign_up_body(), format="json").status_code == 201

    assert mail.outbox == []


def test_sign_up_is_throttled_per_client(anon, db, monkeypatch):
    monkeypatch.setattr(throttles.SignUpRateThrottle, "rate", "3/hour", raising=False)

    statuses = [
        anon.post(
            REGISTER, sign_up_body(email=f"person{n}@example.test"), format="json"
        ).status_code
        for n in range(4)
    ]
    elsewhere = APIClient().post(
        REGISTER,
        sign_up_body(email="person9@example.test"),
        format="json",
        REMOTE_ADDR="198.51.100.7",
    )

    assert statuses == [201, 201, 201, 429]
    assert elsewhere.status_code == 201


def test_sign_up_is_throttled_per_target_address_from_any_client(anon, patient, monkeypatch):
    monkeypatch.setattr(throttles.SignUpAddressThrottle, "rate", "2/hour", raising=False)

    statuses = [
        anon.post(
            REGISTER,
            sign_up_body(email=email),
            format="json",
            REMOTE_ADDR=f"203.0.113.{n}",
        ).status_code
        for n, email in enumerate([TAKEN, TAKEN.upper(), f" {TAKEN}"])
    ]
    other_address = anon.post(
        REGISTER, sign_up_body(email="someone.else@example.test"), format="json"
    )

    assert statuses == [201, 201, 429]
    assert other_address.status_code == 201
    throttled = anon.post(REGISTER, sign_up_body(email=TAKEN), format="json")
    assert throttled.json()["error"]["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0


def test_the_portal_sign_up_page_does_not_sign_anyone_into_a_taken_address(
    patient, eager_celery, django_capture_on_commit_callbacks
):
    client = Client()
    form = {
        "first_name": "Mallory",
        "last_name": "Ortiz",
        "email": TAKEN,
        "password": "a long passphrase 42",
        "date_of_birth": "1990-04-02",
        "state": "NY",
        "timezone": "America/New_York",
        "phone": "",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/sign-up/", form)

    assert response.status_code == 302
    assert response["Location"] == "/sign-in/"
    assert "_auth_user_id" not in client.session
    assert [message.to for message in mail.outbox] == [[TAKEN]]


def test_the_portal_sign_up_page_shares_the_per_address_throttle(patient, monkeypatch):
    monkeypatch.setattr(throttles.SignUpAddressThrottle, "rate", "1/hour", raising=False)
    APIClient().post(REGISTER, sign_up_body(email=TAKEN), format="json")

    response = Client().post("/sign-up/", {"email": TAKEN}, REMOTE_ADDR="198.51.100.8")

    assert response.status_code == 429
