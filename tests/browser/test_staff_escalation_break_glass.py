"""Called in on an escalation, in a real browser: the clinical lead, off the patient's care
team, opens the thread their `thread_escalated` notice links to, is told they were called in
(nothing of the patient shown), gets the error for a too-short reason, then opens break-glass
access and reads the thread. No request leaves 127.0.0.1 and the CSP holds (PageGuard); axe
finds no serious or critical violation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from carecore.accounts.models import Patient
from messaging import services
from tests.factories import ClinicianFactory

from .conftest import axe_violations
from .test_staff_workspace import staff_sign_in

pytestmark = pytest.mark.browser

REASON = "Called in on the overdue thread: the care team has not answered the patient."


def test_the_clinical_lead_opens_break_glass_from_the_escalated_thread(
    page: Page, live_server: Any, patient: Patient
) -> None:
    chief = ClinicianFactory(
        user__email="chief@example.test", is_clinical_lead=True, licensed_states=["CA"]
    )
    thread = services.thread_open(
        actor=patient.user,
        subject="Swollen lips",
        category="clinical",
        body="My lips started swelling after the new cream.",
    ).thread
    assert thread.first_response_due_at is not None
    # Three hours overdue: the whole ladder, the clinical lead on its last rung.
    services.thread_escalate(
        thread_id=thread.id, now=thread.first_response_due_at + timedelta(hours=3)
    )

    staff_sign_in(page, live_server.url, chief.user.email)
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    page.goto(f"{live_server.url}/staff/threads/{thread.id}/")

    expect(
        page.get_by_role("heading", name="You were called in on an escalated thread", level=1)
    ).to_be_visible()
    expect(page.get_by_text("Swollen lips")).to_have_count(0)
    expect(page.get_by_text(patient.user.full_name)).to_have_count(0)
    assert axe_violations(page) == []

    reason = page.get_by_label("Why you need to read this patient's record")
    reason.fill("Overdue.")
    page.get_by_role("button", name="Open access and read the thread").click()

    expect(page.get_by_role("alert")).to_contain_text("Explain why in at least 20 characters.")
    assert axe_violations(page) == []

    page.get_by_label("Why you need to read this patient's record").fill(REASON)
    page.get_by_role("button", name="Open access and read the thread").click()

    expect(page).to_have_url(f"{live_server.url}/staff/threads/{thread.id}/")
    expect(page.get_by_text("My lips started swelling after the new cream.")).to_be_visible()
