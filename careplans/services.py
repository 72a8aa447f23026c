"""Care-plan services: draft from the latest intake, edit the draft, publish, supersede, diff,
and the follow-up check-ins that goals schedule.

Drafts belong to the care team; only publishing shows a plan to the patient. Publishing is
refused while any intake review of the patient with a red flag is pending. Published plans and
their contents never change (the database enforces it with triggers).

Intake's data is read through intake's selectors; intake tells this app that a response was
completed through its `response_completed` hook (careplans/receivers.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from carecore.accounts.access import Purpose, access_patient
from carecore.accounts.models import Patient, Role, User
from carecore.audit.models import Action
from carecore.audit.services import audit_record
from carecore.common.errors import Conflict, Forbidden, ValidationFailed
from carecore.notifications import links
from carecore.notifications.models import Event
from carecore.notifications.services import notify
from carecore.realtime.services import EventType, NewEvent, event_publish_for_patient
from intake.selectors import (
    INTAKE_SLUG,
    latest_completed_response,
    patient_has_unreviewed_red_flag,
)

from .access import access_care_plan
from .models import CarePlan, CarePlanActivity, CarePlanGoal, CarePlanStatus, CheckIn
from .rules import Activity, Category, draft_activities, facts_from_intake

if TYPE_CHECKING:
    from intake.models import QuestionnaireResponse

SCORED_INSTRUMENTS = ("poem", "dlqi", "gsrs", "ibs-sss", "isi", "pss-10", "pss-4")


class NoCompletedIntake(Conflict):
    code = "intake_missing"
    default_message = "The patient has not completed the gut-skin intake yet."


class DraftExists(Conflict):
    code = "draft_exists"
    default_message = "This patient already has a draft plan; edit or publish it first."


class UnreviewedRedFlag(Conflict):
    code = "unreviewed_red_flag"
    default_message = "A clinician must review the intake's red flags before publishing."


class DraftChanged(Conflict):
    code = "draft_changed"
    default_message = (
        "Someone saved this draft after you opened it, so your changes were not saved. "
        "Here it is as they left it."
    )


class NotADraft(Conflict):
    code = "plan_not_draft"
    default_message = "Only a draft plan can be changed, published or discarded."


def _require_clinician(user: User) -> None:
    if user.role != Role.CLINICIAN:
        raise Forbidden("Only clinicians draft, edit and publish care plans.")


# --- drafting -------------------------------------------------------------------------------


def _add_activity(plan: CarePlan, position: int, activity: Activity) -> None:
    CarePlanActivity.objects.create(
        plan=plan,
        position=position,
        code=activity.code,
        rule_version=activity.rule_version,
        category=activity.category,
        title=activity.title,
        instructions=activity.instructions,
        rationale=activity.rationale,
        evidence=list(activity.evidence),
    )


def _add_goal(plan: CarePlan, position: int, activity: Activity) -> None:
    goal = activity.goal
    assert goal is not None
    CarePlanGoal.objects.create(
        plan=plan,
        position=position,
        code=activity.code,
        title=activity.title,
        instrument=goal.instrument,
        baseline=goal.baseline,
        target_change=goal.target_change,
        due_date=timezone.localdate() + timedelta(weeks=goal.weeks),
        repeat_every_weeks=goal.repeat_every_weeks,
    )


@transaction.atomic
def care_plan_draft(*, user: User, patient_id: UUID | str) -> CarePlan:
    """Draft a plan from the patient's latest completed intake and latest instrument scores."""
    _require_clinician(user)
    patient = access_patient(
        user=user, patient_id=patient_id, purpose=Purpose.CLINICAL, for_write=True
    )
    # Serialise drafting per patient (the number sequence and the one-draft rule).
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    open_draft = (
        CarePlan.objects.filter(patient=patient, status=CarePlanStatus.DRAFT)
        .values_list("id", flat=True)
        .first()
    )
    if open_draft is not None:
        # Named, so the client can open it, or discard it (DELETE) to draft afresh.
        raise DraftExists(fields={"draft_id": str(open_draft)})
    intake = latest_completed_response(patient_id=patient.id, slug=INTAKE_SLUG)
    if intake is None:
        raise NoCompletedIntake()
    latest = {
        slug: latest_completed_response(patient_id=patient.id, slug=slug)
        for slug in SCORED_INSTRUMENTS
    }
    scores = {slug: r.scores.get(slug, {}) for slug, r in latest.items() if r is not None}
    facts = facts_from_intake(
        intake_answers=intake.answers, scores=scores, red_flags=intake.red_flags
    )
    number = (CarePlan.objects.filter(patient=patient).aggregate(n=Max("number"))["n"] or 0) + 1
    plan = CarePlan.objects.create(
        patient=patient,
        number=number,
        created_by=user,
        summary="",
        source_response_ids=[str(intake.id)] + [str(r.id) for r in latest.values() if r],
    )
    for position, activity in enumerate(draft_activities(facts)):
        _add_activity(plan, position, activity)
        if activity.goal is not None:
            _add_goal(plan, position, activity)
    audit_record(
        actor=user,
        object_type="care_plan",
        object_id=plan.id,
        patient_id=patient.id,
        action=Action.CREATE,
    )
    return plan


