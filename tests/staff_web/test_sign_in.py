"""Staff sign in: the workspace's page (labels Email, Password, Code), the TOTP step when MFA is
on, the portal's sign-in sending the care team to the workspace, the staff idle logout."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client, override_settings
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from carecore.accounts.models import Clinician, Patient, User
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, digits=device.digits):0{device.digits}d}"


def test_the_page_has_the_labelled_fields() -> None:
    html = Client().get("/staff/sign-in/").content.decode()

    assert '<label for="id_email">Email</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert ">Sign in</button>" in html
    assert "id_otp" not in html  # the code step comes only when the account needs it


def test_a_clinician_signs_in_and_lands_in_the_inbox(clinician: Clinician) -> None:
    client = Client()

    response = client.post(
        "/staff/sign-in/", {"email": clinician.user.email, "password": TEST_PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200


def test_it_comes_back_to_the_page_asked_for(clinician: Clinician) -> None:
    client = Client()
    asked = client.get("/staff/?show=mine")
    assert asked.status_code == 302
    assert asked["Location"].startswith("/staff/sign-in/?next=")

    response = client.post(
        "/staff/sign-in/?next=/staff/%3Fshow%3Dmine",
        {"email": clinician.user.email, "password": TEST_PASSWORD},
    )

    assert response["Location"] == "/staff/?show=mine"


def test_it_never_follows_a_next_to_another_site(clinician: Clinician) -> None:
    response = Client().post(
        "/staff/sign-in/?next=https://evil.example/",
        {"email": clinician.user.email, "password": TEST_PASSWORD},
    )

    assert response["Location"] == "/staff/"


def test_a_wrong_password_is_refused_without_a_session(clinician: Clinician) -> None:
    response = Client().post(
        "/staff/sign-in/", {"email": clinician.user.email, "password": "not-the-password"}
    )

    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert "_auth_user_id" not in response.client.session


@override_settings(CARECORE_REQUIRE_STAFF_MFA=True)
def test_the_code_step_when_mfa_is_on(coordinator: User) -> None:
    device = TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)
    client = Client()

    first = client.post("/staff/sign-in/", {"email": coordinator.email, "password": TEST_PASSWORD})

    html = first.content.decode()
    assert first.status_code == 200
    assert '<label for="id_otp">Code</label>' in html
    assert "_auth_user_id" not in client.session

    done = client.post(
        "/staff/sign-in/",
        {"email": coordinator.email, "password": TEST_PASSWORD, "otp": current_code(device)},
    )
    assert done.status_code == 302
    assert done["Location"] == "/staff/"


def test_the_portal_sign_in_sends_the_care_team_to_the_workspace(
    clinician: Clinician, patient: Patient
) -> None:
    staff = Client().post("/sign-in/", {"email": clinician.user.email, "password": TEST_PASSWORD})
    assert staff["Location"] == "/staff/"

    own = Client().post("/sign-in/", {"email": patient.user.email, "password": TEST_PASSWORD})
    assert own["Location"] == "/"


def test_staff_are_signed_out_after_the_idle_timeout(clinician: Clinician) -> None:
    with (
        override_settings(CARECORE_STAFF_IDLE_MINUTES=30),
        time_machine.travel(timezone.now(), tick=False) as clock,
    ):
        client = Client()
        client.post("/staff/sign-in/", {"email": clinician.user.email, "password": TEST_PASSWORD})
        assert client.get("/staff/").status_code == 200
        clock.shift(timedelta(minutes=29))
        assert client.get("/staff/").status_code == 200
        clock.shift(timedelta(minutes=31))

        response = client.get("/staff/")

    assert response.status_code == 302
    assert response["Location"].startswith("/staff/sign-in/")


def test_sign_out_ends_the_session(clinician: Clinician) -> None:
    client = Client()
    client.post("/staff/sign-in/", {"email": clinician.user.email, "password": TEST_PASSWORD})

    response = client.post("/staff/sign-out/")

    assert response["Location"] == "/staff/sign-in/"
    assert client.get("/staff/").status_code == 302
