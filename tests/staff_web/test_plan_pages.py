"""The care-plan editor in the workspace: draft from the latest intake, each activity with its
rule, rationale and evidence; reword, remove and add activities, set goal targets and due dates;
publish (refused with the reason while a red flag is unreviewed); discard; compare versions.
Clinicians on the care team change plans; coordinators and break-glass read them; schedulers and
other teams get 404; patients and admins are refused the workspace."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from carecore.accounts import services as account_services
from carecore.accounts.models import Clinician, Patient, User
from carecore.audit.models import AuditEvent
from careplans import services as careplans
from careplans.models import CarePlan
from intake import services as intake_services
from intake.models import IntakeReview, QuestionnaireResponse
from messaging import services as messaging
from tests.intake.helpers import healthy_intake, poem

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("questionnaires")]

RED_FLAG_REASON = escape("A clinician must review the intake's red flags before publishing.")


def intake_done(patient: Patient, **overrides: Any) -> IntakeReview:
    """A moderate POEM and a gut-skin intake that fires a few rules (low fibre and water);
    the intake's review."""
    intake_services.response_create(
        user=patient.user, slug="poem", answers=poem(2, 2, 2, 2, 2, 2, 2), status="completed"
    )
    answers = healthy_intake(**{"fibre-servings-daily": 1, "water-glasses-daily": 3, **overrides})
    response = intake_services.response_create(
        user=patient.user, slug="gut-skin-intake", answers=answers, status="completed"
    )
    return IntakeReview.objects.get(response_id=response.id)


def page_url(patient: Patient) -> str:
    return f"/staff/patients/{patient.id}/care-plan/"


def edit_url(plan: CarePlan) -> str:
    return f"/staff/care-plans/{plan.id}/edit/"


def drafted(patient: Patient, clinician: Clinician) -> CarePlan:
    return careplans.care_plan_draft(user=clinician.user, patient_id=patient.id)


def editor_data(plan: CarePlan, action: str = "save", **overrides: Any) -> dict[str, Any]:
    """What the editor's form posts for `plan` as it is, with `overrides`."""
    goals, activities = list(plan.goals.all()), list(plan.activities.all())
    data: dict[str, Any] = {
        "action": action,
        "saved_at": plan.updated_at.isoformat(),
        "summary": plan.summary,
        "goal-TOTAL_FORMS": len(goals),
        "goal-INITIAL_FORMS": len(goals),
        "activity-TOTAL_FORMS": len(activities),
        "activity-INITIAL_FORMS": len(activities),
        "new-category": "custom",
        "new-title": "",
        "new-instructions": "",
        "new-rationale": "",
    }
    for n, goal in enumerate(goals):
        data |= {
            f"goal-{n}-id": goal.id,
            f"goal-{n}-title": goal.title,
            f"goal-{n}-target_change": goal.target_change,
            f"goal-{n}-due_date": goal.due_date.isoformat() if goal.due_date else "",
            f"goal-{n}-repeat_every_weeks": goal.repeat_every_weeks or "",
        }
    for n, activity in enumerate(activities):
        data |= {
            f"activity-{n}-id": activity.id,
            f"activity-{n}-title": activity.title,
            f"activity-{n}-instructions": activity.instructions,
        }
    return data | overrides


def index_of(plan: CarePlan, code: str) -> int:
    return [activity.code for activity in plan.activities.all()].index(code)


# --- a clinician on the care team -------------------------------------------------------------


