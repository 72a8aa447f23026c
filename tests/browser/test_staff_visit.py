"""One visit in a real browser: the clinician opens the link their "visit booked" notification
carries, reads the visit (time, patient, reason), cancels it from there, and finds it again on
the schedule marked cancelled; a scheduler opens the same page without the reason. No request
leaves 127.0.0.1 and the CSP holds (PageGuard); axe finds no serious or critical violation."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from carecore.accounts.models import Clinician, Patient, User
from carecore.notifications.models import Channel, Event, Notification
from portal.models import Appointment, AppointmentStatus
from tests.portal.conftest import REASON, book_directly, give_availability

from .conftest import axe_violations
from .test_staff_workspace import staff_sign_in

pytestmark = pytest.mark.browser


def _visit_tomorrow(patient: Patient, clinician: Clinician) -> Appointment:
    give_availability(clinician)
    zone = clinician.user.zone
    tomorrow = timezone.localdate(timezone.now(), zone) + timedelta(days=1)
    return book_directly(
        patient=patient, clinician=clinician, start=datetime.combine(tomorrow, time(10), zone)
    )


def test_the_clinician_opens_the_booked_visit_from_its_notification_and_cancels_it(
    page: Page, live_server: Any, patient: Patient, clinician: Clinician
) -> None:
    visit = _visit_tomorrow(patient, clinician)
    name = patient.user.full_name
    link = Notification.objects.get(
        event=Event.APPOINTMENT_BOOKED, channel=Channel.IN_APP, recipient=clinician.user
    ).link_path
    page.set_viewport_size({"width": 1440, "height": 900})

    staff_sign_in(page, live_server.url, clinician.user.email)
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    page.goto(f"{live_server.url}{link}")

    expect(page.get_by_role("heading", name=f"Visit: {name}", level=1)).to_be_visible()
    facts = page.get_by_role("region", name="The visit", exact=True)
    expect(facts).to_contain_text("Booked")
    expect(facts).to_contain_text("10:00 AM")
    expect(facts.get_by_role("link", name=name)).to_have_attribute(
        "href", f"/staff/patients/{patient.id}/"
    )
    expect(page.get_by_role("region", name="Reason for the visit")).to_contain_text(REASON)
    actions = page.get_by_role("region", name="What you can do")
    expect(actions.get_by_role("link", name="Pre-visit summary")).to_be_visible()
    assert axe_violations(page) == []

    actions.get_by_role("link", name="Cancel the visit").click()
    expect(page.get_by_role("heading", name=f"Cancel {name}'s visit?")).to_be_visible()
    page.get_by_role("button", name="Yes, cancel the visit").click()

    expect(page.get_by_role("status")).to_contain_text("Visit cancelled.")
    assert Appointment.objects.get(pk=visit.pk).status == AppointmentStatus.CANCELLED
    page.get_by_role("link", name=re.compile(f"^Details of {re.escape(name)}'s visit")).click()

    expect(page.get_by_text("This visit was cancelled")).to_be_visible()
    expect(page.get_by_role("region", name="The visit", exact=True)).to_contain_text("Cancelled")
    expect(page.get_by_role("link", name="Cancel the visit")).to_have_count(0)
    assert axe_violations(page) == []


def test_a_scheduler_reads_the_visit_without_its_reason(
    page: Page, live_server: Any, patient: Patient, clinician: Clinician, scheduler: User
) -> None:
    visit = _visit_tomorrow(patient, clinician)
    page.set_viewport_size({"width": 1440, "height": 900})

    staff_sign_in(page, live_server.url, scheduler.email)
    expect(page.get_by_role("heading", name=re.compile("^Schedule"))).to_be_visible()
    page.goto(f"{live_server.url}/staff/visits/{visit.id}/")

    expect(
        page.get_by_role("heading", name=f"Visit: {patient.user.full_name}", level=1)
    ).to_be_visible()
    expect(page.get_by_role("region", name="Reason for the visit")).to_contain_text(
        "only the care team reads it"
    )
    expect(page.get_by_text(REASON)).to_have_count(0)
    expect(page.get_by_role("link", name="Pre-visit summary")).to_have_count(0)
    expect(page.get_by_role("link", name="Move the visit")).to_be_visible()
    assert axe_violations(page) == []
