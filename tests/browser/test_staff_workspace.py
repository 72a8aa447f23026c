"""The care-team workspace in a real browser: a clinician signs in, finds the patient's urgent
message at the top of the inbox with its clock, claims it in place (htmx, no reload), writes an
internal note and a reply; a message the patient sends meanwhile appears without a reload; the
patient's page shows the reply but never the note. axe on every page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Page, expect

from carecore.accounts.models import Clinician, Patient
from intake import services as intake_services
from intake.models import IntakeReview
from messaging import services
from tests.factories import TEST_PASSWORD
from tests.intake.helpers import poem

from .conftest import axe_violations
from .test_patient_sign_in import sign_in as patient_sign_in

pytestmark = pytest.mark.browser


def staff_sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/staff/sign-in/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_clinician_claims_notes_and_replies(
    page: Page, live_server: Any, patient: Patient, clinician: Clinician
) -> None:
    services.thread_open(
        actor=patient.user, subject="Itchy again", category="clinical", body="Still itchy."
    )
    urgent = services.thread_open(
        actor=patient.user,
        subject="Cannot breathe well",
        category="clinical",
        body="I have chest pain when I walk",
    ).thread
    page.set_viewport_size({"width": 1440, "height": 900})

    page.goto(f"{live_server.url}/staff/sign-in/")
    expect(page.get_by_role("heading", name="Care-team sign in")).to_be_visible()
    assert axe_violations(page) == []
    staff_sign_in(page, live_server.url, clinician.user.email)

    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    nav = page.get_by_role("navigation", name="Workspace")
    expect(nav.get_by_role("link", name="Inbox")).to_have_attribute("aria-current", "page")
    rows = page.get_by_role("row")
    first = rows.nth(1)  # under the header row: urgent first
    expect(first).to_contain_text("Cannot breathe well")
    expect(first).to_contain_text("Urgent")
    expect(first).to_contain_text("due in")
    expect(first).to_contain_text(patient.user.full_name)
    assert axe_violations(page) == []

    url = page.url
    first.get_by_role("button", name="Claim Cannot breathe well").click()
    expect(
        page.get_by_role("row").nth(1).get_by_role("cell", name="You", exact=True)
    ).to_be_visible()
    assert page.url == url  # in place
    assert axe_violations(page) == []

    page.get_by_role("link", name="Cannot breathe well").click()
    expect(page.get_by_role("heading", name="Cannot breathe well")).to_be_visible()
    expect(page.get_by_text("chest pain", exact=True)).to_be_visible()  # the matched words
    assert axe_violations(page) == []

    page.get_by_label("Internal note (the patient never sees it)").fill("Paging on-call now.")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Paging on-call now.")).to_be_visible()
    expect(page.get_by_text("Internal note", exact=True).first).to_be_visible()

    page.get_by_label("Reply to the patient").fill("Please call 911 if it gets worse.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("Please call 911 if it gets worse.")).to_be_visible()
    assert axe_violations(page) == []

    # Live: the patient writes while the page is open (the live server has no socket, so the
    # page catches up through the events list).
    services.message_send(actor=patient.user, thread_id=urgent.id, body="Calling now.")
    expect(page.get_by_text("Calling now.")).to_be_visible(timeout=25000)

    patient_page = page.context.new_page()
    patient_page.context.clear_cookies()
    patient_sign_in(patient_page, live_server.url, patient.user.email)
    patient_page.goto(f"{live_server.url}/messages/{urgent.id}/")
    expect(patient_page.get_by_text("Please call 911 if it gets worse.")).to_be_visible()
    expect(patient_page.get_by_text("Paging on-call now.")).to_have_count(0)


def test_a_clinician_completes_a_review_from_the_queue(
    page: Page, live_server: Any, patient: Patient, clinician: Clinician, questionnaires: None
) -> None:
    with time_machine.travel(timezone.now() - timedelta(days=14)):
        earlier = intake_services.response_create(
            user=patient.user, slug="poem", answers=poem(2, 2, 3, 1, 2, 3, 1), status="completed"
        )
    earlier_review = IntakeReview.objects.get(response=earlier)
    intake_services.review_complete(user=clinician.user, review_id=earlier_review.id, note="")
    intake_services.response_create(
        user=patient.user, slug="poem", answers=poem(1, 2, 3, 1, 2, 3, 1), status="completed"
    )
    staff_sign_in(page, live_server.url, clinician.user.email)
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Reviews").click()
    expect(page.get_by_role("heading", name="Reviews")).to_be_visible()
    assert axe_violations(page) == []

    page.get_by_role("link", name="POEM").click()  # the patient's name opens their chart
    expect(page.get_by_role("heading", name="Answers")).to_be_visible()
    # What changed since the last response: the one answer that moved, last time then now.
    changes = page.get_by_role("table", name="Changes since the last response")
    expect(changes.get_by_role("row")).to_have_count(2)  # the header and poem-1
    expect(changes.get_by_role("row").nth(1).get_by_role("cell")).to_have_text(
        ["3-4 days", "1-2 days"]
    )
    assert axe_violations(page) == []
    page.get_by_label("Note (optional)").fill("Seen, no concerns.")
    page.get_by_role("button", name="Complete review").click()

    expect(page.get_by_text("Seen, no concerns.")).to_be_visible()
    expect(page.get_by_role("button", name="Complete review")).to_have_count(0)
