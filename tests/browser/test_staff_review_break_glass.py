"""Called in on an unanswered red-flag page, in a real browser: the clinical lead, off the
patient's care team, opens the review their `intake_red_flag` page links to, is told they were
called in (nothing of the patient shown), opens break-glass access and reads the review, without
the completion form. No request leaves 127.0.0.1 and the CSP holds (PageGuard); axe finds no
serious or critical violation. The thread's offer is test_staff_escalation_break_glass.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from carecore.accounts.models import Patient, User
from tests.factories import ClinicianFactory
from tests.intake.helpers import escalated_red_flag_review

from .conftest import axe_violations
from .test_staff_workspace import staff_sign_in

pytestmark = pytest.mark.browser

REASON = "Paged on the unanswered red flag: the care team has not reviewed the intake."
FLAG = "Rectal bleeding or blood in the stool"


def test_the_clinical_lead_opens_break_glass_from_the_escalated_review(
    page: Page,
    live_server: Any,
    patient: Patient,
    coordinator: User,
    questionnaires: None,
    client_for: Any,
) -> None:
    chief = ClinicianFactory(
        user__email="chief@example.test", is_clinical_lead=True, licensed_states=["CA"]
    )
    # Paged in the night and never answered: the whole ladder, the clinical lead on its last rung.
    review = escalated_red_flag_review(
        client_for(patient.user), datetime(2026, 3, 11, 3, 0, tzinfo=UTC)
    )

    staff_sign_in(page, live_server.url, chief.user.email)
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    page.goto(f"{live_server.url}/staff/reviews/{review.id}/")

    expect(
        page.get_by_role("heading", name="You were called in on an unanswered red flag", level=1)
    ).to_be_visible()
    expect(page.get_by_text(FLAG)).to_have_count(0)
    expect(page.get_by_text(patient.user.full_name)).to_have_count(0)
    assert axe_violations(page) == []

    page.get_by_label("Why you need to read this patient's record").fill(REASON)
    page.get_by_role("button", name="Open access and read the review").click()

    expect(page).to_have_url(f"{live_server.url}/staff/reviews/{review.id}/")
    expect(page.get_by_text(FLAG)).to_be_visible()
    expect(page.get_by_role("note")).to_contain_text(
        "Read-only: you are reading this review under break-glass access."
    )
    expect(page.get_by_role("button", name="Complete review")).to_have_count(0)
    assert axe_violations(page) == []
