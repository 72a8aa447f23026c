"""The schedule in a real browser: a scheduler opens a clinician's hours, adds time off, sees the
visit it collides with by the patient's name (before saving, and again after), and moves that
visit out of it; a scheduler finds a patient by name (a POST: the name in no URL) and books for
them; axe-clean pages, nothing leaving 127.0.0.1 (PageGuard)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, Request, expect

from carecore.accounts.models import Clinician, Patient, User
from portal.models import Appointment, AppointmentStatus, TimeOff
from tests.portal.conftest import book_directly, give_availability

from .conftest import axe_violations
from .test_staff_workspace import staff_sign_in

pytestmark = pytest.mark.browser


def test_a_scheduler_adds_time_off_sees_the_colliding_visit_and_moves_it(
    page: Page, live_server: Any, patient: Patient, clinician: Clinician, scheduler: User
) -> None:
    give_availability(clinician)
    zone = clinician.user.zone
    tomorrow = timezone.localdate(timezone.now(), zone) + timedelta(days=1)
    visit = book_directly(
        patient=patient, clinician=clinician, start=datetime.combine(tomorrow, time(10), zone)
    )
    name = patient.user.full_name
    page.set_viewport_size({"width": 1440, "height": 900})

    staff_sign_in(page, live_server.url, scheduler.email)
    expect(page.get_by_role("heading", name=re.compile("^Schedule"))).to_be_visible()
    nav = page.get_by_role("navigation", name="Workspace")
    expect(nav.get_by_role("link", name="Schedule")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Inbox")).to_have_count(0)
    page.get_by_label("Clinician").select_option(label=clinician.user.full_name)
    page.get_by_role("button", name="Show").click()
    page.get_by_role("link", name="Week", exact=True).click()
    expect(page.get_by_text(name).first).to_be_visible()
    assert axe_violations(page) == []

    page.get_by_role("link", name="Weekly hours and time off").click()
    expect(
        page.get_by_role("heading", name=re.compile("^Weekly hours and time off"))
    ).to_be_visible()
    assert axe_violations(page) == []
    form = page.get_by_role("form", name="Add time off")
    form.get_by_label("First day").fill(tomorrow.isoformat())
    form.get_by_label("From").fill("09:00")
    form.get_by_label("Last day").fill(tomorrow.isoformat())
    form.get_by_label("Until").fill("12:00")
    form.get_by_label("Note (optional)").fill("Conference")
    form.get_by_role("button", name="Check for visits").click()

    collisions = page.get_by_role("region", name=re.compile("^Booked visits inside this time off"))
    expect(collisions).to_contain_text("Booked visits inside this time off: 1")
    expect(collisions).to_contain_text(name)
    assert not TimeOff.objects.exists()  # checking saves nothing
    assert axe_violations(page) == []

    page.get_by_role("form", name="Add time off").get_by_role("button", name="Add time off").click()
    added = page.get_by_role("region", name=re.compile("^Time off added"))
    expect(added).to_contain_text(name)
    expect(page.get_by_role("status")).to_contain_text("Time off added.")
    assert TimeOff.objects.filter(clinician=clinician, note="Conference").exists()
    assert axe_violations(page) == []

    added.get_by_role("link", name=re.compile(f"^Move {re.escape(name)}'s visit")).click()
    expect(page.get_by_role("heading", name=f"Move {name}'s visit")).to_be_visible()
    # 09:00-12:00 is now time off: none of its times is offered.
    expect(page.get_by_role("radio", name=re.compile(r"^(9|10|11):\d\d AM"))).to_have_count(0)
    assert axe_violations(page) == []
    page.get_by_role("radio", name=re.compile(r"^3:00 PM")).check()
    page.get_by_role("button", name="Move the visit").click()

    expect(page.get_by_role("status")).to_contain_text("Visit moved.")
    expect(page.get_by_role("listitem").filter(has_text=name)).to_contain_text("3:00")
    moved = Appointment.objects.get(pk=visit.pk)
    assert moved.status == AppointmentStatus.BOOKED
    assert moved.start_at == datetime.combine(tomorrow, time(15), zone)
    assert axe_violations(page) == []


def test_a_scheduler_finds_a_patient_without_the_name_in_any_url_and_books_for_them(
    page: Page, live_server: Any, patient: Patient, clinician: Clinician, scheduler: User
) -> None:
    give_availability(clinician)
    name = patient.user.full_name
    asked: list[Request] = []
    page.on("request", lambda request: asked.append(request))
    page.set_viewport_size({"width": 1440, "height": 900})

    staff_sign_in(page, live_server.url, scheduler.email)
    page.get_by_role("link", name="Book a visit for a patient").click()
    expect(page.get_by_role("heading", name="Book a visit for a patient")).to_be_visible()
    assert axe_violations(page) == []
    search = page.get_by_role("search", name="Find a patient")
    search.get_by_label("Patient's name or e-mail").fill(patient.user.last_name)
    search.get_by_role("button", name="Find").click()

    expect(page.get_by_role("heading", name="Patients found: 1")).to_be_visible()
    expect(page.get_by_label("Patient's name or e-mail")).to_have_value(patient.user.last_name)
    assert axe_violations(page) == []
    page.get_by_role("link", name=name).click()

    expect(page.get_by_role("heading", name=f"Book a visit for {name}")).to_be_visible()
    # The first bookable day may have no time left today: the day after is open 8:00-20:00.
    first_day = date.fromisoformat(page.get_by_label("Day").get_attribute("min") or "")
    page.get_by_label("Day").fill((first_day + timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Show times").click()
    page.get_by_role("radio", name=re.compile(r"^9:00 AM")).check()
    page.get_by_role("button", name="Book").click()

    expect(page.get_by_role("status")).to_contain_text("Visit booked.")
    booked = Appointment.objects.get(patient=patient)
    assert booked.booked_by == scheduler
    assert booked.start_at == datetime.combine(
        first_day + timedelta(days=1), time(9), patient.user.zone
    )
    # What was typed went in a POST's body only: in no URL, so in no history entry or Referer.
    searches = [r for r in asked if r.method == "POST" and "q=" in (r.post_data or "")]
    assert len(searches) == 1
    assert patient.user.last_name not in " ".join(
        [r.url for r in asked] + [r.header_value("referer") or "" for r in asked]
    )
