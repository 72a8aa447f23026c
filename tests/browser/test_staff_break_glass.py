"""A break-glass grant in a real browser: the patient's lead clinician opens the page their
notice links to, reads who opened emergency access, until when and why, and follows the
patient's name to the chart. No request leaves 127.0.0.1 and the CSP holds (PageGuard); axe
finds no serious or critical violation."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from carecore.accounts import services as account_services
from carecore.accounts.models import Clinician, Patient

from .conftest import axe_violations
from .test_staff_workspace import staff_sign_in

pytestmark = pytest.mark.browser

REASON = "Patient called the on-call line at night, their care team was unreachable."


def test_the_lead_clinician_reads_the_grant_and_opens_the_chart(
    page: Page,
    live_server: Any,
    patient: Patient,
    clinician: Clinician,
    other_clinician: Clinician,
) -> None:
    grant = account_services.break_glass_open(
        user=other_clinician.user, patient_id=patient.id, reason=REASON
    )

    staff_sign_in(page, live_server.url, clinician.user.email)
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    page.goto(f"{live_server.url}/staff/break-glass/{grant.id}/")

    expect(
        page.get_by_role("heading", name="Break-glass access to a patient's record", level=1)
    ).to_be_visible()
    grant_card = page.get_by_role("region", name="The grant")
    expect(grant_card.get_by_text(f"{other_clinician.user.full_name} (clinician)")).to_be_visible()
    expect(grant_card.get_by_text("(still open)")).to_be_visible()
    expect(page.get_by_role("region", name="Reason given").get_by_text(REASON)).to_be_visible()
    assert axe_violations(page) == []

    grant_card.get_by_role("link", name=patient.user.full_name).click()

    expect(page.get_by_role("heading", name=patient.user.full_name, level=1)).to_be_visible()
