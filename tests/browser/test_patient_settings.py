"""Settings in a real browser: change notification preferences and quiet hours, and read who
has viewed the record (a break-glass read marked); axe-clean, CSP intact."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from carecore.accounts import services as account_services
from carecore.accounts.models import Clinician, Patient, User
from carecore.accounts.selectors import patient_get
from carecore.notifications.selectors import notification_preferences_get

from .conftest import axe_violations
from .test_patient_sign_in import sign_in

pytestmark = pytest.mark.browser


def test_it_changes_preferences_and_shows_who_viewed_the_record(
    page: Page, live_server: Any, patient: Patient, clinician: Clinician, admin_user: User
) -> None:
    account_services.break_glass_open(
        user=admin_user, patient_id=patient.id, reason="Patient called the front desk, unwell"
    )
    patient_get(user=admin_user, patient_id=patient.id)
    sign_in(page, live_server.url, patient.user.email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
    assert axe_violations(page) == []

    page.get_by_label("Email: A new message from your care team").uncheck()
    page.get_by_label("Hold notifications at night").check()
    page.get_by_label("Quiet from", exact=True).fill("22:30")
    page.get_by_label("Quiet until", exact=True).fill("07:15")
    page.get_by_role("button", name="Save notifications").click()
    expect(page.get_by_role("status")).to_contain_text("Your changes are saved.")
    preferences = notification_preferences_get(user=patient.user)
    assert preferences.quiet_hours == (time(22, 30), time(7, 15))
    assert not any(
        row.enabled
        for row in preferences.rows
        if (row.event, row.channel) == ("message_received", "email")
    )

    report = page.get_by_role("table", name="Views of your record")
    row = report.get_by_role("row").filter(has_text=admin_user.full_name)
    expect(row).to_contain_text("Emergency access")
    expect(row).to_contain_text("Your details")
    assert axe_violations(page) == []


def test_it_saves_the_profile_in_the_patients_own_time_zone(
    page: Page, live_server: Any, patient: Patient
) -> None:
    # A zone set through the API, outside the common US ones: chosen in the list, kept on save.
    account_services.user_profile_update(user=patient.user, timezone_name="Europe/London")
    sign_in(page, live_server.url, patient.user.email)
    page.goto(f"{live_server.url}/settings/")

    expect(page.get_by_label("Time zone")).to_have_value("Europe/London")
    page.get_by_label("What should we call you?").fill("Sam")
    page.get_by_role("button", name="Save profile").click()

    expect(page.get_by_role("status")).to_contain_text("Your changes are saved.")
    patient.user.refresh_from_db()
    assert (patient.user.preferred_name, patient.user.timezone) == ("Sam", "Europe/London")
    page.get_by_label("Time zone").select_option(label="Tokyo")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status")).to_contain_text("Your changes are saved.")
    patient.user.refresh_from_db()
    assert patient.user.timezone == "Asia/Tokyo"
    assert axe_violations(page) == []
