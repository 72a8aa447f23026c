"""Reads for care plans: plan lists, the active plan and goal, and the pre-visit summary.

The pre-visit summary gathers what a clinician should know before a visit from the apps below:
the appointment (portal), intake's scores and red flags, the active plan, and the viewer's unread
messages (messaging), each through that app's selectors or access helpers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db.models import QuerySet, prefetch_related_objects
from django.utils import timezone

from carecore.accounts.access import Purpose, access_patient
from carecore.accounts.models import Patient, User
from carecore.audit.lists import audited_rows
from carecore.common.errors import ValidationFailed
from intake.selectors import (
    MeasurePoint,
    ScoreSummary,
    measures_timeline,
    measures_timelines,
    open_red_flag_reviews,
    patients_missing_intake,
    score_summaries,
)
from messaging.selectors import thread_list
from portal.access import access_previsit_summary
from portal.selectors import last_completed_visit

from .access import access_care_plan, care_plan_goals_visible_to, care_plans_visible_to
from .models import CarePlan, CarePlanGoal, CarePlanStatus, CheckIn

if TYPE_CHECKING:
    from intake.models import IntakeReview
    from portal.models import Appointment

_PLAN_ITEMS = ("goals", "activities")


def care_plan_list(
    *, user: User, patient_id: UUID | None = None, status: str | None = None
) -> QuerySet[CarePlan]:
    """Plans `user` may see (patients: published only), goals and activities prefetched."""
    plans = care_plans_visible_to(user).prefetch_related(*_PLAN_ITEMS)
    if patient_id is not None:
        plans = plans.filter(patient_id=patient_id)
    if status:
        plans = plans.filter(status=status)
    return plans


def care_plan_get(*, user: User, plan_id: UUID | str) -> CarePlan:
    """One plan `user` may see (audited), with its goals and activities."""
    return care_plan_with_items(plan=access_care_plan(user=user, plan_id=plan_id))


def care_plan_with_items(*, plan: CarePlan) -> CarePlan:
    """`plan` (already access-checked, e.g. just written) with its goals and activities loaded."""
    prefetch_related_objects([plan], *_PLAN_ITEMS)
    return plan


def care_plan_goal_list(*, user: User, patient_id: UUID | None = None) -> QuerySet[CarePlanGoal]:
    """Goals of the plans `user` may see (patients: published plans only), plan loaded."""
    goals = care_plan_goals_visible_to(user).select_related("plan")
    if patient_id is not None:
        goals = goals.filter(plan__patient_id=patient_id)
    return goals


# Bulk export (interop): the caller has passed the admin-only, audited export gate.


def check_ins_due(*, user: User, now: datetime | None = None) -> QuerySet[CheckIn]:
    """Check-ins of the plans `user` may see that are due by `now` and neither answered nor
    cancelled, soonest first, goal loaded (a patient: their own, from published plans)."""
    return (
        CheckIn.objects.filter(
            goal__plan__in=care_plans_visible_to(user),
            due_at__lte=now or timezone.now(),
            response__isnull=True,
            cancelled_at__isnull=True,
        )
        .select_related("goal")
        .order_by("due_at", "id")
    )


def care_plans_for_export() -> QuerySet[CarePlan]:
    return CarePlan.objects.prefetch_related(*_PLAN_ITEMS)


def care_plan_goals_for_export() -> QuerySet[CarePlanGoal]:
    return CarePlanGoal.objects.select_related("plan")


def active_goal(*, patient: Patient, instrument: str) -> CarePlanGoal | None:
    """The active plan's goal on `instrument`, if the patient has one."""
    return (
        CarePlanGoal.objects.filter(
            plan__patient=patient, plan__status=CarePlanStatus.ACTIVE, instrument=instrument
        )
        .order_by("position")
        .first()
    )


def active_care_plan(*, patient: Patient) -> CarePlan | None:
    return (
        CarePlan.objects.filter(patient=patient, status=CarePlanStatus.ACTIVE)
        .prefetch_related("goals")
        .first()
    )


@dataclass(frozen=True)
class MeasuresProgress:
    """A patient's scores on one instrument over time, read against the active plan's goal."""

    instrument: str
    goal: CarePlanGoal | None  # the active plan's goal on the instrument: target_value by due_date
    results: list[MeasurePoint]
    next: None = None  # one page: the contract's list envelope
    previous: None = None


