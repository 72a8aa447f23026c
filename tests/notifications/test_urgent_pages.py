"""Urgent pages (triage_urgent, intake_red_flag, thread_escalated) cannot be silenced: staff
always get them in the app and on e-mail or SMS, whatever is stored in their preferences and
whatever their quiet hours; the preferences API refuses a change that would go below that.
See docs/security.md, "Urgent pages cannot be silenced"."""

from __future__ import annotations

import uuid
from datetime import time

import pytest
import time_machine
from django.utils import timezone

from carecore.notifications.models import (
    Channel,
    Event,
    Notification,
    NotificationPreference,
    QuietHours,
)
from carecore.notifications.services import notify

pytestmark = pytest.mark.django_db

PREFS = "/api/v1/notification-preferences/"
URGENT = [Event.TRIAGE_URGENT, Event.INTAKE_RED_FLAG, Event.THREAD_ESCALATED]


def _switch_off(user, event, channels=(Channel.EMAIL, Channel.SMS, Channel.IN_APP)) -> None:
    """Stored rows as an older release let anyone write them."""
    for channel in channels:
        NotificationPreference.objects.update_or_create(
            user=user, event=event, channel=channel, defaults={"enabled": False}
        )


def _page(user, event) -> dict[str, Notification]:
    rows = notify(
        event=event,
        recipients=[user],
        subject_type="thread",
        subject_id=uuid.uuid4(),
        urgent=True,
    )
    return {row.channel: row for row in rows}


@pytest.mark.parametrize("event", URGENT)
def test_a_page_reaches_a_clinician_who_switched_everything_off(clinician, event):
    user = clinician.user
    _switch_off(user, event)

    rows = _page(user, event)

    assert set(rows) == {Channel.IN_APP, Channel.EMAIL}


@pytest.mark.parametrize("event", URGENT)
def test_a_page_reaches_a_coordinator_who_switched_everything_off(coordinator, event):
    _switch_off(coordinator, event)

    assert set(_page(coordinator, event)) == {Channel.IN_APP, Channel.EMAIL}


def test_sms_alone_is_enough_when_it_can_reach_them(clinician):
    user = clinician.user
    user.phone = "+12125550123"
    user.save(update_fields=["phone"])
    _switch_off(user, Event.TRIAGE_URGENT, channels=(Channel.EMAIL, Channel.IN_APP))

    rows = _page(user, Event.TRIAGE_URGENT)

    assert set(rows) == {Channel.IN_APP, Channel.SMS}


def test_sms_without_a_phone_falls_back_to_email(clinician):
    user = clinician.user
    assert not user.phone
    _switch_off(user, Event.INTAKE_RED_FLAG, channels=(Channel.EMAIL, Channel.IN_APP))

    rows = _page(user, Event.INTAKE_RED_FLAG)

    assert set(rows) == {Channel.IN_APP, Channel.EMAIL}


def test_the_floor_ignores_quiet_hours_that_cover_the_whole_day(clinician):
    user = clinician.user
    _switch_off(user, Event.TRIAGE_URGENT)
    QuietHours.objects.create(user=user, start=time(0, 0), end=time(23, 59))

    with time_machine.travel("2026-06-10T12:00:00Z", tick=False):
        rows = _page(user, Event.TRIAGE_URGENT)

        assert rows[Channel.EMAIL].due_at == timezone.now()


def test_routine_events_still_follow_preferences(clinician):
    user = clinician.user
    _switch_off(user, Event.MESSAGE_RECEIVED)

    assert _page(user, Event.MESSAGE_RECEIVED) == {}


# --- the preferences API -------------------------------------------------------------------


@pytest.mark.parametrize("event", URGENT)
@pytest.mark.parametrize(
    "switched_off",
    [[Channel.IN_APP], [Channel.EMAIL, Channel.SMS], [Channel.IN_APP, Channel.EMAIL, Channel.SMS]],
)
def test_a_clinician_cannot_silence_an_urgent_page(clinician, client_for, event, switched_off):
    body = {
        "preferences": [
            {"event": event, "channel": channel, "enabled": False} for channel in switched_off
        ]
    }

    response = client_for(clinician.user).put(PREFS, body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "urgent_page_required"
    assert error["fields"]["preferences"] == [
        f"{event} is an urgent page: it stays on in the app and on e-mail or SMS."
    ]
    assert not NotificationPreference.objects.filter(user=clinician.user).exists()


def test_a_change_that_also_silences_a_page_is_refused_whole(coordinator, client_for):
    body = {
        "preferences": [
            {"event": "message_received", "channel": "email", "enabled": False},
            {"event": "thread_escalated", "channel": "in_app", "enabled": False},
        ]
    }

    response = client_for(coordinator).put(PREFS, body, format="json")

    assert response.status_code == 400
    assert not NotificationPreference.objects.filter(user=coordinator).exists()


def test_a_clinician_may_choose_sms_over_email_for_pages(clinician, client_for):
    client = client_for(clinician.user)

    response = client.put(
        PREFS,
        {"preferences": [{"event": "triage_urgent", "channel": "email", "enabled": False}]},
        format="json",
    )
    # ...but then not SMS as well: the stored e-mail "off" counts.
    second = client.put(
        PREFS,
        {"preferences": [{"event": "triage_urgent", "channel": "sms", "enabled": False}]},
        format="json",
    )

    assert response.status_code == 200
    assert second.status_code == 400
    assert second.json()["error"]["code"] == "urgent_page_required"


def test_a_clinician_may_still_turn_routine_events_off(clinician, client_for):
    response = client_for(clinician.user).put(
        PREFS,
        {"preferences": [{"event": "message_received", "channel": "email", "enabled": False}]},
        format="json",
    )

    assert response.status_code == 200


def test_preferences_show_what_delivery_will_do_even_over_old_stored_rows(clinician, client_for):
    _switch_off(clinician.user, Event.INTAKE_RED_FLAG)

    body = client_for(clinician.user).get(PREFS).json()

    shown = {
        row["channel"]: row["enabled"]
        for row in body["preferences"]
        if row["event"] == "intake_red_flag"
    }
    assert shown[Channel.IN_APP] is True
    assert shown[Channel.EMAIL] is True  # no phone on file: e-mail is the page's way out
    assert shown[Channel.SMS] is False


def test_patients_are_never_paged_so_their_choice_stands(patient, client_for):
    response = client_for(patient.user).put(
        PREFS,
        {"preferences": [{"event": "triage_urgent", "channel": "in_app", "enabled": False}]},
        format="json",
    )

    assert response.status_code == 200
