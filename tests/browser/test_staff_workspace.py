"""The care-team workspace in a real browser: a clinician signs in, the patient's urgent message
appears at the top of the open inbox with its clock (no reload), the clinician claims it in place
(htmx, no reload), writes an internal note and a reply; a message the patient sends meanwhile
appears without a reload; the patient's page shows the reply but never the note. The inbox's
keyboard shortcuts. axe on every page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Page, expect

from carecore.accounts.models import Clinician, Patient, User
from intake import services as intake_services
from intake.models import IntakeReview
from messaging import services
from tests.factories import TEST_PASSWORD
from tests.intake.helpers import poem
from tests.servers import running_web

from .conftest import axe_violations
from .test_patient_messages import in_another_thread
from .test_patient_sign_in import sign_in as patient_sign_in

pytestmark = pytest.mark.browser


def staff_sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/staff/sign-in/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.usefixtures("announcer")
def test_a_clinician_claims_notes_and_replies(
    page: Page, live_server: Any, patient: Patient, clinician: Clinician
) -> None:
    services.thread_open(
        actor=patient.user, subject="Itchy again", category="clinical", body="Still itchy."
    )
    page.set_viewport_size({"width": 1440, "height": 900})

    page.goto(f"{live_server.url}/staff/sign-in/")
    expect(page.get_by_role("heading", name="Care-team sign in")).to_be_visible()
    assert axe_violations(page) == []
    staff_sign_in(page, live_server.url, clinician.user.email)

    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    nav = page.get_by_role("navigation", name="Workspace")
    expect(nav.get_by_role("link", name="Inbox")).to_have_attribute("aria-current", "page")
    rows = page.get_by_role("row")
    expect(rows).to_have_count(2)  # the header and "Itchy again"
    url = page.url

    # The patient writes while the inbox is open: the urgent thread appears at the top without
    # a reload (the live server has no socket: the page catches up through the events list).
    urgent = services.thread_open(
        actor=patient.user,
        subject="Cannot breathe well",
        category="clinical",
        body="I have chest pain when I walk",
    ).thread
    first = rows.nth(1)  # under the header row: urgent first
    expect(first).to_contain_text("Cannot breathe well", timeout=25000)
    expect(rows).to_have_count(3)
    expect(page.get_by_role("status")).to_have_text(
        "1 new thread (1 urgent, at the top) in the inbox."
    )
    assert page.url == url
    expect(first).to_contain_text("Urgent")
    expect(first).to_contain_text("due in")
    expect(first).to_contain_text(patient.user.full_name)
    assert axe_violations(page) == []

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


def shortcuts_ready(page: Page) -> None:
    """The shortcuts' script shows the help's button once it listens: it takes the button's
    `hidden` attribute away. (The button's visibility alone is no proof: while the page's
    style sheets load, a `.button` rule can show it before the script has run.)"""
    expect(page.locator("#shortcuts-open:not([hidden])")).to_have_count(1)
    expect(page.get_by_role("button", name="Keyboard shortcuts")).to_be_visible()


@pytest.mark.usefixtures("announcer")
def test_the_keyboard_shortcuts(
    page: Page, live_server: Any, patient: Patient, clinician: Clinician
) -> None:
    for subject in ("First question", "Second question", "Third question"):
        services.thread_open(actor=patient.user, subject=subject, category="clinical", body="Hi.")
    staff_sign_in(page, live_server.url, clinician.user.email)
    shortcuts_ready(page)
    status = page.get_by_role("status")
    links = [
        page.get_by_role("link", name=name)
        for name in ("First question", "Second question", "Third question")  # earliest clock first
    ]

    page.keyboard.press("j")
    expect(links[0]).to_be_focused()
    expect(status).to_have_text("Thread 1 of 3.")
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(links[2]).to_be_focused()
    page.keyboard.press("j")
    expect(status).to_have_text("Last thread in this list.")
    page.keyboard.press("k")
    expect(links[1]).to_be_focused()
    expect(status).to_have_text("Thread 2 of 3.")

    # Not while typing: the assign select is a field.
    page.get_by_label("Assign Second question to").focus()
    page.keyboard.press("k")
    expect(page.get_by_label("Assign Second question to")).to_be_focused()
    page.keyboard.press("Shift+?")
    expect(page.get_by_role("dialog")).to_have_count(0)

    page.get_by_role("heading", name="Inbox").click()  # out of the field
    page.keyboard.press("Shift+?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Next thread in the inbox")
    assert axe_violations(page) == []
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()
    page.get_by_role("button", name="Keyboard shortcuts").click()
    expect(help_dialog).to_be_visible()
    help_dialog.get_by_role("button", name="Close").click()
    expect(help_dialog).to_be_hidden()

    links[1].focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Second question")).to_be_visible()
    shortcuts_ready(page)
    page.keyboard.press("r")
    reply_box = page.get_by_label("Reply to the patient")
    expect(reply_box).to_be_focused()
    page.keyboard.type("jk r")  # typed into the box, not taken as shortcuts
    expect(reply_box).to_have_value("jk r")
    expect(page.get_by_role("heading", name="Second question")).to_be_visible()

    page.get_by_role("heading", name="Second question").click()  # out of the field
    page.keyboard.press("j")
    expect(page.get_by_role("heading", name="Third question")).to_be_visible()
    shortcuts_ready(page)
    page.keyboard.press("k")
    expect(page.get_by_role("heading", name="Second question")).to_be_visible()

    # From the inbox, r opens the selected thread's reply box.
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Inbox").click()
    # The inbox itself, not the thread page still showing its button while the link loads
    # (a "j" there would open the next thread instead).
    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()
    shortcuts_ready(page)
    page.keyboard.press("j")
    expect(links[0]).to_be_focused()
    page.keyboard.press("r")
    expect(page.get_by_role("heading", name="First question")).to_be_visible()
    expect(page.get_by_label("Reply to the patient")).to_be_focused()

    # Single-key shortcuts can be turned off (WCAG 2.1.4), and stay off.
    page.get_by_role("heading", name="First question").click()
    page.keyboard.press("Shift+?")
    help_dialog.get_by_label("Single-key shortcuts on").uncheck()
    expect(status).to_have_text("Single-key shortcuts off.")
    help_dialog.get_by_role("button", name="Close").click()
    page.reload()
    shortcuts_ready(page)
    page.keyboard.press("j")
    page.keyboard.press("Shift+?")
    expect(help_dialog).to_be_hidden()
    expect(page.get_by_role("heading", name="First question")).to_be_visible()


@pytest.mark.usefixtures("announcer")
def test_assign_close_and_reopen_in_place_and_a_colleagues_claim_arrives_live(
    page: Page, live_server: Any, patient: Patient, clinician: Clinician, coordinator: User
) -> None:
    flare = services.thread_open(
        actor=patient.user, subject="Flare on my arms", category="clinical", body="Itchy."
    ).thread
    question = services.thread_open(
        actor=patient.user, subject="Billing question", category="billing", body="Invoice?"
    ).thread
    page.set_viewport_size({"width": 1440, "height": 900})
    staff_sign_in(page, live_server.url, clinician.user.email)
    shortcuts_ready(page)
    url = page.url
    flare_row = page.get_by_role("row").filter(has_text="Flare on my arms")

    flare_row.get_by_label("Assign Flare on my arms to").select_option(label=coordinator.full_name)
    flare_row.get_by_role("button", name="Assign Flare on my arms").click()
    expect(flare_row.get_by_role("cell", name=coordinator.full_name, exact=True)).to_be_visible()
    expect(flare_row.get_by_role("button", name="Assign Flare on my arms")).to_be_focused()
    assert page.url == url
    assert axe_violations(page) == []

    flare_row.get_by_role("button", name="Close Flare on my arms").click()
    expect(flare_row.get_by_text("Closed", exact=True)).to_be_visible()
    flare_row.get_by_role("button", name="Reopen Flare on my arms").click()
    expect(flare_row.get_by_role("button", name="Close Flare on my arms")).to_be_visible()
    assert page.url == url

    # A colleague claims the other thread: the row says so without a reload.
    services.thread_assign(actor=coordinator, thread_id=question.id, assignee_id=coordinator.id)
    question_row = page.get_by_role("row").filter(has_text="Billing question")
    expect(question_row.get_by_role("cell", name=coordinator.full_name, exact=True)).to_be_visible(
        timeout=25000
    )
    assert page.url == url
    flare.refresh_from_db()
    assert flare.status == "open" and flare.assignee_id == coordinator.id


@pytest.mark.usefixtures("announcer")
def test_the_inbox_updates_over_the_socket(
    transactional_db: None, page: Page, patient: Patient, clinician: Clinician
) -> None:
    services.thread_open(
        actor=patient.user, subject="Itchy again", category="clinical", body="Still itchy."
    )
    with running_web("staff-inbox") as base:
        page.set_viewport_size({"width": 1440, "height": 900})
        staff_sign_in(page, base, clinician.user.email)
        shortcuts_ready(page)
        rows = page.get_by_role("row")
        expect(rows).to_have_count(2)

        # From another thread: this one runs Playwright's event loop, from which Channels
        # cannot publish (see test_patient_messages.py).
        in_another_thread(
            lambda: services.thread_open(
                actor=patient.user,
                subject="Cannot breathe well",
                category="clinical",
                body="I have chest pain when I walk",
            )
        )

        expect(rows.nth(1)).to_contain_text("Cannot breathe well", timeout=15000)
        expect(rows.nth(1)).to_contain_text("due in")
        expect(page.get_by_role("status")).to_have_text(
            "1 new thread (1 urgent, at the top) in the inbox."
        )
        assert axe_violations(page) == []