# --- editing ------------------------------------------------------------------------------


def _locked_draft(user: User, plan_id: UUID | str, *, published: bool = False) -> CarePlan:
    """The draft `user` changes, locked; its access event is the change's one audit event."""
    plan = access_care_plan(
        user=user,
        plan_id=plan_id,
        for_write=True,
        lock=True,
        detail={"published": True} if published else None,
    )
    _require_clinician(user)  # after access: outsiders get 404 whatever their role
    if plan.status != CarePlanStatus.DRAFT:
        raise NotADraft()
    return plan


def _replace_items(
    plan: CarePlan,
    model: type[CarePlanActivity] | type[CarePlanGoal],
    items: list[dict[str, Any]],
    *,
    field: str,
) -> None:
    """Full-list replace: an item with a known `id` is updated, without `id` is new, and an
    existing item missing from the list is removed. An id that is not one of this draft's
    items is refused under `field` (the input's list), keyed by the item's position."""
    existing = {item.id: item for item in model.objects.filter(plan=plan)}
    unknown = {
        str(position): {"id": [f"Unknown id {item['id']}: not an item of this draft."]}
        for position, item in enumerate(items)
        if item.get("id") and item["id"] not in existing
    }
    if unknown:
        raise ValidationFailed(fields={field: unknown})
    kept = {item["id"] for item in items if item.get("id")}
    model.objects.filter(plan=plan).exclude(id__in=kept).delete()
    for position, fields in enumerate(items):
        values = {key: value for key, value in fields.items() if key != "id"}
        if fields.get("id"):
            # Only the fields sent change; omitted ones keep their value.
            row = existing[fields["id"]]
            for key, value in values.items():
                setattr(row, key, value)
            row.position = position
            row.save()
        else:
            values.setdefault("code", "custom")
            if model is CarePlanActivity:
                values.setdefault("category", Category.CUSTOM)
            model.objects.create(plan=plan, position=position, **values)


@transaction.atomic
def care_plan_edit(
    *,
    user: User,
    plan_id: UUID | str,
    summary: str | None = None,
    goals: list[dict[str, Any]] | None = None,
    activities: list[dict[str, Any]] | None = None,
    expected_updated_at: datetime | None = None,
) -> CarePlan:
    """Edit a draft: summary, and the full new lists of goals and activities.

    `expected_updated_at` (the draft's `updated_at` when the editor was opened) refuses the edit
    with `draft_changed` if the draft was saved since: the lists replace the whole draft, so an
    editor opened before a colleague's save would otherwise silently undo it. Checked under the
    plan's row lock."""
    plan = _locked_draft(user, plan_id)
    if expected_updated_at is not None and plan.updated_at != expected_updated_at:
        raise DraftChanged()
    if summary is not None:
        plan.summary = summary
    if activities is not None:
        _replace_items(plan, CarePlanActivity, activities, field="activities")
    if goals is not None:
        _replace_items(plan, CarePlanGoal, goals, field="goals")
    plan.updated_at = timezone.now()
    plan.save(update_fields=["summary", "updated_at"])
    return plan


@transaction.atomic
def care_plan_discard(*, user: User, plan_id: UUID | str) -> None:
    """Delete a draft with its goals and activities (409 `plan_not_draft` once published)."""
    plan = _locked_draft(user, plan_id)
    audit_record(
        actor=user,
        object_type="care_plan",
        object_id=plan.id,
        patient_id=plan.patient_id,
        action=Action.DELETE,
    )
    plan.delete()


# --- publishing --------------------------------------------------------------------------


