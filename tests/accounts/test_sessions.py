"""Idle timeout, absolute lifetime and per-user cap of sign-ins; logout ends the session too
(issue #12 item 11; docs/security.md, "Sessions")."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import override_settings
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from carecore.accounts import services
from carecore.audit.models import AuditEvent

from ..factories import TEST_PASSWORD

ME = "/api/v1/me/"
LOGIN = "/api/v1/auth/login/"
LOGOUT = "/api/v1/auth/logout/"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def production_timeouts():
    # The test settings stretch the idle timeouts for other tests that travel in time.
    with override_settings(CARECORE_STAFF_IDLE_MINUTES=30, CARECORE_PATIENT_IDLE_MINUTES=60):
        yield


def signed_in(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {services.token_issue(user=user)}")
    return client


def get_me_at(client: APIClient, minutes: float) -> int:
    with time_machine.travel(timezone.now() + timedelta(minutes=minutes)):
        return client.get(ME).status_code


# --- bearer tokens ------------------------------------------------------------------------------


def test_a_staff_token_dies_after_thirty_idle_minutes(clinician):
    client = signed_in(clinician.user)

    assert get_me_at(client, 31) == 401
    assert not AuthToken.objects.filter(user=clinician.user).exists()


def test_use_keeps_a_staff_token_alive(clinician):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = signed_in(clinician.user)
        statuses = []
        for _ in range(4):
            clock.shift(timedelta(minutes=25))
            statuses.append(client.get(ME).status_code)
        clock.shift(timedelta(minutes=31))
        statuses.append(client.get(ME).status_code)

    assert statuses == [200, 200, 200, 200, 401]


def test_a_patient_token_lives_sixty_idle_minutes(patient):
    client = signed_in(patient.user)
    other = signed_in(patient.user)

    assert get_me_at(client, 55) == 200
    assert get_me_at(other, 61) == 401


def test_the_idle_timeout_is_a_setting(clinician):
    with override_settings(CARECORE_STAFF_IDLE_MINUTES=5):
        client = signed_in(clinician.user)
        assert get_me_at(client, 6) == 401


def test_no_activity_keeps_a_token_past_its_absolute_lifetime(coordinator):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = signed_in(coordinator)
        for _ in range(35):  # every 20 minutes for 11 h 40 min
            clock.shift(timedelta(minutes=20))
            assert client.get(ME).status_code == 200
        clock.shift(timedelta(minutes=21))

        assert client.get(ME).status_code == 401


@override_settings(CARECORE_TOKENS_PER_USER=3)
def test_signing_in_past_the_cap_drops_the_oldest_token(anon, patient):
    tokens = [
        anon.post(LOGIN, {"email": "patient@example.test", "password": TEST_PASSWORD}).json()[
            "token"
        ]
        for _ in range(4)
    ]

    statuses = [
        APIClient(HTTP_AUTHORIZATION=f"Bearer {token}").get(ME).status_code for token in tokens
    ]

    assert statuses == [401, 200, 200, 200]
    assert AuthToken.objects.filter(user=patient.user).count() == 3


# --- cookie sessions ----------------------------------------------------------------------------


def session_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_a_staff_cookie_session_ends_after_thirty_idle_minutes(clinician):
    client = session_client(clinician.user)
    assert client.get(ME).status_code == 200

    assert get_me_at(client, 31) == 401
    assert not Session.objects.exists()
    assert AuditEvent.objects.filter(
        action="logout", actor_id=clinician.user_id, detail__reason="idle"
    ).exists()


def test_use_keeps_a_cookie_session_alive(clinician):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client = session_client(clinician.user)
        statuses = []
        for _ in range(3):
            statuses.append(client.get(ME).status_code)
            clock.shift(timedelta(minutes=25))
        statuses.append(client.get(ME).status_code)

    assert statuses == [200, 200, 200, 200]


def test_an_idle_admin_session_is_signed_out(admin_user):
    client = session_client(admin_user)
    assert client.get("/admin/").status_code == 200

    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        response = client.get("/admin/")

    assert response.status_code == 302
    assert "/login/" in response["Location"]


# --- logout -------------------------------------------------------------------------------------


def test_logout_ends_the_django_session_as_well_as_the_token(patient):
    client = session_client(patient.user)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {services.token_issue(user=patient.user)}")
    assert Session.objects.count() == 1

    assert client.post(LOGOUT).status_code == 204

    assert not Session.objects.exists()
    assert not AuthToken.objects.filter(user=patient.user).exists()
    client.credentials()  # the cookie alone
    assert client.get(ME).status_code == 401


def test_logout_of_a_session_client_ends_the_session(patient):
    client = session_client(patient.user)

    assert client.post(LOGOUT).status_code == 204

    assert client.get(ME).status_code == 401
    assert not Session.objects.exists()