def measures_progress(*, user: User, patient_id: UUID | str, instrument: str) -> MeasuresProgress:
    """The measures timeline of a patient `user` may see clinically (audited), with the goal."""
    patient = access_patient(
        user=user, patient_id=patient_id, purpose=Purpose.CLINICAL, object_type="measures"
    )
    return MeasuresProgress(
        instrument=instrument,
        goal=active_goal(patient=patient, instrument=instrument),
        results=measures_timeline(patient=patient, instrument=instrument),
    )


def active_goals(*, patient: Patient) -> dict[str, CarePlanGoal]:
    """The active plan's goal per instrument (the first by position, as `active_goal`)."""
    goals = CarePlanGoal.objects.filter(
        plan__patient=patient, plan__status=CarePlanStatus.ACTIVE
    ).order_by("-position")
    return {goal.instrument: goal for goal in goals}  # the lowest position is written last


def measures_progress_all(*, user: User, patient_id: UUID | str) -> list[MeasuresProgress]:
    """`measures_progress` of every instrument the patient has scores for, instruments in
    first-scored order: one access check (one READ of the measures, audited as the API's),
    then the goals and every timeline in one query each, whatever the patient's history."""
    patient = access_patient(
        user=user, patient_id=patient_id, purpose=Purpose.CLINICAL, object_type="measures"
    )
    goals = active_goals(patient=patient)
    return [
        MeasuresProgress(instrument=instrument, goal=goals.get(instrument), results=points)
        for instrument, points in measures_timelines(patient=patient).items()
    ]


# --- comparing versions ----------------------------------------------------------------------


@dataclass(frozen=True)
class ItemChange:
    code: str
    field: str
    before: Any
    after: Any


def _items_by_key(items: list[Any]) -> dict[str, Any]:
    # Rule-made items match by rule code; custom ones by their title.
    return {item.code if item.code != "custom" else f"custom:{item.title}": item for item in items}


@dataclass(frozen=True)
class ItemsCompared:
    """Goals or activities of two versions, matched by `_items_by_key`: the items themselves,
    for pages that show titles and text, not only keys."""

    added: list[Any]  # the newer version's items
    removed: list[Any]  # the older version's items
    changed: list[tuple[Any, list[ItemChange]]]  # (the newer item, what changed in it)


def _compare_items(old: list[Any], new: list[Any], fields: tuple[str, ...]) -> ItemsCompared:
    before, after = _items_by_key(old), _items_by_key(new)
    changed = []
    for key in sorted(before.keys() & after.keys()):
        changes = [
            ItemChange(key, name, getattr(before[key], name), getattr(after[key], name))
            for name in fields
            if getattr(before[key], name) != getattr(after[key], name)
        ]
        if changes:
            changed.append((after[key], changes))
    return ItemsCompared(
        added=[after[key] for key in sorted(after.keys() - before.keys())],
        removed=[before[key] for key in sorted(before.keys() - after.keys())],
        changed=changed,
    )


def _diff_body(compared: ItemsCompared) -> dict[str, Any]:
    keys = _items_by_key
    return {
        "added": sorted(keys(compared.added)),
        "removed": sorted(keys(compared.removed)),
        "changed": [
            change.__dict__
            for change in sorted(
                (change for _item, changes in compared.changed for change in changes),
                key=lambda c: (c.code, c.field),
            )
        ],
    }


ACTIVITY_FIELDS_COMPARED = ("title", "instructions", "category")
GOAL_FIELDS_COMPARED = ("title", "instrument", "target_change", "due_date", "repeat_every_weeks")


@dataclass(frozen=True)
class PlanComparison:
    older: CarePlan
    newer: CarePlan
    summary_changed: bool
    activities: ItemsCompared
    goals: ItemsCompared


def care_plan_comparison(
    *, user: User, plan_id: UUID | str, against_id: UUID | str
) -> PlanComparison:
    """Two plans of one patient that `user` may see (each read audited), older first, and what
    changed between them."""
    newer = access_care_plan(user=user, plan_id=plan_id)
    older = access_care_plan(user=user, plan_id=against_id)
    if older.number > newer.number:
        older, newer = newer, older
    if older.patient_id != newer.patient_id:
        raise ValidationFailed(fields={"against": ["Plans of different patients."]})
    prefetch_related_objects([older, newer], *_PLAN_ITEMS)
    return plans_compared(older=older, newer=newer)


