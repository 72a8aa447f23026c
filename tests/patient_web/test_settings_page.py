"""Settings: profile and phone (with its SMS code), notification preferences and quiet hours,
and "Who has viewed my record" from the audit trail, break-glass reads marked."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time
from typing import Any

import pytest
from django.test import Client

from carecore.accounts import services as account_services
from carecore.accounts.models import Clinician, Patient, User
from carecore.accounts.selectors import patient_get, record_access_report
from carecore.notifications.selectors import notification_preferences_get
from carecore.notifications.sms import SmsMessage
from messaging import selectors as messaging
from tests.messaging.conftest import open_thread

pytestmark = pytest.mark.django_db


def test_it_updates_the_profile(patient: Patient, web_for: Callable[[User], Client]) -> None:
    client = web_for(patient.user)

    response = client.post(
        "/settings/",
        {"section": "profile", "preferred_name": "Sam", "timezone": "America/Chicago", "phone": ""},
    )

    assert response["Location"] == "/settings/?saved=profile#profile-title"
    patient.user.refresh_from_db()
    assert patient.user.preferred_name == "Sam"
    assert patient.user.timezone == "America/Chicago"


def submitted_select_value(html: str, name: str) -> str:
    """What a browser submits for the `<select name=name>` in `html`: its selected option, or
    its first option when none is selected (HTML's rule for a single select)."""
    found = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert found is not None, f"no select named {name}"
    options = re.findall(r'<option value="([^"]*)"([^>]*)>', found.group(1))
    chosen = [value for value, attrs in options if "selected" in attrs]
    return chosen[0] if chosen else options[0][0]


@pytest.mark.parametrize("zone", ["Europe/London", "America/Adak", "US/Eastern"])
def test_it_keeps_any_time_zone_when_only_the_name_changes(
    patient: Patient, web_for: Callable[[User], Client], zone: str
) -> None:
    # A zone set through the API (any IANA name, old aliases included) is offered and chosen,
    # so saving the profile for another reason does not move the patient to another zone.
    account_services.user_profile_update(user=patient.user, timezone_name=zone)
    client = web_for(patient.user)
    page = client.get("/settings/").content.decode()

    response = client.post(
        "/settings/",
        {
            "section": "profile",
            "preferred_name": "Sam",
            "timezone": submitted_select_value(page, "timezone"),
            "phone": "",
        },
    )

    assert response["Location"] == "/settings/?saved=profile#profile-title"
    patient.user.refresh_from_db()
    assert patient.user.preferred_name == "Sam"
    assert patient.user.timezone == zone


def test_it_offers_every_time_zone_with_the_us_ones_first(
    patient: Patient, web_for: Callable[[User], Client]
) -> None:
    html = web_for(patient.user).get("/settings/").content.decode()

    select = html.split('<select name="timezone"')[1].split("</select>")[0]
    values = re.findall(r'<option value="([^"]*)"', select)
    assert values[0] == "America/New_York"
    assert {"Europe/London", "America/Adak", "Asia/Kolkata", "UTC"} <= set(values)
    assert len(values) == len(set(values))
    assert select.index("Eastern (New York)") < select.index('label="Europe"')


def test_it_refuses_an_unknown_time_zone_with_a_field_error(
    patient: Patient, web_for: Callable[[User], Client]
) -> None:
    response = web_for(patient.user).post(
        "/settings/",
        {"section": "profile", "preferred_name": "Sam", "timezone": "Mars/Olympus_Mons"},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_timezone_error"' in html
    assert "Unknown time zone" in html
    patient.user.refresh_from_db()
    assert (patient.user.timezone, patient.user.preferred_name) == ("America/New_York", "")


def test_it_confirms_a_new_phone_number_with_the_texted_code(
    patient: Patient,
    web_for: Callable[[User], Client],
    sms_outbox: list[SmsMessage],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    client = web_for(patient.user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/settings/",
            {
                "section": "profile",
                "preferred_name": "",
                "timezone": "America/New_York",
                "phone": "+12125550123",
            },
        )
    page = client.get("/settings/?saved=code-sent").content.decode()
    assert "Code from the text message" in page
    found = re.search(r"\b(\d{6})\b", sms_outbox[-1].body)
    assert found is not None
    code = found.group(1)

    wrong = client.post("/settings/", {"section": "phone-code", "code": "000000"})
    assert "Not the code we sent" in wrong.content.decode()
    response = client.post("/settings/", {"section": "phone-code", "code": code})

    assert response["Location"] == "/settings/?saved=phone#profile-title"
    patient.user.refresh_from_db()
    assert str(patient.user.phone) == "+12125550123"


def test_it_saves_notification_preferences_and_quiet_hours(
    patient: Patient, web_for: Callable[[User], Client]
) -> None:
    client = web_for(patient.user)

    response = client.post(
        "/settings/",
        {
            "section": "notifications",
            "pref-message_received-in_app": "on",
            "pref-appointment_reminder-email": "on",
            "quiet_enabled": "on",
            "quiet_start": "22:00",
            "quiet_end": "07:00",
        },
    )

    assert response["Location"] == "/settings/?saved=notifications#notify-title"
    preferences = notification_preferences_get(user=patient.user)
    enabled = {(row.event, row.channel) for row in preferences.rows if row.enabled}
    assert ("message_received", "in_app") in enabled
    assert ("message_received", "email") not in enabled
    assert ("appointment_reminder", "email") in enabled
    assert preferences.quiet_hours == (time(22), time(7))


def test_it_asks_for_both_quiet_hours_times(
    patient: Patient, web_for: Callable[[User], Client]
) -> None:
    response = web_for(patient.user).post(
        "/settings/", {"section": "notifications", "quiet_enabled": "on", "quiet_start": "22:00"}
    )

    assert "Give both times, or turn quiet hours off." in response.content.decode()


def test_it_shows_who_viewed_the_record_with_break_glass_marked(
    patient: Patient,
    clinician: Clinician,
    admin_user: User,
    web_for: Callable[[User], Client],
) -> None:
    thread = open_thread(patient)
    messaging.thread_get(user=clinician.user, thread_id=thread.id)
    account_services.break_glass_open(
        user=admin_user, patient_id=patient.id, reason="Patient called the front desk, unwell"
    )
    patient_get(user=admin_user, patient_id=patient.id)

    html = web_for(patient.user).get("/settings/").content.decode()

    report = html.split('id="views-title"')[1]
    assert clinician.user.full_name in report
    assert "A conversation" in report
    assert admin_user.full_name in report
    assert "Emergency access" in report
    views = record_access_report(user=patient.user)
    assert [view.break_glass for view in views if view.viewer_role == "admin"] == [True]
    assert all(view.viewer_name != patient.user.full_name for view in views)


def test_a_list_request_is_one_view(
    patient: Patient, clinician: Clinician, client_for: Callable[[User], object]
) -> None:
    for number in range(3):
        open_thread(patient, subject=f"Thread {number}")
    client_for(clinician.user).get("/api/v1/threads/")  # type: ignore[attr-defined]

    views = record_access_report(user=patient.user)

    assert [(view.viewer_role, view.object_type) for view in views] == [
        ("clinician", "message_thread")
    ]


def test_a_list_of_several_patients_is_a_view_of_each_marked_only_where_a_grant_allowed_it(
    patient: Patient,
    other_patient: Patient,
    other_clinician: Clinician,
    client_for: Callable[[User], Any],
) -> None:
    # other_clinician cares for other_patient and sees patient's threads under a grant: one
    # inbox page shows both patients' threads and writes one event naming both.
    open_thread(patient)
    open_thread(other_patient)
    account_services.break_glass_open(
        user=other_clinician.user, patient_id=patient.id, reason="On call, team unreachable"
    )

    response = client_for(other_clinician.user).get("/api/v1/threads/")

    assert len(response.json()["results"]) == 2

    def views_of(someone: Patient) -> list[tuple[str, str, bool]]:
        return [
            (view.viewer_name, view.object_type, view.break_glass)
            for view in record_access_report(user=someone.user)
            if view.object_type == "message_thread"
        ]

    name = other_clinician.user.full_name
    assert views_of(patient) == [(name, "message_thread", True)]
    assert views_of(other_patient) == [(name, "message_thread", False)]


def test_it_refuses_staff_the_settings_page(
    clinician: Clinician, web_for: Callable[[User], Client]
) -> None:
    assert web_for(clinician.user).get("/settings/").status_code == 403
