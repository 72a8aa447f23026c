"""The care-plan editor in a real browser: the clinician opens a red-flag intake from the review
queue, drafts a plan from it, rewords, removes and adds activities and sets the goal's target and
due date; publishing is refused with the reason until the review is completed, then allowed; the
patient sees the published plan on the portal's care-plan page. Then versions: a second draft is
compared with the published plan and discarded. axe on every page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from carecore.accounts.models import Clinician, Patient
from careplans import services as careplans
from careplans.models import CarePlan
from intake import services as intake_services
from tests.intake.helpers import healthy_intake, poem

from .conftest import axe_violations
from .test_patient_sign_in import sign_in as patient_sign_in
from .test_staff_workspace import staff_sign_in

pytestmark = pytest.mark.browser

RED_FLAG_REASON = "A clinician must review the intake's red flags before publishing."


def complete_intake(patient: Patient, **overrides: Any) -> None:
    """A moderate POEM and a gut-skin intake with low fibre and water (rules fire)."""
    intake_services.response_create(
        user=patient.user, slug="poem", answers=poem(2, 2, 2, 2, 2, 2, 2), status="completed"
    )
    intake_services.response_create(
        user=patient.user,
        slug="gut-skin-intake",
        answers=healthy_intake(
            **{"fibre-servings-daily": 1, "water-glasses-daily": 3, **overrides}
        ),
        status="completed",
    )


def activity_title(patient: Patient, code: str) -> str:
    plan = CarePlan.objects.get(patient=patient, status="draft")
    return plan.activities.get(code=code).title


def test_a_clinician_drafts_edits_and_publishes_after_reviewing_the_red_flag(
    page: Page, live_server: Any, patient: Patient, clinician: Clinician, questionnaires: None
) -> None:
    complete_intake(patient, **{"rf-rectal-bleeding": True})
    page.set_viewport_size({"width": 1440, "height": 900})
    staff_sign_in(page, live_server.url, clinician.user.email)

    # The red-flag intake, from the review queue.
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Reviews").click()
    page.get_by_role("link", name="Gut-skin intake").first.click()
    expect(page.get_by_text("Rectal bleeding", exact=False).first).to_be_visible()
    page.get_by_role("link", name="Care plan").click()

    expect(page.get_by_role("heading", name=f"Care plan: {patient.user.full_name}")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Draft a plan from the latest intake").click()
    expect(page.get_by_role("heading", name="Draft plan 1")).to_be_visible()
    expect(page.get_by_text("Publishing is blocked")).to_be_visible()
    assert axe_violations(page) == []

    # Each activity with its rule, rationale and evidence; reword one, remove one, add one.
    fiber = page.get_by_role("group", name=activity_title(patient, "fiber"))
    expect(fiber.get_by_text("fibre-rich foods: 1 serving a day")).to_be_visible()
    expect(fiber.get_by_text("Suggested because", exact=False)).to_be_visible()
    fiber.get_by_label("Title").fill("Two more servings of fibre a day")
    hydration_title = activity_title(patient, "hydration")
    page.get_by_role("group", name=hydration_title).get_by_label("Remove this activity").check()
    goal = page.get_by_role("group", name="Goal 1", exact=False)
    goal.get_by_label("Lower the score by at least").fill("6")
    due = timezone.localdate() + timedelta(weeks=10)
    goal.get_by_label("Due date").fill(due.isoformat())
    new = page.get_by_role("group", name="Add an activity")
    new.get_by_label("Category").select_option(label="Sleep")
    new.get_by_label("Title").fill("Wind down before bed")
    new.get_by_label("Instructions for the patient").fill("No screens in the hour before sleep.")
    page.get_by_role("button", name="Save draft").click()

    expect(page.get_by_text("Draft saved.")).to_be_visible()
    expect(page.get_by_role("group", name="Two more servings of fibre a day")).to_be_visible()
    expect(page.get_by_role("group", name=hydration_title)).to_have_count(0)
    expect(page.get_by_role("group", name="Wind down before bed")).to_contain_text(
        "Added by the care team"
    )
    assert axe_violations(page) == []

    # Refused with the reason while the red flag is unreviewed.
    page.get_by_role("button", name="Publish plan").click()
    expect(page.get_by_role("alert")).to_contain_text(RED_FLAG_REASON)
    expect(page.get_by_role("heading", name="Draft plan 1")).to_be_visible()
    assert axe_violations(page) == []

    # The review, from the open red flag in the patient header; then publishing goes through.
    page.get_by_role("link", name="intake of", exact=False).click()
    page.get_by_label("Note (optional)").fill("Rectal bleeding: referred, colonoscopy booked.")
    page.get_by_role("button", name="Complete review").click()
    expect(page.get_by_role("button", name="Complete review")).to_have_count(0)
    page.get_by_role("link", name="Care plan").click()
    expect(page.get_by_text("Publishing is blocked")).to_have_count(0)
    page.get_by_role("button", name="Publish plan").click()

    expect(page.get_by_text("Plan 1 published. The patient can see it now.")).to_be_visible()
    expect(page.get_by_text("This is the plan the patient sees.")).to_be_visible()
    assert axe_violations(page) == []

    patient_page = page.context.new_page()
    patient_page.context.clear_cookies()
    patient_sign_in(patient_page, live_server.url, patient.user.email)
    patient_page.goto(f"{live_server.url}/care-plan/")
    expect(
        patient_page.get_by_role("heading", name="Two more servings of fibre a day")
    ).to_be_visible()
    expect(patient_page.get_by_role("heading", name="Wind down before bed")).to_be_visible()
    expect(patient_page.get_by_role("heading", name=hydration_title)).to_have_count(0)
    expect(patient_page.get_by_text(due.strftime("%-d %B %Y"))).to_be_visible()


def test_a_second_version_is_compared_and_discarded(
    page: Page, live_server: Any, patient: Patient, clinician: Clinician, questionnaires: None
) -> None:
    complete_intake(patient)
    first = careplans.care_plan_draft(user=clinician.user, patient_id=patient.id)
    careplans.care_plan_publish(user=clinician.user, plan_id=first.id)
    page.set_viewport_size({"width": 1440, "height": 900})
    staff_sign_in(page, live_server.url, clinician.user.email)
    page.goto(f"{live_server.url}/staff/patients/{patient.id}/care-plan/")

    page.get_by_role("button", name="Draft a new version from the latest intake").click()
    expect(page.get_by_role("heading", name="Draft plan 2")).to_be_visible()
    page.get_by_role("group", name="Add an activity").get_by_label("Title").fill("Moisturise")
    page.get_by_role("group", name="Add an activity").get_by_label(
        "Instructions for the patient"
    ).fill("Twice a day, after bathing.")
    page.get_by_role("button", name="Add activity").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()

    page.get_by_role("button", name="Compare versions").click()
    expect(page.get_by_role("heading", name="Plan 1 (active) → Plan 2 (draft)")).to_be_visible()
    expect(page.get_by_role("region", name="Activities").get_by_text("Moisturise")).to_be_visible()
    assert axe_violations(page) == []

    page.get_by_role("link", name="Back to the care plan").click()
    page.get_by_role("link", name="Plan 1").click()
    expect(page.get_by_role("heading", name="Plan 1 (active)", exact=False)).to_be_visible()
    assert axe_violations(page) == []

    page.go_back()
    page.get_by_role("link", name="Discard this draft").click()
    expect(page.get_by_role("heading", name="Discard draft plan 2?")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Discard draft").click()

    expect(page.get_by_text("Draft plan 2 discarded.")).to_be_visible()
    expect(page.get_by_role("heading", name="Draft plan 2")).to_have_count(0)
    assert list(CarePlan.objects.filter(patient=patient).values_list("number", "status")) == [
        (1, "active")
    ]
