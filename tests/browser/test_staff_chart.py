"""The patient chart in a real browser: a clinician opens it from the patient's name in the
inbox and sees the scores as a chart (Chart.js drawn from our own origin, bands and the goal)
and as a table, the plan and the thread. No request leaves 127.0.0.1 (PageGuard); axe finds no
serious or critical violation."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from carecore.accounts.models import Clinician, Patient
from intake import services as intake
from messaging import services as messaging
from tests.careplans.helpers import plan_published_after_intake
from tests.intake.helpers import poem

from .conftest import axe_violations
from .test_staff_workspace import staff_sign_in

pytestmark = pytest.mark.browser


def test_a_clinician_opens_the_chart_from_the_inbox(
    page: Page, live_server: Any, patient: Patient, clinician: Clinician
) -> None:
    plan_published_after_intake(patient, clinician)
    intake.response_create(
        user=patient.user, slug="poem", answers=poem(1, 2, 1, 2, 1, 2, 1), status="completed"
    )
    messaging.thread_open(
        actor=patient.user, subject="Flare on my arms", category="clinical", body="Itchy again."
    )
    page.set_viewport_size({"width": 1440, "height": 900})

    staff_sign_in(page, live_server.url, clinician.user.email)
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    page.get_by_role("row").nth(1).get_by_role("link", name=patient.user.full_name).click()

    expect(page.get_by_role("heading", name=patient.user.full_name, level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="About the patient")).to_be_visible()
    expect(page.get_by_role("heading", name="Scores over time")).to_be_visible()
    poem_section = page.get_by_role("region", name="Patient-Oriented Eczema Measure (POEM)")
    chart = poem_section.get_by_role("img", name="Chart of Patient-Oriented Eczema Measure")
    expect(chart).to_be_visible()
    # Chart.js (vendored, same origin, a deferred script) drew it: the canvas gets a chart.
    page.wait_for_function(
        "() => Boolean(window.Chart && Chart.getChart(document.querySelector('canvas')))"
    )
    table = poem_section.get_by_role("table")
    expect(table.get_by_role("cell", name="14", exact=True)).to_be_visible()
    expect(table.get_by_role("cell", name="10", exact=True)).to_be_visible()
    expect(poem_section.get_by_text("The dashed line is the goal.")).to_be_visible()
    expect(page.get_by_role("heading", name="Version 1")).to_be_visible()
    expect(page.get_by_role("link", name="Flare on my arms")).to_have_attribute(
        "href", re.compile(r"^/staff/threads/[0-9a-f-]{36}/$")
    )
    assert axe_violations(page) == []  # the screenshot saved at the end is this page
