"""Messages in a real browser: a new message with a photo, the care team's reply appearing
without a reload (over the WebSocket feed on uvicorn, and over the events list when there is
no socket), and the crisis auto-reply with the number to call."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from PIL import Image
from playwright.sync_api import Page, expect

from carecore.accounts.models import Clinician, Patient
from messaging import services
from messaging.models import Thread
from tests.servers import running_web

from .conftest import axe_violations
from .test_patient_sign_in import sign_in

pytestmark = pytest.mark.browser


def in_another_thread(work: Callable[[], object]) -> None:
    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=60)


def photo(directory: Path) -> Path:
    path = directory / "rash.png"
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (190, 60, 60)).save(out, format="PNG")
    path.write_bytes(out.getvalue())
    return path


def write_new_message(page: Page, subject: str, body: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Messages").click()
    expect(page.get_by_role("heading", name="Messages", exact=True)).to_be_visible()
    page.get_by_role("link", name="New message").click()
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("What is it about?").select_option("clinical")
    page.get_by_label("Message").fill(body)


@pytest.mark.usefixtures("announcer")
def test_it_sends_a_photo_and_shows_the_reply_live_over_the_socket(
    transactional_db: None, page: Page, patient: Patient, clinician: Clinician, tmp_path: Path
) -> None:
    with running_web("patient-messages") as base:
        page.set_viewport_size({"width": 390, "height": 844})
        sign_in(page, base, patient.user.email)
        write_new_message(page, "Rash after a new cream", "It started two days ago.")
        assert axe_violations(page) == []
        page.get_by_label("Choose photos or files").set_input_files(photo(tmp_path))
        page.get_by_role("button", name="Send").click()

        expect(page.get_by_role("heading", name="Rash after a new cream")).to_be_visible()
        image = page.get_by_role("img", name="Photo 1 attached to this message")
        expect(image).to_be_visible()
        assert image.evaluate("img => img.naturalWidth") == 40
        thread = Thread.objects.get(patient=patient)

        # From another thread: this one runs Playwright's event loop, from which Channels
        # cannot publish (the reply would still come, by the feed's next heartbeat check).
        in_another_thread(
            lambda: services.message_send(
                actor=clinician.user, thread_id=thread.id, body="Stop the cream; I will call you."
            )
        )

        expect(page.get_by_text("Stop the cream; I will call you.")).to_be_visible(timeout=15000)
        expect(page.get_by_role("status").last).to_have_text("New message in this conversation.")
        assert axe_violations(page) == []

        page.get_by_role("navigation", name="Main").get_by_role("link", name="Messages").click()
        expect(page.get_by_role("link", name="Rash after a new cream")).to_be_visible()
        assert axe_violations(page) == []


@pytest.mark.usefixtures("announcer")
def test_it_catches_up_through_the_events_list_without_a_socket(
    page: Page, live_server: Any, patient: Patient, clinician: Clinician
) -> None:
    # Django's live server speaks no WebSocket: the page falls back to the events list.
    thread = services.thread_open(
        actor=patient.user, subject="Question about dosage", category="clinical", body="How much?"
    ).thread
    sign_in(page, live_server.url, patient.user.email)
    page.goto(f"{live_server.url}/messages/{thread.id}/")
    expect(page.get_by_role("heading", name="Question about dosage")).to_be_visible()

    services.message_send(actor=clinician.user, thread_id=thread.id, body="A pea-sized amount.")

    expect(page.get_by_text("A pea-sized amount.")).to_be_visible(timeout=25000)


def test_it_shows_the_crisis_reply_at_once_with_the_number_to_call(
    page: Page, live_server: Any, patient: Patient, clinician: Clinician
) -> None:
    sign_in(page, live_server.url, patient.user.email)
    write_new_message(page, "Feeling very low", "I want to kill myself.")
    page.get_by_role("button", name="Send").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("988")
    expect(alert.get_by_role("link", name="Call 988")).to_have_attribute("href", "tel:988")
    expect(alert.get_by_role("link", name="Text 988")).to_have_attribute("href", "sms:988")
    assert axe_violations(page) == []


def test_it_shows_a_404_page_for_another_patients_thread(
    page: Page, live_server: Any, patient: Patient, other_patient: Patient
) -> None:
    theirs = services.thread_open(
        actor=other_patient.user, subject="Mine", category="billing", body="A bill question."
    ).thread
    sign_in(page, live_server.url, patient.user.email)

    response = page.goto(f"{live_server.url}/messages/{theirs.id}/")

    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    assert axe_violations(page) == []