def test_a_clinician_drafts_from_the_latest_intake_and_sees_each_rule(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    intake_done(patient)
    client = staff_web_for(clinician.user)
    page = client.get(page_url(patient)).content.decode()
    assert "Draft a plan from the latest intake" in page
    assert "No plan published yet" in page

    response = client.post(page_url(patient))

    assert response.status_code == 302
    assert response["Location"] == page_url(patient) + "#editor-title"
    plan = CarePlan.objects.get(patient=patient)
    assert plan.status == "draft"
    page = client.get(response["Location"]).content.decode()
    assert f"Plan {plan.number} drafted from the latest intake" in page
    assert "Draft plan 1" in page
    assert "Save draft" in page and "Publish plan" in page
    fiber = plan.activities.get(code="fiber")
    assert f"<code>fiber</code>, version {fiber.rule_version}" in page  # the rule that produced it
    assert fiber.rationale in page
    assert "fibre-rich foods: 1 serving a day" in page  # the answer that fired it


def test_drafting_without_an_intake_says_why(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    client = staff_web_for(clinician.user)
    assert "No completed gut-skin intake yet" in client.get(page_url(patient)).content.decode()

    response = client.post(page_url(patient))

    assert response.status_code == 409
    assert "has not completed the gut-skin intake yet" in response.content.decode()
    assert not CarePlan.objects.filter(patient=patient).exists()


def test_a_clinician_rewords_removes_and_adds_activities_and_sets_goal_targets(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    intake_done(patient)
    plan = drafted(patient, clinician)
    fiber, hydration = index_of(plan, "fiber"), index_of(plan, "hydration")
    due = timezone.localdate() + timedelta(weeks=10)
    data = editor_data(
        plan,
        summary="Start with fibre and water.",
        **{
            f"activity-{fiber}-title": "Two more servings of fibre a day",
            f"activity-{hydration}-remove": "on",
            "goal-0-target_change": "6",
            "goal-0-due_date": due.isoformat(),
            "goal-0-repeat_every_weeks": "3",
            "new-category": "sleep",
            "new-title": "Wind down before bed",
            "new-instructions": "No screens in the last hour before sleep.",
        },
    )

    response = staff_web_for(clinician.user).post(edit_url(plan), data)

    assert response.status_code == 302, response.content.decode()
    plan.refresh_from_db()
    assert plan.summary == "Start with fibre and water."
    activities = {activity.code: activity for activity in plan.activities.all()}
    assert "hydration" not in activities
    assert activities["fiber"].title == "Two more servings of fibre a day"
    assert activities["fiber"].evidence == ["fibre-rich foods: 1 serving a day"]  # kept
    added = activities["custom"]
    assert (added.category, added.title, added.position) == (
        "sleep",
        "Wind down before bed",
        len(activities) - 1,
    )
    goal = plan.goals.get()
    assert (goal.target_change, goal.due_date, goal.repeat_every_weeks) == (6, due, 3)


def test_validation_errors_are_shown_by_field_and_nothing_is_saved(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    intake_done(patient)
    plan = drafted(patient, clinician)
    before = list(plan.activities.values_list("title", flat=True))
    data = editor_data(
        plan,
        action="add",
        **{
            "activity-0-title": "",
            "goal-0-target_change": "-1",
            "goal-0-due_date": "2020-01-01",
            "new-title": "",
        },
    )

    response = staff_web_for(clinician.user).post(edit_url(plan), data)

    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page
    assert '<a href="#id_activity-0-title">Activity 1, Title: This field is required.</a>' in page
    assert 'id="id_goal-0-target_change_error"' in page
    assert "Goal 1, Lower the score by at least: Ensure this value is greater than" in page
    assert '<a href="#id_goal-0-due_date">Goal 1, Due date: Choose today or a later date.' in page
    assert '<a href="#id_new-title">New activity, Title: Enter a title.</a>' in page
    assert 'aria-invalid="true"' in page
    assert list(plan.activities.values_list("title", flat=True)) == before


def test_publishing_is_refused_with_the_reason_until_the_red_flag_is_reviewed(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    review = intake_done(patient, **{"rf-rectal-bleeding": True})
    plan = drafted(patient, clinician)
    client = staff_web_for(clinician.user)
    assert "Publishing is blocked" in client.get(page_url(patient)).content.decode()

    refused = client.post(edit_url(plan), editor_data(plan, "publish", summary="Reworded."))

    assert refused.status_code == 409
    assert RED_FLAG_REASON in refused.content.decode()
    assert f"/staff/reviews/{review.id}/" in refused.content.decode()
    plan.refresh_from_db()
    assert (plan.status, plan.summary) == ("draft", "Reworded.")  # the edits are kept

    intake_services.review_complete(user=clinician.user, review_id=review.id, note="Seen.")
    allowed = client.post(edit_url(plan), editor_data(plan, "publish"))

    assert allowed.status_code == 302
    plan.refresh_from_db()
    assert plan.status == "active"
    page = client.get(page_url(patient)).content.decode()
    assert "Plan 1 published. The patient can see it now." in page
    assert "This is the plan the patient sees." in page
    assert "Draft a new version from the latest intake" in page


def test_an_editor_opened_before_a_colleagues_save_does_not_undo_it(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    intake_done(patient)
    plan = drafted(patient, clinician)
    client = staff_web_for(clinician.user)
    page = client.get(page_url(patient)).content.decode()
    assert f'name="saved_at" value="{plan.updated_at.isoformat()}"' in page
    stale = editor_data(plan, summary="Mine.")
    careplans.care_plan_edit(
        user=clinician.user,
        plan_id=plan.id,
        activities=[
            *({"id": a.id} for a in plan.activities.all()),
            {"title": "Their new activity", "instructions": "Added in the meantime."},
        ],
    )

    response = client.post(edit_url(plan), stale)

    assert response.status_code == 409
    assert "Someone saved this draft after you opened it" in response.content.decode()
    assert "Their new activity" in response.content.decode()
    plan.refresh_from_db()
    assert plan.summary == ""
    assert plan.activities.filter(title="Their new activity").exists()


def test_a_published_plan_is_not_edited(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    intake_done(patient)
    plan = drafted(patient, clinician)
    data = editor_data(plan)
    careplans.care_plan_publish(user=clinician.user, plan_id=plan.id)

    response = staff_web_for(clinician.user).post(edit_url(plan), data | {"summary": "Later."})

    assert response.status_code == 409
    assert "Only a draft plan can be changed" in response.content.decode()
    plan.refresh_from_db()
    assert plan.summary == ""


def test_discarding_asks_first_then_deletes_the_draft(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    intake_done(patient)
    plan = drafted(patient, clinician)
    client = staff_web_for(clinician.user)
    url = f"/staff/care-plans/{plan.id}/discard/"

    assert "Discard draft plan 1?" in client.get(url).content.decode()
    assert CarePlan.objects.filter(pk=plan.pk).exists()
    response = client.post(url)

    assert response.status_code == 302
    assert not CarePlan.objects.filter(pk=plan.pk).exists()
    assert "Draft plan 1 discarded." in client.get(page_url(patient)).content.decode()


def test_two_versions_are_compared_by_title(
    patient: Patient,
    other_patient: Patient,
    clinician: Clinician,
    other_clinician: Clinician,
    staff_web_for: Callable[[User], Client],
) -> None:
    intake_done(patient)
    first = drafted(patient, clinician)
    careplans.care_plan_publish(user=clinician.user, plan_id=first.id)
    second = drafted(patient, clinician)
    fiber, hydration = index_of(second, "fiber"), index_of(second, "hydration")
    client = staff_web_for(clinician.user)
    data = editor_data(
        second,
        **{
            f"activity-{fiber}-title": "More fibre, slowly",
            f"activity-{hydration}-remove": "on",
            "new-title": "Moisturise twice a day",
            "new-instructions": "After bathing.",
        },
    )
    assert client.post(edit_url(second), data).status_code == 302
    hydration_title = first.activities.get(code="hydration").title

    page = client.get(f"/staff/patients/{patient.id}/care-plan/compare/").content.decode()

    assert "Plan 1 (active) → Plan 2 (draft)" in page  # by default, the newest two
    assert "<ins>Moisturise twice a day</ins>" in page
    assert f"<del>{hydration_title}</del>" in page
    assert "More fibre, slowly</ins>" in page

    intake_done(other_patient)
    theirs = drafted(other_patient, other_clinician)
    refused = client.get(
        f"/staff/patients/{patient.id}/care-plan/compare/?older={theirs.id}&newer={second.id}"
    )
    assert refused.status_code == 200
    assert "Select a valid choice." in refused.content.decode()
    assert "<ins>" not in refused.content.decode()


def test_a_version_links_to_its_comparison_with_the_plan_it_replaced(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    intake_done(patient)
    first = drafted(patient, clinician)
    careplans.care_plan_publish(user=clinician.user, plan_id=first.id)
    second = drafted(patient, clinician)
    careplans.care_plan_publish(user=clinician.user, plan_id=second.id)
    client = staff_web_for(clinician.user)

    page = client.get(f"/staff/care-plans/{second.id}/").content.decode()
    compare = (
        f"/staff/patients/{patient.id}/care-plan/compare/?older={first.id}&amp;newer={second.id}"
    )
    assert f'<a href="{compare}">Compare with the plan it replaced</a>' in page

    compared = client.get(compare.replace("&amp;", "&")).content.decode()
    assert "Plan 1 (superseded) → Plan 2 (active)" in compared
    assert compared.count("Unchanged.") == 3  # the same intake drafts the same plan


def test_one_version_at_a_time_is_shown_read_only(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    intake_done(patient)
    plan = drafted(patient, clinician)
    careplans.care_plan_publish(user=clinician.user, plan_id=plan.id)

    page = staff_web_for(clinician.user).get(f"/staff/care-plans/{plan.id}/").content.decode()

    assert "Plan 1 (active)" in page
    assert "<code>fiber</code>" in page
    assert "Save draft" not in page


def test_the_thread_and_the_review_link_to_the_care_plan(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    review = intake_done(patient)
    thread = messaging.thread_open(
        actor=patient.user, subject="Plan?", category="clinical", body="When is my plan ready?"
    ).thread
    client = staff_web_for(clinician.user)
    link = f'<a href="{page_url(patient)}">Care plan</a>'

    assert link in client.get(f"/staff/threads/{thread.id}/").content.decode()
    assert link in client.get(f"/staff/reviews/{review.id}/").content.decode()


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_query_count_does_not_grow_with_the_versions(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    intake_done(patient)
    client = staff_web_for(clinician.user)
    plan = drafted(patient, clinician)
    careplans.care_plan_publish(user=clinician.user, plan_id=plan.id)
    drafted(patient, clinician)
    client.get(page_url(patient))  # warm: session refresh
    two = _queries(client, page_url(patient))

    for _ in range(4):
        careplans.care_plan_publish(
            user=clinician.user,
            plan_id=CarePlan.objects.get(patient=patient, status="draft").id,
        )
        drafted(patient, clinician)
    six = _queries(client, page_url(patient))

    # Session and user; the patient + its audit event; the versions + one INSERT auditing them;
    # the draft and the active plan (each: the plan, its audit event, goals, activities);
    # whether the caller may change plans; the open red flags (their LIST event is written only
    # when there are some: none here, so it adds no query). The latest intake is read (and
    # audited) only when no draft is open, its date above the "Draft a plan" button: not here.
    assert six == two == 16


def test_reading_the_plans_is_audited(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    intake_done(patient)
    plan = drafted(patient, clinician)

    staff_web_for(clinician.user).get(page_url(patient))

    assert AuditEvent.objects.filter(
        actor_id=clinician.user.id, object_type="care_plan", object_id=str(plan.id), action="read"
    ).exists()


def test_the_intake_date_above_the_draft_button_is_audited(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    intake_done(patient)
    intake = QuestionnaireResponse.objects.get(
        patient=patient, version__questionnaire__slug="gut-skin-intake"
    )

    page = staff_web_for(clinician.user).get(page_url(patient)).content.decode()

    assert "drafts goals and activities from the gut-skin intake completed" in page
    # The latest intake shown, audited as the chart audits it: one LIST event naming it.
    events = AuditEvent.objects.filter(
        actor_id=clinician.user.id, object_type="questionnaire_response", action="list"
    )
    assert [(event.patient_id, event.object_id, event.detail) for event in events] == [
        (patient.id, "", {"object_ids": [str(intake.id)]})
    ]


def test_the_intake_is_not_read_when_its_date_is_not_shown(
    patient: Patient,
    clinician: Clinician,
    coordinator: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    intake_done(patient)
    staff_web_for(coordinator).get(page_url(patient))  # no draft button for a coordinator
    drafted(patient, clinician)
    staff_web_for(clinician.user).get(page_url(patient))  # a draft open: the editor instead

    assert not AuditEvent.objects.filter(
        object_type="questionnaire_response", action="list"
    ).exists()


# --- everyone else -----------------------------------------------------------------------------


def test_the_headers_open_red_flags_are_audited_in_one_event_naming_each(
    patient: Patient,
    other_patient: Patient,
    clinician: Clinician,
    coordinator: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    first = intake_done(patient, **{"rf-rectal-bleeding": True})
    second = intake_done(patient, **{"rf-rectal-bleeding": True})
    intake_done(other_patient, **{"rf-rectal-bleeding": True})  # another patient's: not shown

    page = staff_web_for(coordinator).get(page_url(patient)).content.decode()

    assert f"/staff/reviews/{first.id}/" in page and f"/staff/reviews/{second.id}/" in page
    # One LIST event for the one patient in the header, naming both reviews in the order shown.
    events = AuditEvent.objects.filter(
        actor_id=coordinator.id, object_type="intake_review", action="list"
    )
    assert [(event.patient_id, event.object_id, event.detail) for event in events] == [
        (patient.id, "", {"object_ids": [str(first.id), str(second.id)]})
    ]


def test_a_coordinator_reads_the_draft_without_controls_and_a_forced_post_is_refused(
    patient: Patient,
    clinician: Clinician,
    coordinator: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    intake_done(patient)
    plan = drafted(patient, clinician)
    client = staff_web_for(coordinator)

    page = client.get(page_url(patient)).content.decode()

    assert "Draft plan 1" in page and "<code>fiber</code>" in page
    for control in ("Save draft", "Publish plan", "Discard this draft", "Add activity"):
        assert control not in page
    forced = [
        client.post(edit_url(plan), editor_data(plan, "publish", summary="Sneaky.")),
        client.post(f"/staff/care-plans/{plan.id}/discard/"),
        client.get(f"/staff/care-plans/{plan.id}/discard/"),
        client.post(page_url(patient)),
    ]
    assert [response.status_code for response in forced] == [403, 403, 403, 403]
    assert "Only the patient's clinicians change care plans" in forced[0].content.decode()
    plan.refresh_from_db()
    assert (plan.status, plan.summary) == ("draft", "")
    assert CarePlan.objects.filter(patient=patient).count() == 1


def test_break_glass_reads_the_plans_but_changes_nothing(
    patient: Patient,
    clinician: Clinician,
    other_clinician: Clinician,
    staff_web_for: Callable[[User], Client],
) -> None:
    intake_done(patient)
    plan = drafted(patient, clinician)
    account_services.break_glass_open(
        user=other_clinician.user,
        patient_id=patient.id,
        reason="Covering the on-call clinician for this patient tonight.",
    )
    client = staff_web_for(other_clinician.user)

    page = client.get(page_url(patient))

    assert page.status_code == 200
    assert "Save draft" not in page.content.decode()
    assert client.post(edit_url(plan), editor_data(plan, "publish")).status_code == 403
    plan.refresh_from_db()
    assert plan.status == "draft"


def test_another_teams_patient_is_a_404(
    patient: Patient,
    other_patient: Patient,
    clinician: Clinician,
    other_clinician: Clinician,
    staff_web_for: Callable[[User], Client],
) -> None:
    intake_done(other_patient)
    theirs = drafted(other_patient, other_clinician)
    client = staff_web_for(clinician.user)

    answers = [
        client.get(page_url(other_patient)),
        client.post(page_url(other_patient)),
        client.get(f"/staff/patients/{other_patient.id}/care-plan/compare/"),
        client.get(f"/staff/care-plans/{theirs.id}/"),
        client.post(edit_url(theirs), editor_data(theirs, "publish")),
        client.get(f"/staff/care-plans/{theirs.id}/discard/"),
        client.post(f"/staff/care-plans/{theirs.id}/discard/"),
    ]

    assert [response.status_code for response in answers] == [404] * len(answers)
    theirs.refresh_from_db()
    assert theirs.status == "draft"
    assert AuditEvent.objects.filter(
        actor_id=clinician.user.id, object_id=str(theirs.id), outcome="denied"
    ).exists()


def test_a_scheduler_never_sees_a_plan(
    patient: Patient,
    clinician: Clinician,
    scheduler: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    intake_done(patient)
    plan = drafted(patient, clinician)
    client = staff_web_for(scheduler)

    answers = [
        client.get(page_url(patient)),
        client.post(page_url(patient)),
        client.get(f"/staff/patients/{patient.id}/care-plan/compare/"),
        client.get(f"/staff/care-plans/{plan.id}/"),
        client.post(edit_url(plan), editor_data(plan, "publish")),
        client.post(f"/staff/care-plans/{plan.id}/discard/"),
    ]

    assert [response.status_code for response in answers] == [404] * len(answers)
    assert plan.activities.get(code="fiber").title not in answers[0].content.decode()
    plan.refresh_from_db()
    assert plan.status == "draft"


@pytest.mark.parametrize("role", ["patient", "admin"])
def test_patients_and_admins_are_refused_the_editor(
    role: str, actors: dict[str, User], staff_web_for: Callable[[User], Client]
) -> None:
    patient_id = actors["patient"].patient.id

    response = staff_web_for(actors[role]).get(f"/staff/patients/{patient_id}/care-plan/")

    assert response.status_code == 403


def test_the_due_date_today_is_accepted(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    intake_done(patient)
    plan = drafted(patient, clinician)
    today: date = timezone.localdate()

    response = staff_web_for(clinician.user).post(
        edit_url(plan), editor_data(plan, **{"goal-0-due_date": today.isoformat()})
    )

    assert response.status_code == 302
    assert plan.goals.get().due_date == today
