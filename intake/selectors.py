"""Reads for intake: current definitions, the review queue, the measures timeline, and the
intake data the apps above read (latest responses, score summaries, open red flags)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from carecore.accounts.access import Purpose, patient_visibility
from carecore.accounts.models import Patient, User

from .access import (
    access_response,
    access_review,
    escalated_review_patient_id,
    may_write_review,
)
from .engine import is_answered
from .models import (
    IntakeReview,
    QuestionnaireResponse,
    QuestionnaireVersion,
    ResponseStatus,
    ReviewStatus,
)
from .red_flags import red_flags, worst_severity

# The gut-skin intake's slug: red flags, care-plan drafts and intake reminders key on it.
INTAKE_SLUG = "gut-skin-intake"


def questionnaire_current_list() -> QuerySet[QuestionnaireVersion]:
    return QuestionnaireVersion.objects.filter(is_current=True).select_related("questionnaire")


def questionnaire_current(*, slug: str) -> QuestionnaireVersion | None:
    return questionnaire_current_list().filter(questionnaire__slug=slug).first()


def red_flags_in_answers(response: QuestionnaireResponse) -> list[dict[str, str]]:
    """The red flags the response's current answers raise (gut-skin intake only), as stored:
    `[{"code", "label", "severity"}]`. Needs the version's questionnaire and the patient's
    user loaded (the date is the patient's today)."""
    if response.version.questionnaire.slug != INTAKE_SLUG:
        return []
    today = timezone.localdate(timezone=response.patient.user.zone)
    return [
        flag.as_dict()
        for flag in red_flags(
            response.answers, date_of_birth=response.patient.date_of_birth, today=today
        )
    ]


def response_guidance(response: QuestionnaireResponse) -> str | None:
    """What the patient should do now, for the worst red flag (null without one).

    Raised flags (a submitted intake, or one the abandoned-intake sweep raised) get the
    severity's guidance, which says the care team has been alerted. An in-progress intake whose
    current answers raise a worse flag not raised yet gets the same advice worded for a care
    team not yet alerted (`guidance_before_alert`): the patient who ticks "self-harm" sees 988
    at the first save, not an hour later.
    """
    raised = worst_severity(response.red_flags)
    if response.status == ResponseStatus.IN_PROGRESS:
        pending = worst_severity(red_flags_in_answers(response))
        if pending is not None and (raised is None or pending.rank > raised.rank):
            return pending.guidance_before_alert
    return raised.patient_guidance if raised else None


def response_get(*, user: User, response_id: UUID | str) -> QuestionnaireResponse:
    """One response `user` may see clinically (audited)."""
    return access_response(user=user, response_id=response_id)


def review_queue(
    *, user: User, status: str | None = ReviewStatus.PENDING
) -> QuerySet[IntakeReview]:
    """Reviews of patients `user` may see clinically, each annotated with `previous_scores`
    (the scores of the patient's response to the same questionnaire just before it)."""
    previous = QuestionnaireResponse.objects.filter(
        patient_id=OuterRef("patient_id"),
        version__questionnaire_id=OuterRef("response__version__questionnaire_id"),
        status=ResponseStatus.COMPLETED,
        # As `previous_completed_response`: an in-progress response counts from its last save.
        completed_at__lt=Coalesce(
            OuterRef("response__completed_at"), OuterRef("response__updated_at")
        ),
    ).order_by("-completed_at", "-id")
    reviews = (
        IntakeReview.objects.filter(
            patient_visibility(user, purpose=Purpose.CLINICAL, patient_ref="patient_id")
        )
        .select_related("response__version__questionnaire", "patient__user")
        .annotate(previous_scores=Subquery(previous.values("scores")[:1]))
    )
    if status:
        reviews = reviews.filter(status=status)
    return reviews


def response_list(
    *,
    user: User,
    questionnaire: str | None = None,
    patient_id: UUID | None = None,
    status: str | None = None,
) -> QuerySet[QuestionnaireResponse]:
    """Responses `user` may see clinically: a patient their own, the care team their patients'."""
    responses = QuestionnaireResponse.objects.filter(
        patient_visibility(user, purpose=Purpose.CLINICAL, patient_ref="patient_id")
    ).select_related("version__questionnaire")
    if questionnaire:
        responses = responses.filter(version__questionnaire__slug=questionnaire)
    if patient_id is not None:
        responses = responses.filter(patient_id=patient_id)
    if status:
        responses = responses.filter(status=status)
    return responses


@dataclass(frozen=True)
class AnsweredQuestion:
    link_id: str
    question: str
    answer: Any
    answer_display: str | None

    @property
    def text(self) -> str:
        """The answer as a reader says it: the options' words, "Yes"/"No", or the value."""
        if self.answer_display is not None:
            return self.answer_display
        if isinstance(self.answer, bool):
            return "Yes" if self.answer else "No"
        if isinstance(self.answer, list):
            return ", ".join(str(value) for value in self.answer)
        return str(self.answer)


def answers_with_questions(response: QuestionnaireResponse) -> list[AnsweredQuestion]:
    """Each answer with the question as the patient saw it (the pinned version's wording), in
    the questionnaire's order; for a choice, also the option's display text."""
    answered = []
    for item in response.version.definition.get("items", []):
        link_id = item["linkId"]
        if link_id not in response.answers:
            continue
        value = response.answers[link_id]
        answered.append(
            AnsweredQuestion(
                link_id=link_id,
                question=item["text"],
                answer=value,
                answer_display=_option_display(item, value),
            )
        )
    return answered


def _option_display(item: dict[str, Any], value: Any) -> str | None:
    """The chosen options' words ("Eczema, Dry skin"); None for items without options."""
    displays = {str(option["code"]): option["display"] for option in item.get("options", [])}
    if not displays:
        return None
    chosen = value if isinstance(value, list) else [value]
    return ", ".join(displays.get(str(code), str(code)) for code in chosen)


def review_get(*, user: User, review_id: UUID | str) -> IntakeReview:
    """One review `user` may see clinically (audited), with `previous_scores` as in the queue
    and `changes_since_previous` (a `ResponseChanges`): the previous response is read through
    `access_response`, so its read is audited as the API audits a response read."""
    review = access_review(user=user, review_id=review_id)
    previous = previous_response_get(user=user, response=review.response)
    review.previous_scores = previous.scores if previous else None  # type: ignore[attr-defined]
    review.changes_since_previous = response_changes(review.response, previous)  # type: ignore[attr-defined]
    return review


def review_break_glass_offered(*, user: User, review_id: UUID) -> bool:
    """Whether the review's page, having refused `user` the review, offers them break-glass
    instead of its 404: a clinician a step of the review's red-flag ladder told who cannot read
    it now (`escalated_review_patient_id`; docs/web-portal.md, "Called in on an escalation")."""
    return escalated_review_patient_id(user=user, review_id=review_id) is not None


def review_writable(*, user: User, review_id: UUID | str) -> bool:
    """Whether the review's page may offer `user` its completion form (clinicians only, as
    `review_complete` says): not to a reader under break-glass (`may_write_review`)."""
    return may_write_review(user=user, review_id=review_id)


def review_with_previous_scores(*, review: IntakeReview) -> IntakeReview:
    """`review` (already access-checked) with `previous_scores`, as the queue shows it."""
    previous = previous_completed_response(review.response)
    review.previous_scores = previous.scores if previous else None  # type: ignore[attr-defined]
    return review


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


def _completed_before(response: QuestionnaireResponse) -> QuerySet[QuestionnaireResponse]:
    """The same patient's completed responses to the same questionnaire (any version) before
    `response`, newest first. An in-progress response (an abandoned intake whose red flags were
    raised) has no completion time: it counts from its last save."""
    reference = response.completed_at or response.updated_at
    return (
        QuestionnaireResponse.objects.filter(
            patient_id=response.patient_id,
            version__questionnaire_id=response.version.questionnaire_id,
            status=ResponseStatus.COMPLETED,
            completed_at__lt=reference,
        )
        .exclude(pk=response.pk)
        .order_by("-completed_at", "-id")
    )


def previous_completed_response(response: QuestionnaireResponse) -> QuestionnaireResponse | None:
    """The same patient's completed response to the same questionnaire just before this one
    (not audited: for callers that show only its scores next to an audited read)."""
    return _completed_before(response).first()


def previous_response_get(
    *, user: User, response: QuestionnaireResponse
) -> QuestionnaireResponse | None:
    """The response `previous_completed_response` finds, read through `access_response` (one
    READ audit event for it, as `GET /questionnaire-responses/<id>/` writes), or None for a
    first response. `response` must already be access-checked for `user`: the previous one
    is the same patient's, so the same rule lets `user` see it."""
    previous_id = _completed_before(response).values_list("id", flat=True).first()
    if previous_id is None:
        return None
    return access_response(user=user, response_id=previous_id)


# --- changes since the previous response (a review's detail) -------------------------------------


class AnswerChangeKind:
    CHANGED = "changed"  # answered both times, differently
    NEW = "new"  # answered now, not last time
    NO_LONGER_GIVEN = "no_longer_given"  # answered last time, not now

    choices = (
        (CHANGED, "Changed"),
        (NEW, "New answer"),
        (NO_LONGER_GIVEN, "No longer given"),
    )


# The API's enum of answer-change kinds (settings' ENUM_NAME_OVERRIDES names it).
ANSWER_CHANGE_KINDS = AnswerChangeKind.choices


@dataclass(frozen=True)
class AnswerChange:
    """One answer that differs from the previous response's, matched by linkId across
    definition versions. `question` is the wording this response was asked (the previous
    one's for a question this version no longer asks); `before` and `after` are rendered
    with their own version's options, as `answers_with_questions` renders them."""

    link_id: str
    question: str
    kind: str  # an AnswerChangeKind
    before: AnsweredQuestion | None
    after: AnsweredQuestion | None
    question_is_new: bool  # the previous response's version did not ask it
    question_is_gone: bool  # this response's version no longer asks it


@dataclass(frozen=True)
class ScoreChange:
    """One instrument's total and band now and in the previous response (None where that
    response has no score for it), and the change of the total."""

    instrument: str
    total: float | int | None
    band: str | None
    previous_total: float | int | None
    previous_band: str | None
    change: float | int | None


@dataclass(frozen=True)
class ResponseChanges:
    """What changed between a patient's previous completed response to a questionnaire and
    this one. With no previous response (`first_response`) there is nothing to compare: no
    answers, and each score of this one with its previous values and change null."""

    previous_response_id: UUID | None
    previous_completed_at: datetime | None
    previous_questionnaire_version: str | None
    answers: tuple[AnswerChange, ...]
    scores: tuple[ScoreChange, ...]

    @property
    def first_response(self) -> bool:
        return self.previous_response_id is None


def response_changes(
    response: QuestionnaireResponse, previous: QuestionnaireResponse | None
) -> ResponseChanges:
    """Compare `response` with the patient's `previous` response to the same questionnaire.

    Pure: reads only the two (loaded) responses, their versions' definitions, answers and
    scores. Answers are matched by linkId, whichever versions the two were given in, in this
    version's question order, then the questions it no longer asks in the previous version's
    order. A question new in this version that is answered is a "new" answer
    (`question_is_new`); a question this version dropped that was answered last time is "no
    longer given" (`question_is_gone`). Blank answers (null, "", []) count as not given; a
    multi-choice answer's order, a text answer's surrounding spaces and 7 against 7.0 are no
    change.
    """
    if previous is None:
        return ResponseChanges(None, None, None, (), _score_changes(response.scores or {}, {}))
    now = _given_answers(response)
    before = _given_answers(previous)
    asked_now = _link_ids(response)
    asked_before = _link_ids(previous)
    changes = []
    for link_id, after in now.items():
        earlier = before.get(link_id)
        if earlier is not None and _same_answer(earlier.answer, after.answer):
            continue
        kind = AnswerChangeKind.NEW if earlier is None else AnswerChangeKind.CHANGED
        changes.append(
            AnswerChange(
                link_id=link_id,
                question=after.question,
                kind=kind,
                before=earlier,
                after=after,
                question_is_new=link_id not in asked_before,
                question_is_gone=False,
            )
        )
    for link_id, earlier in before.items():
        if link_id in now:
            continue
        changes.append(
            AnswerChange(
                link_id=link_id,
                question=asked_now.get(link_id, earlier.question),
                kind=AnswerChangeKind.NO_LONGER_GIVEN,
                before=earlier,
                after=None,
                question_is_new=False,
                question_is_gone=link_id not in asked_now,
            )
        )
    return ResponseChanges(
        previous_response_id=previous.id,
        previous_completed_at=previous.completed_at,
        previous_questionnaire_version=previous.version.version,
        answers=tuple(changes),
        scores=_score_changes(response.scores or {}, previous.scores or {}),
    )


def _given_answers(response: QuestionnaireResponse) -> dict[str, AnsweredQuestion]:
    return {
        answered.link_id: answered
        for answered in answers_with_questions(response)
        if is_answered(answered.answer)
    }


def _link_ids(response: QuestionnaireResponse) -> dict[str, str]:
    """Each question of the response's version: linkId -> its wording."""
    return {item["linkId"]: item["text"] for item in response.version.definition.get("items", [])}


def _answer_key(value: Any) -> tuple[str, Any]:
    """What an answer means, for comparing: True is not 1, 7 is 7.0, spaces around text and
    the order of chosen options do not count."""
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("text", value.strip())
    if isinstance(value, list):
        return ("options", frozenset(_answer_key(code) for code in value))
    return ("other", repr(value))


def _same_answer(left: Any, right: Any) -> bool:
    return _answer_key(left) == _answer_key(right)


def _score_changes(
    scores: dict[str, Any], previous_scores: dict[str, Any]
) -> tuple[ScoreChange, ...]:
    """Every instrument scored in either response, by name."""
    changes = []
    for instrument in sorted(set(scores) | set(previous_scores)):
        now = scores.get(instrument) or {}
        before = previous_scores.get(instrument) or {}
        changes.append(
            ScoreChange(
                instrument=instrument,
                total=now.get("total"),
                band=now.get("band"),
                previous_total=before.get("total"),
                previous_band=before.get("band"),
                change=_difference(now.get("total"), before.get("total")),
            )
        )
    return tuple(changes)


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
    return _timeline(responses.only("id", "completed_at", "scores"), instrument)


def measures_timelines(*, patient: Patient) -> dict[str, list[MeasurePoint]]:
    """`measures_timeline` of every instrument an (access-checked) patient has a completed
    score for, keyed by instrument: one query over their completed responses, however many
    instruments and responses there are (the care team's patient chart)."""
    responses = list(
        QuestionnaireResponse.objects.filter(patient=patient, status=ResponseStatus.COMPLETED)
        .order_by("completed_at", "id")
        .only("id", "completed_at", "scores")
    )
    instruments = dict.fromkeys(name for response in responses for name in response.scores or {})
    return {instrument: _timeline(responses, instrument) for instrument in instruments}


def _timeline(responses: Iterable[QuestionnaireResponse], instrument: str) -> list[MeasurePoint]:
    """The points of `instrument` in `responses` (completed, oldest first)."""
    points: list[MeasurePoint] = []
    first_total = previous_total = None
    for response in responses:
        score = (response.scores or {}).get(instrument)
        if score is None:
            continue
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


def _pending_red_flag_reviews() -> QuerySet[IntakeReview]:
    """Pending reviews with any red flag, whatever its severity (a `soon` flag also needs a
    clinician's eyes before a plan goes out)."""
    return IntakeReview.objects.filter(status=ReviewStatus.PENDING).exclude(severity="")


def patient_has_unreviewed_red_flag(*, patient_id: UUID) -> bool:
    """The care-plan publish gate: any pending review of this patient with a red flag."""
    return _pending_red_flag_reviews().filter(patient_id=patient_id).exists()


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
            completed_at = response.completed_at
            if last_visit_end is not None and completed_at and completed_at <= last_visit_end:
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
    """The patient's pending reviews with red flags nobody has reviewed yet, oldest first."""
    return list(
        _pending_red_flag_reviews()
        .filter(patient=patient)
        .select_related("response__version__questionnaire")
        .order_by("created_at", "id")
    )


# --- record reads for FHIR (interop) -------------------------------------------------------------


def responses_for_export() -> QuerySet[QuestionnaireResponse]:
    """Every response, for the admin bulk export (interop's export gate decided access)."""
    return QuestionnaireResponse.objects.select_related("version__questionnaire")
