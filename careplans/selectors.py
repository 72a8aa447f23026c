"""Reads for care plans: plan lists, the active plan and goal, and the pre-visit summary.

The pre-visit summary gathers what a clinician should know before a visit from the apps below:
the appointment (portal), intake's scores and red flags, the active plan, and the viewer's unread
messages (messaging), each through that app's selectors or access helpers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db.models import QuerySet
from django.utils import timezone

from carecore.accounts.access import Purpose, access_patient
from carecore.accounts.models import Patient, User
from intake.models import IntakeReview
from intake.selectors import (
    MeasurePoint,
    ScoreSummary,
    measures_timeline,
    open_red_flag_reviews,
    patients_missing_intake,
    score_summaries,
)
from messaging.selectors import thread_list
from portal.access import access_previsit_summary
from portal.models import Appointment
from portal.selectors import last_completed_visit

from .access import care_plan_goals_visible_to, care_plans_visible_to
from .models import CarePlan, CarePlanGoal, CarePlanStatus

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


def care_plan_with_items(*, plan_id: UUID) -> CarePlan:
    """Reload one (already access-checked) plan with its goals and activities."""
    return CarePlan.objects.prefetch_related(*_PLAN_ITEMS).get(pk=plan_id)


def care_plan_goal_list(*, user: User, patient_id: UUID | None = None) -> QuerySet[CarePlanGoal]:
    """Goals of the plans `user` may see (patients: published plans only), plan loaded."""
    goals = care_plan_goals_visible_to(user).select_related("plan")
    if patient_id is not None:
        goals = goals.filter(plan__patient_id=patient_id)
    return goals


# Bulk export (interop): the caller has passed the admin-only, audited export gate.


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
        .filter(unread_count__gt=0)
        .prefetch_related(None)  # no message previews: only counts are shown
        .order_by("-last_message_at", "id")
        .values_list("id", "unread_count", "priority", "status")
    )
    threads = [ThreadUnread(*row) for row in rows]
    return UnreadMessages(total=sum(thread.unread_count for thread in threads), threads=threads)


def previsit_summary(*, user: User, appointment_id: UUID | str) -> PrevisitSummary:
    """What the clinician should know before the visit (docs/portal.md, "Pre-visit summary").
    Access: `access_previsit_summary` (care team or the visit's own clinician; audited).
    Queries: access (two), last visit, intake, scores, open red flags, active plan + goals, and
    the unread counts (two, only for a care-team viewer), whatever the patient's history."""
    appointment, viewer_on_care_team = access_previsit_summary(
        user=user, appointment_id=appointment_id
    )
    patient = appointment.patient
    last_visit = last_completed_visit(patient_id=patient.id, before=appointment.start_at)
    red_flags = open_red_flag_reviews(patient=patient)
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
