"""Reads for intake: current definitions, the review queue, the measures timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import QuerySet

from carecore.accounts.access import Purpose, patient_visibility
from carecore.accounts.models import Patient, User

from .access import care_plans_visible_to
from .models import (
    CarePlan,
    CarePlanGoal,
    CarePlanStatus,
    IntakeReview,
    QuestionnaireResponse,
    QuestionnaireVersion,
    ResponseStatus,
    ReviewStatus,
)


def questionnaire_current_list() -> QuerySet[QuestionnaireVersion]:
    return QuestionnaireVersion.objects.filter(is_current=True).select_related("questionnaire")


def questionnaire_current(*, slug: str) -> QuestionnaireVersion | None:
    return questionnaire_current_list().filter(questionnaire__slug=slug).first()


def review_queue(
    *, user: User, status: str | None = ReviewStatus.PENDING
) -> QuerySet[IntakeReview]:
    """Reviews of patients `user` may see clinically: urgent first, then oldest first."""
    reviews = IntakeReview.objects.filter(
        patient_visibility(user, purpose=Purpose.CLINICAL, patient_ref="patient_id")
    ).select_related("response__version__questionnaire")
    if status:
        reviews = reviews.filter(status=status)
    return reviews


def previous_completed_response(response: QuestionnaireResponse) -> QuestionnaireResponse | None:
    """The same patient's completed response to the same questionnaire just before this one."""
    return (
        QuestionnaireResponse.objects.filter(
            patient_id=response.patient_id,
            version__questionnaire_id=response.version.questionnaire_id,
            status=ResponseStatus.COMPLETED,
            completed_at__lt=response.completed_at,
        )
        .order_by("-completed_at")
        .first()
    )


@dataclass(frozen=True)
class MeasurePoint:
    response_id: UUID
    completed_at: datetime
    total: float | int | None
    band: str | None
    subscales: dict[str, Any]
    change_since_first: float | int | None
    change_since_previous: float | int | None


def _difference(current: Any, baseline: Any) -> float | int | None:
    if current is None or baseline is None:
        return None
    change = current - baseline
    return round(change, 2) if isinstance(change, float) else change


def measures_timeline(*, patient: Patient, instrument: str) -> list[MeasurePoint]:
    """Every completed score of `instrument` for an (access-checked) patient, oldest first,
    with the change since the first scored response and since the previous scored one."""
    responses = QuestionnaireResponse.objects.filter(
        patient=patient, status=ResponseStatus.COMPLETED, scores__has_key=instrument
    ).order_by("completed_at", "id")
    points: list[MeasurePoint] = []
    first_total = previous_total = None
    for response in responses.only("id", "completed_at", "scores"):
        score = response.scores[instrument]
        total = score.get("total")
        points.append(
            MeasurePoint(
                response_id=response.id,
                completed_at=response.completed_at,  # type: ignore[arg-type]
                total=total,
                band=score.get("band"),
                subscales=score.get("subscales") or {},
                change_since_first=_difference(total, first_total),
                change_since_previous=_difference(total, previous_total),
            )
        )
        if total is not None:
            first_total = total if first_total is None else first_total
            previous_total = total
    return points


def patient_has_unreviewed_red_flag(*, patient_id: UUID) -> bool:
    """The care-plan publish gate: any pending urgent review of this patient."""
    return IntakeReview.objects.filter(
        patient_id=patient_id, status=ReviewStatus.PENDING, urgent=True
    ).exists()


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


def active_goal(*, patient: Patient, instrument: str) -> CarePlanGoal | None:
    """The active plan's goal on `instrument`, if the patient has one."""
    return (
        CarePlanGoal.objects.filter(
            plan__patient=patient, plan__status=CarePlanStatus.ACTIVE, instrument=instrument
        )
        .order_by("position")
        .first()
    )
