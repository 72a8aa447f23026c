"""The per-account lockout: failed sign-ins from many addresses still lock the account; one
address alone cannot; the lock lifts by itself or by an admin's `account_unlock`."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from carecore.accounts import services
from carecore.audit.models import AuditEvent

from ..factories import TEST_PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("patient")]

LOGIN = "/api/v1/auth/login/"
EMAIL = "patient@example.test"
# 12 failures in all; at most 10 (the pair limit) count from any one address.
ACCOUNT_LIMIT = override_settings(CARECORE_ACCOUNT_FAILURE_LIMIT=12)


def _fail(anon, address: str, times: int, email: str = EMAIL) -> list[int]:
    return [
        anon.post(
            LOGIN, {"email": email, "password": "wrong"}, format="json", REMOTE_ADDR=address
        ).status_code
        for _ in range(times)
    ]


def _sign_in(anon, address: str = "192.0.2.200"):
    return anon.post(
        LOGIN, {"email": EMAIL, "password": TEST_PASSWORD}, format="json", REMOTE_ADDR=address
    )


@ACCOUNT_LIMIT
def test_failures_spread_over_many_addresses_lock_the_account(anon):
    for n in range(4):
        _fail(anon, f"203.0.113.{n}", 3)

    locked = _sign_in(anon)

    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "account_locked"
    assert "contact the clinic" in locked.json()["error"]["message"]
    assert int(locked["Retry-After"]) > 0


@ACCOUNT_LIMIT
def test_the_failure_that_reaches_the_limit_is_answered_with_the_lock(anon):
    statuses = [*_fail(anon, "203.0.113.1", 6), *_fail(anon, "203.0.113.2", 6)]

    assert statuses == [400] * 11 + [429]


@ACCOUNT_LIMIT
def test_one_address_alone_never_locks_the_account_for_everyone(anon):
    # Locked out itself after 10, it keeps hammering; its failures count for the account only
    # up to the pair limit.
    statuses = _fail(anon, "203.0.113.9", 30)
    assert statuses[:10] == [400] * 9 + [429]

    assert _sign_in(anon).status_code == 200


@ACCOUNT_LIMIT
def test_an_address_with_no_account_locks_and_answers_the_same(anon):
    for n in range(4):
        _fail(anon, f"203.0.113.{n}", 3, email="nobody@example.test")

    locked = anon.post(
        LOGIN,
        {"email": "nobody@example.test", "password": "anything"},
        format="json",
        REMOTE_ADDR="192.0.2.200",
    )

    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "account_locked"


@ACCOUNT_LIMIT
def test_the_account_lock_lifts_after_the_cool_off(anon):
    for n in range(4):
        _fail(anon, f"203.0.113.{n}", 3)

    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert _sign_in(anon).status_code == 200


@ACCOUNT_LIMIT
def test_an_admin_lifts_the_lock_at_once_and_it_is_audited(anon, patient):
    for n in range(4):
        _fail(anon, f"203.0.113.{n}", 3)
    assert _sign_in(anon).status_code == 429

    call_command("account_unlock", "Patient@Example.test")

    assert _sign_in(anon).status_code == 200
    event = AuditEvent.objects.get(object_type="user", object_id=str(patient.user_id))
    # The four addresses' counters, and the refused attempt's (a refused attempt counts too).
    assert event.detail == {"field": "lockout", "cleared": 5}


@ACCOUNT_LIMIT
def test_the_owner_lifts_the_lock_by_resetting_the_password(anon, patient):
    for n in range(4):
        _fail(anon, f"203.0.113.{n}", 3)
    assert _sign_in(anon).status_code == 429

    # The portal's reset link, once followed, ends here (tests/patient_web: the whole flow).
    services.user_password_reset(user=patient.user, new_password="a brand new passphrase 7")

    response = anon.post(
        LOGIN,
        {"email": EMAIL, "password": "a brand new passphrase 7"},
        format="json",
        REMOTE_ADDR="192.0.2.200",
    )
    assert response.status_code == 200


@ACCOUNT_LIMIT
def test_the_admin_login_form_is_locked_too(anon):
    for n in range(4):
        _fail(anon, f"203.0.113.{n}", 3)

    response = anon.post(
        "/admin/login/",
        {"username": EMAIL, "password": TEST_PASSWORD},
        format="multipart",
        REMOTE_ADDR="192.0.2.200",
    )

    assert response.status_code == 429
    assert "contact the clinic" in response.content.decode()