def plans_compared(*, older: CarePlan, newer: CarePlan) -> PlanComparison:
    """What changed from `older` to `newer`, two versions of one patient's plan the caller has
    already read through an access helper. No query when their goals and activities are
    prefetched (`care_plan_list`), so a page can compare every version it shows."""
    return PlanComparison(
        older=older,
        newer=newer,
        summary_changed=older.summary != newer.summary,
        activities=_compare_items(
            list(older.activities.all()), list(newer.activities.all()), ACTIVITY_FIELDS_COMPARED
        ),
        goals=_compare_items(
            list(older.goals.all()), list(newer.goals.all()), GOAL_FIELDS_COMPARED
        ),
    )


def care_plan_diff(*, user: User, plan_id: UUID | str, against_id: UUID | str) -> dict[str, Any]:
    """What changed between two plans of one patient that `user` may see, older to newer."""
    return care_plan_versions_diff(
        care_plan_comparison(user=user, plan_id=plan_id, against_id=against_id)
    )


def care_plan_versions_diff(compared: PlanComparison) -> dict[str, Any]:
    """A comparison as the API's `?against=` answers it: item keys and field changes."""
    return {
        "from": str(compared.older.id),
        "to": str(compared.newer.id),
        "summary_changed": compared.summary_changed,
        "activities": _diff_body(compared.activities),
        "goals": _diff_body(compared.goals),
    }


# --- the pre-visit summary ---------------------------------------------------------------------


@dataclass(frozen=True)
class ThreadUnread:
    id: UUID
    unread_count: int
    priority: str
    status: str


@dataclass(frozen=True)
class UnreadMessages:
    total: int
    threads: list[ThreadUnread]


@dataclass(frozen=True)
class PrevisitSummary:
    appointment: Appointment
    generated_at: datetime
    intake_missing: bool
    last_visit: Appointment | None
    scores: list[ScoreSummary]
    red_flags: list[IntakeReview]  # pending, with red flags; response and questionnaire loaded
    care_plan: CarePlan | None  # the active plan, goals prefetched
    # None when the viewer is not on the care team (a treating clinician from outside it):
    # the patient's threads are the care team's, and messaging does not show them to others.
    unread_messages: UnreadMessages | None


def _unread_messages(*, patient: Patient, viewer: User) -> UnreadMessages:
    """The viewer's own unread counts in the patient's threads, exactly as their inbox shows
    them (messaging's `thread_list`: for staff every message they have not read, internal notes
    of colleagues included). Two queries for staff: their visible patients, then the threads."""
    rows = (
        thread_list(user=viewer, patient_id=patient.id)
        # `unread_count` is annotated by thread_list, which the stubs' plugin cannot follow.
        .filter(unread_count__gt=0)  # type: ignore[misc]
        .order_by("-last_message_at", "id")
        .values_list("id", "unread_count", "priority", "status")
    )
    threads = [ThreadUnread(*row) for row in rows]
    return UnreadMessages(total=sum(thread.unread_count for thread in threads), threads=threads)


def previsit_summary(*, user: User, appointment_id: UUID | str) -> PrevisitSummary:
    """What the clinician should know before the visit (docs/portal.md, "Pre-visit summary").
    Access: `access_previsit_summary` (care team or the visit's own clinician; audited).
    The open red-flag reviews shown are audited as any list of the patient's rows is (one LIST
    event of `intake_review` naming each, with the read's basis when the viewer is the visit's
    clinician from outside the team; none when there are none).
    Queries: access (two), last visit, intake, scores, open red flags (+ their LIST event when
    there are some), active plan + goals, and the unread counts (two, only for a care-team
    viewer), whatever the patient's history."""
    appointment, viewer_on_care_team = access_previsit_summary(
        user=user, appointment_id=appointment_id
    )
    patient = appointment.patient
    last_visit = last_completed_visit(patient_id=patient.id, before=appointment.start_at)
    red_flags = audited_rows(
        user=user,
        rows=open_red_flag_reviews(patient=patient),
        object_type="intake_review",
        # The same basis the summary's READ event names (`access_previsit_summary`).
        detail=None if viewer_on_care_team else {"basis": "treating_clinician"},
    )
    care_plan = active_care_plan(patient=patient)
    return PrevisitSummary(
        appointment=appointment,
        generated_at=timezone.now(),
        intake_missing=bool(patients_missing_intake(patient_ids=[patient.id])),
        last_visit=last_visit,
        scores=score_summaries(
            patient=patient, last_visit_end=last_visit.end_at if last_visit else None
        ),
        red_flags=red_flags,
        care_plan=care_plan,
        unread_messages=(
            _unread_messages(patient=patient, viewer=user) if viewer_on_care_team else None
        ),
    )