def _schedule_check_ins(plan: CarePlan, published_at: Any) -> None:
    """Repeat measures for each goal: every `repeat_every_weeks` until the goal's due date."""
    rows = []
    for goal in plan.goals.all():
        if not goal.repeat_every_weeks or goal.due_date is None:
            continue
        step = timedelta(weeks=goal.repeat_every_weeks)
        due = published_at + step
        while due.date() <= goal.due_date:
            rows.append(
                CheckIn(
                    patient_id=plan.patient_id, goal=goal, instrument=goal.instrument, due_at=due
                )
            )
            due += step
    CheckIn.objects.bulk_create(rows)


def _supersede_active(plan: CarePlan, now: Any) -> CarePlan | None:
    previous = (
        CarePlan.objects.select_for_update()
        .filter(patient_id=plan.patient_id, status=CarePlanStatus.ACTIVE)
        .first()
    )
    if previous is None:
        return None
    previous.status = CarePlanStatus.SUPERSEDED
    previous.superseded_at = now
    previous.save(update_fields=["status", "superseded_at"])
    # The old plan's future check-ins give way to the new plan's.
    CheckIn.objects.filter(
        goal__plan=previous, response__isnull=True, cancelled_at__isnull=True, due_at__gt=now
    ).update(cancelled_at=now)
    return previous


@transaction.atomic
def care_plan_publish(*, user: User, plan_id: UUID | str) -> CarePlan:
    """Make a draft the patient's active plan; refused while an intake red flag is unreviewed."""
    plan = _locked_draft(user, plan_id, published=True)
    if patient_has_unreviewed_red_flag(patient_id=plan.patient_id):
        raise UnreviewedRedFlag()
    now = timezone.now()
    previous = _supersede_active(plan, now)
    plan.status = CarePlanStatus.ACTIVE
    plan.published_at = now
    plan.published_by = user
    plan.supersedes = previous
    plan.updated_at = now
    plan.save(update_fields=["status", "published_at", "published_by", "supersedes", "updated_at"])
    _schedule_check_ins(plan, now)
    event_publish_for_patient(
        patient=plan.patient,
        events=[
            NewEvent(
                EventType.CARE_PLAN_PUBLISHED,
                {
                    "care_plan_id": plan.id,
                    "patient_id": plan.patient_id,
                    "supersedes_id": plan.supersedes_id,
                },
            )
        ],
    )
    notify(
        event=Event.CARE_PLAN_PUBLISHED,
        recipients=[plan.patient.user],
        subject_type="care_plan",
        subject_id=plan.id,
        link_path=links.care_plan_page(),
    )
    return plan


# --- check-ins ---------------------------------------------------------------------------------


def check_in_attach_response(*, response: QuestionnaireResponse) -> CheckIn | None:
    """Link a completed instrument response to the patient's earliest open check-in for it.

    Accepts a response up to two days early, so a patient who answers ahead of the reminder
    still counts. Called inside the response's transaction.
    """
    open_check_in = (
        CheckIn.objects.select_for_update(skip_locked=True)
        .filter(
            patient_id=response.patient_id,
            instrument=response.version.questionnaire.slug,
            response__isnull=True,
            cancelled_at__isnull=True,
            due_at__lte=timezone.now() + timedelta(days=2),
        )
        .order_by("due_at")
        .first()
    )
    if open_check_in is None:
        return None
    open_check_in.response = response
    open_check_in.save(update_fields=["response"])
    return open_check_in


@transaction.atomic
def check_ins_remind(*, now: Any, limit: int = 500) -> int:
    """Remind patients of due check-ins (Celery beat). Each check-in is reminded once: rows are
    claimed with skip_locked, marked in the same transaction as the outbox rows, and the outbox
    key (the check-in id) absorbs any duplicate run."""
    due = list(
        CheckIn.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("patient__user")
        .filter(
            due_at__lte=now,
            reminded_at__isnull=True,
            cancelled_at__isnull=True,
            response__isnull=True,
        )
        .order_by("due_at")[:limit]
    )
    for check_in in due:
        notify(
            event=Event.CHECKIN_DUE,
            recipients=[check_in.patient.user],
            subject_type="check_in",
            subject_id=check_in.id,
            link_path=links.questionnaire_page(check_in.instrument),
        )
    CheckIn.objects.filter(id__in=[c.id for c in due]).update(reminded_at=now)
    return len(due)
