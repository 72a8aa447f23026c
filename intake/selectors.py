"""Reads for intake: current definitions, the review queue, the measures timeline, and the
intake data the apps above read (latest responses, score summaries, open red flags)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import QuerySet

from carecore.accounts.access import Purpose, patient_visibility
from carecore.accounts.models import Patient, User

from .models import (
    IntakeReview,
    QuestionnaireResponse,
    QuestionnaireVersion,
    ResponseStatus,
    ReviewStatus,
)

# The gut-skin intake's slug: red flags, care-plan drafts and intake reminders key on it.
INTAKE_SLUG = "gut-skin-intake"


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


def latest_completed_response(*, patient_id: UUID, slug: str) -> QuestionnaireResponse | None:
    """The patient's most recently completed response to questionnaire `slug`, if any."""
    return (
        QuestionnaireResponse.objects.filter(
            patient_id=patient_id,
            status=ResponseStatus.COMPLETED,
            version__questionnaire__slug=slug,
        )
        .order_by("-completed_at")
        .first()
    )


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


# --- what a clinician reviews before a visit (careplans' pre-visit summary) ---------------------


def patients_missing_intake(*, patient_ids: Iterable[UUID]) -> set[UUID]:
    """The patients among `patient_ids` without a completed gut-skin intake. One query (none
    for no ids), on the responses' (patient, status, completed_at) index."""
    wanted = set(patient_ids)
    if not wanted:
        return set()
    done = QuestionnaireResponse.objects.filter(
        patient_id__in=wanted,
        status=ResponseStatus.COMPLETED,
        version__questionnaire__slug=INTAKE_SLUG,
    ).values_list("patient_id", flat=True)
    return wanted - set(done)


@dataclass(frozen=True)
class ScoreSummary:
    """One instrument's latest completed score and how it moved."""

    instrument: str
    response_id: UUID
    completed_at: datetime
    total: float | int | None
    band: str | None
    previous_total: float | int | None
    change_since_previous: float | int | None
    total_at_last_visit: float | int | None
    change_since_last_visit: float | int | None


def score_summaries(*, patient: Patient, last_visit_end: datetime | None) -> list[ScoreSummary]:
    """Per instrument: the latest completed score; the change since the previous scored one;
    and the change since the last scored one completed by the end of the last completed visit.
    One query over the patient's completed responses (index `response_patient_completed`)."""
    responses = (
        QuestionnaireResponse.objects.filter(patient=patient, status=ResponseStatus.COMPLETED)
        .order_by("completed_at", "id")
        .only("id", "completed_at", "scores")
    )
    latest: dict[str, tuple[Any, dict[str, Any]]] = {}
    previous_total: dict[str, Any] = {}
    scored_total: dict[str, Any] = {}  # the last non-null total so far
    at_last_visit: dict[str, Any] = {}
    for response in responses:
        for instrument, score in (response.scores or {}).items():
            if instrument in latest:
                previous_total[instrument] = scored_total.get(instrument)
            latest[instrument] = (response, score)
            total = score.get("total")
            if total is None:
                continue
            scored_total[instrument] = total
            if last_visit_end is not None and response.completed_at <= last_visit_end:
                at_last_visit[instrument] = total
    summaries = []
    for instrument in sorted(latest):
        response, score = latest[instrument]
        total = score.get("total")
        before = previous_total.get(instrument)
        baseline = at_last_visit.get(instrument)
        summaries.append(
            ScoreSummary(
                instrument=instrument,
                response_id=response.id,
                completed_at=response.completed_at,
                total=total,
                band=score.get("band"),
                previous_total=before,
                change_since_previous=_difference(total, before),
                total_at_last_visit=baseline,
                change_since_last_visit=_difference(total, baseline),
            )
        )
    return summaries


def open_red_flag_reviews(*, patient: Patient) -> list[IntakeReview]:
    """The patient's pending urgent reviews (red flags nobody has reviewed yet), oldest first."""
    return list(
        IntakeReview.objects.filter(patient=patient, status=ReviewStatus.PENDING, urgent=True)
        .select_related("response__version__questionnaire")
        .order_by("created_at", "id")
    )
