"""Signing in, up and out and resetting a password on the portal's pages: the API's services
underneath (lockout, throttle, audit, token revocation), session cookies with CSRF."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client, override_settings
from knox.models import AuthToken

from carecore.accounts import services
from carecore.accounts.models import Clinician, Patient, Role, User
from carecore.audit.models import Action, AuditEvent, Outcome
from carecore.common.throttling import AnonRateThrottle, AuthRateThrottle, UserRateThrottle
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_it_sends_a_signed_out_visitor_from_home_to_the_sign_in_page() -> None:
    response = Client().get("/")

    assert response.status_code == 302
    assert response["Location"] == "/sign-in/"


def test_it_renders_the_sign_in_form_with_its_labels() -> None:
    html = Client().get("/sign-in/").content.decode()

    assert '<label for="id_email">Email</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert ">Sign in</button>" in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_it_signs_a_patient_in_with_a_session_and_audits_it(patient: Patient) -> None:
    client = Client()

    response = client.post(
        "/sign-in/", {"email": patient.user.email.upper(), "password": TEST_PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(patient.user.id)
    assert AuditEvent.objects.filter(
        actor_id=patient.user.id, action=Action.LOGIN, detail={"web": True}
    ).exists()
    assert client.get("/").status_code == 200


def test_it_goes_back_to_the_page_asked_for_but_never_off_site(patient: Patient) -> None:
    client = Client()
    response = client.post(
        "/sign-in/",
        {"email": patient.user.email, "password": TEST_PASSWORD, "next": "/?from=mail"},
    )
    assert response["Location"] == "/?from=mail"

    client = Client()
    response = client.post(
        "/sign-in/",
        {"email": patient.user.email, "password": TEST_PASSWORD, "next": "https://evil.test/"},
    )
    assert response["Location"] == "/"


def test_it_refuses_a_wrong_password_next_to_the_form(patient: Patient) -> None:
    client = Client()

    response = client.post("/sign-in/", {"email": patient.user.email, "password": "wrong"})

    assert response.status_code == 200
    assert "The email or password is not correct." in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action=Action.LOGIN_FAILED, outcome=Outcome.FAILED).exists()


@override_settings(AXES_FAILURE_LIMIT=3)
def test_it_shares_the_lockout_with_the_api(patient: Patient) -> None:
    api = Client()
    for _ in range(2):
        api.post(
            "/api/v1/auth/login/",
            {"email": patient.user.email, "password": "wrong"},
            content_type="application/json",
        )
    page = Client()
    page.post("/sign-in/", {"email": patient.user.email, "password": "wrong"})

    # Locked out: even the right password is refused, on the page as on the API.
    response = page.post("/sign-in/", {"email": patient.user.email, "password": TEST_PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in page.session
    response = api.post(
        "/api/v1/auth/login/",
        {"email": patient.user.email, "password": TEST_PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 429


def test_it_shares_the_per_ip_throttle_with_the_api(
    patient: Patient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A small rate on the throttle class itself (carecore/common/throttling.py).
    monkeypatch.setattr(AuthRateThrottle, "rate", "3/min")
    client = Client()
    client.post(
        "/api/v1/auth/login/",
        {"email": patient.user.email, "password": "wrong"},
        content_type="application/json",
    )
    client.post("/sign-in/", {"email": patient.user.email, "password": "wrong"})
    client.post("/password-reset/", {"email": patient.user.email})

    response = client.post("/sign-up/", {})

    assert response.status_code == 429
    assert response["Retry-After"]


def test_it_refuses_a_sign_in_post_without_the_csrf_token(patient: Patient) -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post("/sign-in/", {"email": patient.user.email, "password": TEST_PASSWORD})

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_it_asks_staff_for_their_authenticator_code(clinician: Clinician) -> None:
    with override_settings(CARECORE_REQUIRE_STAFF_MFA=True):
        response = Client().post(
            "/sign-in/", {"email": clinician.user.email, "password": TEST_PASSWORD}
        )

    # No confirmed device: refused, never a session without the second factor.
    assert response.status_code == 200
    assert "_auth_user_id" not in response.client.session


@pytest.mark.parametrize("role", ["clinician", "coordinator", "scheduler", "admin"])
def test_it_refuses_patient_pages_to_staff(
    role: str, actors: dict[str, User], web_for: Callable[[User], Client]
) -> None:
    client = web_for(actors[role])

    response = client.get("/")

    assert response.status_code == 403
    assert "These pages are for patients" in response.content.decode()


def test_it_signs_a_new_patient_up_and_in(clinician: Clinician) -> None:
    client = Client()

    response = client.post(
        "/sign-up/",
        {
            "first_name": "Samantha",
            "last_name": "Ortiz",
            "email": "sam@example.test",
            "password": "a long passphrase 42",
            "date_of_birth": "1990-04-02",
            "state": "NY",
            "timezone": "America/New_York",
            "phone": "",
        },
    )

    assert response.status_code == 302, response.content
    user = User.objects.get(email="sam@example.test")
    assert user.role == Role.PATIENT
    assert user.patient.care_team is not None
    assert client.session["_auth_user_id"] == str(user.id)


def test_it_signs_up_a_patient_in_any_iana_time_zone(clinician: Clinician) -> None:
    html = Client().get("/sign-up/").content.decode()
    assert '<option value="America/Adak">' in html

    response = Client().post(
        "/sign-up/",
        {
            "first_name": "Kai",
            "last_name": "Kealoha",
            "email": "kai@example.test",
            "password": "a long passphrase 42",
            "date_of_birth": "1990-04-02",
            "state": "NY",
            "timezone": "America/Adak",
            "phone": "",
        },
    )

    assert response.status_code == 302, response.content
    assert User.objects.get(email="kai@example.test").timezone == "America/Adak"


def test_it_refuses_an_unknown_time_zone_at_sign_up_with_a_field_error(
    clinician: Clinician,
) -> None:
    response = Client().post(
        "/sign-up/",
        {
            "first_name": "Kai",
            "last_name": "Kealoha",
            "email": "kai@example.test",
            "password": "a long passphrase 42",
            "date_of_birth": "1990-04-02",
            "state": "NY",
            "timezone": "Mars/Olympus_Mons",
        },
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="#id_timezone"' in html
    assert 'id="id_timezone_error"' in html
    assert "Unknown time zone" in html
    assert not User.objects.filter(email="kai@example.test").exists()


def test_it_shows_the_services_sign_up_errors_next_to_their_fields(clinician: Clinician) -> None:
    response = Client().post(
        "/sign-up/",
        {
            "first_name": "Sam",
            "last_name": "Ortiz",
            "email": "sam@example.test",
            "password": "password",
            "date_of_birth": "1990-04-02",
            "state": "NY",
            "timezone": "America/New_York",
        },
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in html
    assert 'href="#id_password"' in html
    assert 'aria-invalid="true"' in html


def test_it_sends_a_sign_up_for_a_taken_address_to_sign_in_without_a_session(
    patient: Patient,
) -> None:
    client = Client()

    response = client.post(
        "/sign-up/",
        {
            "first_name": "Sam",
            "last_name": "Ortiz",
            "email": patient.user.email,
            "password": "a long passphrase 42",
            "date_of_birth": "1990-04-02",
            "state": "NY",
            "timezone": "America/New_York",
        },
    )

    assert response["Location"] == "/sign-in/"
    assert "_auth_user_id" not in client.session
    assert User.objects.filter(email=patient.user.email).count() == 1


def test_it_signs_out_on_post_only(web_for: Callable[[User], Client], patient: Patient) -> None:
    client = web_for(patient.user)
    assert client.get("/sign-out/").status_code == 405

    response = client.post("/sign-out/")

    assert response["Location"] == "/sign-in/"
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(actor_id=patient.user.id, action=Action.LOGOUT).exists()


def test_signed_in_pages_and_the_api_share_one_budget_per_user(
    web_for: Callable[[User], Client],
    patient: Patient,
    other_patient: Patient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The API's per-user throttle (carecore/common/throttling.py), small here.
    monkeypatch.setattr(UserRateThrottle, "rate", "3/min")
    client = web_for(patient.user)

    allowed = [client.get("/"), client.get("/api/v1/me/"), client.get("/messages/")]
    refused_page = client.get("/")
    refused_api = client.get("/api/v1/me/")

    assert [response.status_code for response in allowed] == [200, 200, 200]
    assert refused_page.status_code == 429
    assert 0 < int(refused_page["Retry-After"]) <= 60
    assert "Too many requests" in refused_page.content.decode()
    assert refused_api.status_code == 429
    assert refused_api.json()["error"]["code"] == "throttled"
    # Another user's budget is their own.
    assert web_for(other_patient.user).get("/").status_code == 200


def test_signing_out_works_over_the_budget(
    web_for: Callable[[User], Client], patient: Patient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(UserRateThrottle, "rate", "1/min")
    client = web_for(patient.user)
    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 429

    response = client.post("/sign-out/")

    assert response["Location"] == "/sign-in/"
    assert "_auth_user_id" not in client.session


def test_signed_out_pages_take_no_per_user_or_anonymous_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As before: only the sign-in, sign-up and reset POSTs are throttled (per ip, `auth`).
    monkeypatch.setattr(UserRateThrottle, "rate", "1/min")
    monkeypatch.setattr(AnonRateThrottle, "rate", "1/min")
    client = Client()

    statuses = [
        client.get(path).status_code
        for path in ["/sign-in/", "/sign-in/", "/sign-up/", "/password-reset/", "/"]
    ]

    assert statuses == [200, 200, 200, 200, 302]


def test_it_resets_a_password_by_email_and_revokes_the_api_tokens(patient: Patient) -> None:
    services.token_issue(user=patient.user)
    client = Client()

    response = client.post("/password-reset/", {"email": patient.user.email})
    assert response["Location"] == "/password-reset/sent/"
    assert len(mail.outbox) == 1
    body = str(mail.outbox[0].body)
    link = re.search(r"https?://\S+/password-reset/\S+/\S+/", body)
    assert link is not None
    assert link.group(0).startswith(settings.CARECORE_PORTAL_URL.rstrip("/"))
    path = link.group(0).removeprefix(settings.CARECORE_PORTAL_URL.rstrip("/"))

    form = client.get(path, follow=True)
    assert "Choose a new password" in form.content.decode()
    response = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a brand new passphrase 7", "new_password2": "a brand new passphrase 7"},
    )

    assert response["Location"] == "/password-reset/done/"
    patient.user.refresh_from_db()
    assert patient.user.check_password("a brand new passphrase 7")
    assert not AuthToken.objects.filter(user=patient.user).exists()


def test_it_answers_a_reset_for_an_unknown_address_the_same_way() -> None:
    response = Client().post("/password-reset/", {"email": "nobody@example.test"})

    assert response["Location"] == "/password-reset/sent/"
    assert mail.outbox == []
