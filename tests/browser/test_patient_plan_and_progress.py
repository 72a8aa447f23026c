"""The published care plan and the progress chart in a real browser: Chart.js (vendored) draws
under the strict CSP, the table carries the same scores; axe-clean."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from carecore.accounts.models import Clinician, Patient
from careplans import services as careplans
from intake import services as intake
from tests.intake.helpers import healthy_intake, poem

from .conftest import axe_violations
from .test_patient_sign_in import sign_in

pytestmark = pytest.mark.browser


def test_it_shows_the_published_plan_and_the_progress_chart(
    page: Page, live_server: Any, patient: Patient, clinician: Clinician
) -> None:
    call_command("sync_questionnaires", verbosity=0)
    for values in [(3, 3, 3, 3, 3, 3, 3), (2, 2, 2, 2, 2, 2, 2)]:
        intake.response_create(
            user=patient.user, slug="poem", answers=poem(*values), status="completed"
        )
    intake.response_create(
        user=patient.user, slug="gut-skin-intake", answers=healthy_intake(), status="completed"
    )
    draft = careplans.care_plan_draft(user=clinician.user, patient_id=patient.id)
    plan = careplans.care_plan_publish(user=clinician.user, plan_id=draft.id)
    sign_in(page, live_server.url, patient.user.email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Care plan").click()
    expect(page.get_by_role("heading", name="Your care plan")).to_be_visible()
    goals = page.get_by_role("region", name="Goals")
    expect(goals.get_by_role("heading", name=plan.goals.get().title)).to_be_visible()
    assert axe_violations(page) == []

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Progress").click()
    chart = page.get_by_role("img", name="Chart of your")
    expect(chart.first).to_be_visible()
    page.wait_for_function(
        "() => window.Chart && window.Chart.getChart(document.querySelector('canvas'))"
    )
    points = page.evaluate(
        "() => window.Chart.getChart(document.querySelector('canvas')).data.datasets[0].data"
    )
    assert points == [21, 14]
    table = page.get_by_role("table", name="scores").first
    expect(table.get_by_role("cell", name="21", exact=True)).to_be_visible()
    expect(table.get_by_role("cell", name="14", exact=True)).to_be_visible()
    assert axe_violations(page) == []
