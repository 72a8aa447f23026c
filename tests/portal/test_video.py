"""Video visits on Jitsi Meet with JWT authentication: tokens are decoded and checked the way
Jitsi's prosody token auth checks them (HS256 with the shared app secret)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from portal.models import Appointment
from portal.video import JitsiVideoProvider, LocalVideoProvider

from .conftest import appointment_url

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen", "schedules")]

SECRET = "jitsi-shared-secret-for-tests-only-0123456789"


@pytest.fixture
def jitsi(settings) -> None:
    settings.CARECORE_VIDEO_PROVIDER = "portal.video.JitsiVideoProvider"
    settings.CARECORE_JITSI_URL = "https://meet.carecore.example"
    settings.CARECORE_JITSI_APP_ID = "carecore"
    settings.CARECORE_JITSI_APP_SECRET = SECRET


@pytest.fixture
def jitsi_appointment(jitsi, frozen, appointment: Appointment) -> Appointment:
    # The shared `appointment` fixture was booked with the local provider; give it a Jitsi room.
    appointment.join_url = JitsiVideoProvider().create_join_url(appointment_id=appointment.id)
    appointment.save(update_fields=["join_url"])
    # Links are given only in the visit's window (from 24 h before it): two hours before.
    frozen.move_to(appointment.start_at - timedelta(hours=2))
    return appointment


def _link(client, appointment: Appointment) -> str:
    response = client.get(appointment_url(appointment))
    assert response.status_code == 200
    return response.json()["join_url"]


def _decode(link: str) -> tuple[str, dict]:
    parts = urlsplit(link)
    (token,) = parse_qs(parts.query)["jwt"]
    claims = jwt.decode(
        token,
        SECRET,
        algorithms=["HS256"],
        audience="carecore",
        issuer="carecore",
        options={"verify_exp": False, "verify_nbf": False},  # checked explicitly below
    )
    return parts.path.lstrip("/"), claims


def test_each_visit_gets_an_unguessable_room_that_names_nobody(jitsi):
    provider = JitsiVideoProvider()
    rooms = {provider.create_join_url(appointment_id=None) for _ in range(50)}  # type: ignore[arg-type]

    assert len(rooms) == 50
    for room_url in rooms:
        assert room_url.startswith("https://meet.carecore.example/")
        room = room_url.rsplit("/", 1)[1]
        assert len(room) == 40 and room == room.lower()  # 160 random bits, as Jitsi keeps it


def test_the_patient_and_clinician_each_get_their_own_token_for_that_room_only(
    client_for, jitsi_appointment, patient, clinician
):
    patient_room, patient_claims = _decode(_link(client_for(patient.user), jitsi_appointment))
    clinician_room, clinician_claims = _decode(_link(client_for(clinician.user), jitsi_appointment))

    room = jitsi_appointment.join_url.rsplit("/", 1)[1]
    assert patient_room == clinician_room == room
    assert patient_claims["room"] == clinician_claims["room"] == room
    assert patient_claims["sub"] == "meet.carecore.example"
    assert patient_claims["context"]["user"]["id"] == str(patient.user_id)
    assert clinician_claims["context"]["user"]["id"] == str(clinician.user_id)


def test_the_subject_is_the_configured_xmpp_domain(
    client_for, jitsi_appointment, patient, settings
):
    settings.CARECORE_JITSI_SUBJECT = "meet.jitsi"  # docker-jitsi-meet's internal domain

    _, claims = _decode(_link(client_for(patient.user), jitsi_appointment))

    assert claims["sub"] == "meet.jitsi"


def test_the_clinician_is_the_moderator_and_the_patient_is_not(
    client_for, jitsi_appointment, patient, clinician
):
    _, patient_claims = _decode(_link(client_for(patient.user), jitsi_appointment))
    _, clinician_claims = _decode(_link(client_for(clinician.user), jitsi_appointment))

    assert clinician_claims["moderator"] is True
    assert clinician_claims["context"]["user"]["moderator"] is True
    assert clinician_claims["context"]["user"]["affiliation"] == "owner"
    assert patient_claims["moderator"] is False
    assert patient_claims["context"]["user"]["moderator"] is False


def test_tokens_are_valid_from_ten_minutes_before_the_start_to_the_end(
    client_for, jitsi_appointment, patient
):
    _, claims = _decode(_link(client_for(patient.user), jitsi_appointment))

    assert claims["nbf"] == int((jitsi_appointment.start_at - timedelta(minutes=10)).timestamp())
    assert claims["exp"] == int(jitsi_appointment.end_at.timestamp())
    token = parse_qs(urlsplit(_link(client_for(patient.user), jitsi_appointment)).query)["jwt"][0]
    with pytest.raises(jwt.ImmatureSignatureError):  # now is two hours before the visit
        jwt.decode(token, SECRET, algorithms=["HS256"], audience="carecore")


def test_a_token_signed_with_another_secret_does_not_verify(client_for, jitsi_appointment, patient):
    link = _link(client_for(patient.user), jitsi_appointment)
    token = parse_qs(urlsplit(link).query)["jwt"][0]

    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token,
            "another-secret-another-secret-another",
            algorithms=["HS256"],
            audience="carecore",
        )


def test_tokens_carry_no_names_or_visit_reason(client_for, jitsi_appointment, patient):
    link = _link(client_for(patient.user), jitsi_appointment)
    _, claims = _decode(link)

    text = f"{link} {claims}"
    for private in (patient.user.first_name, patient.user.last_name, jitsi_appointment.reason):
        assert private not in text
    assert claims["context"]["user"]["name"] == "Patient"


def test_staff_who_see_the_visit_but_are_not_in_it_get_no_link(
    client_for, jitsi_appointment, scheduler, coordinator
):
    assert _link(client_for(scheduler), jitsi_appointment) is None
    assert _link(client_for(coordinator), jitsi_appointment) is None


def test_the_local_provider_stays_the_default_and_needs_no_token(settings):
    assert settings.CARECORE_VIDEO_PROVIDER == "portal.video.LocalVideoProvider"
    room = LocalVideoProvider().create_join_url(appointment_id=None)  # type: ignore[arg-type]
    assert room.startswith("https://video.carecore.invalid/v/")
