"""Writes for intake: publishing definitions, saving and submitting responses, reviewing them,
and acting on red flags (page, escalate, raise an abandoned intake's flags).

Validation, scoring and red flags are pure functions (`intake/engine.py`, `intake/instruments/`,
`intake/red_flags.py`); this module adds the transaction, the audit trail, the review queue and
the pages (docs/intake.md).

Locking: a response's writes hold its row lock (`select_for_update`), taken before its review's;
escalation takes only the review's. So a submit, the abandoned-intake sweep and the escalation
sweep never act on stale state, and a flag is raised, and a page sent, once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from carecore.accounts.access import deny
from carecore.accounts.models import BreakGlassGrant, Patient, Role, User
from carecore.accounts.selectors import (
    active_users,
    care_team_user_ids,
    escalation_ladder_user_ids,
    on_call_user_ids,
)
from carecore.accounts.services import break_glass_open
from carecore.audit.models import Action
from carecore.audit.services import audit_record
from carecore.clinical.escalation import LAST_STEP, clock_stamp, step_occurrence, steps_due
from carecore.clinical.severity import Severity
from carecore.common.errors import Conflict, Forbidden, ValidationFailed
from carecore.notifications import links
from carecore.notifications.models import Event
from carecore.notifications.services import notify
from carecore.realtime.services import EventType, NewEvent, event_publish_for_patient

from . import engine
from .access import (
    access_response,
    access_review,
    escalated_review_patient_id,
    may_read_review,
)
from .hooks import response_completed
from .models import (
    IntakeReview,
    Questionnaire,
    QuestionnaireResponse,
    QuestionnaireVersion,
    ResponseStatus,
    ReviewEscalationStep,
    ReviewStatus,
)
from .red_flags import CODES, worst_severity
from .selectors import INTAKE_SLUG, questionnaire_current, red_flags_in_answers


class VersionChanged(Conflict):
    code = "published_version_changed"
    default_message = "A published questionnaire version never changes; publish a new version."


class ResponseNotEditable(Conflict):
    code = "response_completed"
    default_message = "A completed response can no longer be changed."


# --- definitions -------------------------------------------------------------------------


@transaction.atomic
def questionnaire_publish(*, definition: dict[str, Any]) -> tuple[QuestionnaireVersion, bool]:
    """Publish a definition (idempotent). Returns (version, created).

    Re-publishing the same slug and version with different content is refused: published
    versions are immutable (the database enforces it too).
    """
    engine.parse_definition(definition)  # raises ValueError naming what is wrong
    questionnaire, _ = Questionnaire.objects.select_for_update().get_or_create(
        slug=definition["slug"], defaults={"title": definition["title"]}
    )
    existing = questionnaire.versions.filter(version=definition["version"]).first()
    if existing is not None:
        if existing.definition != definition:
            raise VersionChanged(
                f"{definition['slug']} {definition['version']} is published with other content."
            )
        return existing, False
    # Retire the current version first: at most one current version per questionnaire.
    questionnaire.versions.filter(is_current=True).update(is_current=False)
    if questionnaire.title != definition["title"]:
        questionnaire.title = definition["title"]
        questionnaire.save(update_fields=["title"])
    version = QuestionnaireVersion.objects.create(
        questionnaire=questionnaire,
        version=definition["version"],
        url=definition["url"],
        definition=definition,
        is_current=True,
    )
    return version, True


# --- responses ----------------------------------------------------------------------------


def _validate(version: QuestionnaireVersion, answers: dict[str, Any], *, completed: bool) -> None:
    if not isinstance(answers, dict):
        raise ValidationFailed(fields={"answers": ["Answers must be an object keyed by linkId."]})
    errors = engine.validate_answers(
        engine.parse_definition(version.definition), answers, completed=completed
    )
    if errors:
        raise ValidationFailed("Some answers are not valid.", fields=errors)


def _with_flags_raised_before(
    raised: list[dict[str, str]], screened: list[dict[str, str]]
) -> list[dict[str, str]]:
    """Every flag raised so far and now, once each, in the rules' order: a flag the abandoned-
    intake sweep raised stays on the record even if the patient later changed that answer (the
    clinician must know it was said)."""
    by_code = {flag["code"]: flag for flag in raised} | {flag["code"]: flag for flag in screened}
    order = {code: position for position, code in enumerate(CODES)}
    return sorted(by_code.values(), key=lambda flag: order.get(flag["code"], len(order)))


def _complete(response: QuestionnaireResponse, *, now: datetime) -> IntakeReview:
    """Score against the pinned version, screen for red flags, queue (and page) the review.

    The caller holds the response's row lock (or has just inserted it).
    """
    definition = engine.parse_definition(response.version.definition)
    response.scores = engine.score(definition, response.answers)
    response.red_flags = _with_flags_raised_before(
        response.red_flags, red_flags_in_answers(response)
    )
    response.status = ResponseStatus.COMPLETED
    response.completed_at = now
    return _review_raise(response, now=now)


def _review_raise(response: QuestionnaireResponse, *, now: datetime) -> IntakeReview:
    """Create or update the response's review from its flags, and page on-call when due.

    A response has one review. It exists before completion when the abandoned-intake sweep
    raised flags; completing then updates it instead of queueing a second one. Flags are only
    ever added, so the severity never drops. The on-call is paged once per review: again only
    when a clinician had already completed the review (of the flags raised early) and the
    submitted answers raise a worse severity than they reviewed. The caller holds the
    response's row lock; this takes the review's.
    """
    severity = worst_severity(response.red_flags)
    review = IntakeReview.objects.select_for_update().filter(response=response).first()
    created = review is None
    if review is None:
        review = IntakeReview(response=response, patient=response.patient, created_at=now)
        page = _pages(severity)
    elif review.status == ReviewStatus.COMPLETED:
        # Reviewed while in progress; the submitted intake needs its own review.
        reviewed = Severity(review.severity) if review.severity else None
        review.status, review.completed_at, review.completed_by = ReviewStatus.PENDING, None, None
        worse = severity is not None and (reviewed is None or severity.rank > reviewed.rank)
        page = _pages(severity) and worse
        # Its page was answered: without a new page there is nothing to escalate.
        review.paged_at = None
    else:
        page = _pages(severity) and review.paged_at is None
    review.severity = severity.value if severity else ""
    review.urgent = _pages(severity)
    review.expedited = severity is Severity.SOON
    if page:
        review.paged_at, review.escalation_step = now, 0
    if created:
        review.save(force_insert=True)
    else:
        review.save(update_fields=_REVIEW_RAISE_FIELDS)
    if page:
        _page_on_call(review)
    return review


_REVIEW_RAISE_FIELDS = [
    "status",
    "completed_at",
    "completed_by",
    "severity",
    "urgent",
    "expedited",
    "paged_at",
    "escalation_step",
]


def _pages(severity: Severity | None) -> bool:
    """Emergency, crisis and urgent page on-call; soon and no flag do not."""
    return severity is not None and severity.pages_on_call


def _review_link(review: IntakeReview) -> str:
    return links.intake_review_page(review.id)


def _page_on_call(review: IntakeReview) -> None:
    """Page the on-call clinician about a red flag (urgent: ignores quiet hours). The outbox key
    is the page's clock, so a page is sent once however often this runs for that clock."""
    assert review.paged_at is not None
    notify(
        event=Event.INTAKE_RED_FLAG,
        recipients=active_users(on_call_user_ids(patient_id=review.patient_id)),
        subject_type="questionnaire_response",
        subject_id=review.response_id,
        occurrence=f"page:{clock_stamp(review.paged_at)}",
        urgent=True,
        link_path=_review_link(review),
    )


def _announce_completed(response: QuestionnaireResponse, review: IntakeReview) -> None:
    """Tell the care team a response needs review (the red-flag page is `_review_raise`'s).

    Inside the response's transaction (the outbox rows commit with it). Nothing about the
    answers, scores or flags goes into a notification: only opaque ids in the link.
    """
    event_publish_for_patient(
        patient=response.patient,
        events=[
            NewEvent(
                EventType.REVIEW_CREATED,
                {
                    "review_id": review.id,
                    "response_id": response.id,
                    "patient_id": response.patient_id,
                    "urgent": review.urgent,
                },
            )
        ],
        patient_sees=False,  # the review queue is the care team's
    )
    notify(
        event=Event.INTAKE_SUBMITTED,
        recipients=active_users(
            care_team_user_ids(
                patient_id=response.patient_id, roles=[Role.CLINICIAN, Role.COORDINATOR]
            )
        ),
        subject_type="questionnaire_response",
        subject_id=response.id,
        link_path=_review_link(review),
    )


def _own_patient(user: User) -> Patient:
    if user.role != Role.PATIENT or not hasattr(user, "patient"):
        raise Forbidden("Only patients answer questionnaires.")
    return user.patient


@transaction.atomic
def response_create(
    *, user: User, slug: str, answers: dict[str, Any], status: str
) -> QuestionnaireResponse:
    """A patient starts (in_progress) or submits (completed) a response to the current version."""
    patient = _own_patient(user)
    version = questionnaire_current(slug=slug)
    if version is None:
        raise ValidationFailed(
            fields={"questionnaire": ["No published questionnaire by that slug."]}
        )
    _validate(version, answers, completed=status == ResponseStatus.COMPLETED)
    response = QuestionnaireResponse(
        patient=patient, version=version, status=ResponseStatus.IN_PROGRESS, answers=answers
    )
    response.save(force_insert=True)
    if status == ResponseStatus.COMPLETED:
        review = _complete(response, now=timezone.now())
        response.save(update_fields=["status", "completed_at", "scores", "red_flags"])
        response_completed.send(sender=QuestionnaireResponse, response=response)
        _announce_completed(response, review)
    audit_record(
        actor=user,
        object_type="questionnaire_response",
        object_id=response.id,
        patient_id=patient.id,
        action=Action.CREATE,
    )
    return response


@transaction.atomic
def response_update(
    *, user: User, response_id: UUID | str, answers: dict[str, Any] | None, status: str | None
) -> QuestionnaireResponse:
    """Save-and-resume: the owner replaces answers while in progress, and may complete it.

    Takes a row lock so two tabs submitting at once cannot both complete (and double-queue).
    Staff may read a response but never change what the patient answered: 403 once access
    is shown (404 for anyone who may not see it at all).
    """
    if user.role != Role.PATIENT:
        access_response(user=user, response_id=response_id)
        raise Forbidden("Only the patient can change their answers.")
    # Its access event is the update's one audit event; a patient only ever sees their own.
    response = access_response(user=user, response_id=response_id, for_write=True, lock=True)
    if response.status == ResponseStatus.COMPLETED:
        raise ResponseNotEditable()
    if answers is not None:
        response.answers = answers
    completing = status == ResponseStatus.COMPLETED
    _validate(response.version, response.answers, completed=completing)
    now = timezone.now()
    review = _complete(response, now=now) if completing else None
    response.updated_at = now
    response.save(
        update_fields=["answers", "status", "completed_at", "scores", "red_flags", "updated_at"]
    )
    if review is not None:
        response_completed.send(sender=QuestionnaireResponse, response=response)
        _announce_completed(response, review)
    return response


# --- reviews ------------------------------------------------------------------------------


@transaction.atomic
def review_complete(*, user: User, review_id: UUID | str, note: str) -> IntakeReview:
    """A clinician on the care team marks a review done (this clears the care-plan gate)."""
    # Its access event (the review's id and patient) is the completion's one audit event.
    review = access_review(user=user, review_id=review_id, for_write=True, lock=True)
    if user.role != Role.CLINICIAN:
        raise Forbidden("Only clinicians complete intake reviews.")
    if review.status == ReviewStatus.COMPLETED:
        raise Conflict("This review is already completed.")
    review.status = ReviewStatus.COMPLETED
    review.note = note
    review.completed_at = timezone.now()
    review.completed_by = user
    review.save(update_fields=["status", "note", "completed_at", "completed_by"])
    return review


@transaction.atomic
def review_break_glass_open(*, actor: User, review_id: UUID, reason: str) -> BreakGlassGrant | None:
    """Break-glass access (`break_glass_open`: read-only, time-limited, audited, announced to
    the patient's lead clinician and the admins) to the patient of a review whose unanswered
    red-flag page was escalated to `actor` and that they cannot read: the ladder's last rung,
    the clinical lead, is usually off the patient's care team, and this is how they act on the
    `intake_red_flag` page.

    None when `actor` can read the review already (on the care team by now, or a grant still
    open, as after a second click on the button): nothing is opened. Anyone else (not told by a
    step of this review's ladder, not a clinician, no such review) gets the 404 of a review that
    does not exist, audited as denied. The patient's id never leaves intake.
    """
    patient_id = escalated_review_patient_id(user=actor, review_id=review_id)
    if patient_id is None:
        if may_read_review(user=actor, review_id=review_id):
            return None
        deny(
            user=actor, object_type="intake_review", object_id=review_id, action=Action.BREAK_GLASS
        )
    return break_glass_open(user=actor, patient_id=patient_id, reason=reason)


# --- red flags: escalating an unanswered page ----------------------------------------------


def _page_response_window() -> timedelta:
    return timedelta(minutes=settings.CARECORE_INTAKE_PAGE_RESPONSE_MINUTES)


def unanswered_page_review_ids(*, now: datetime, limit: int = 1000) -> list[UUID]:
    """Pending reviews whose page has gone unanswered past the response window and which still
    have a ladder step to climb (index `review_page_unanswered`)."""
    return list(
        IntakeReview.objects.filter(
            status=ReviewStatus.PENDING,
            paged_at__lte=now - _page_response_window(),
            escalation_step__lt=LAST_STEP,
        )
        .order_by("paged_at")
        .values_list("id", flat=True)[:limit]
    )


@transaction.atomic
def review_escalate(*, review_id: UUID | str, now: datetime) -> list[int]:
    """Climb the ladder (carecore/clinical/escalation.py) for one unanswered page: record and
    announce every step now due that was not recorded yet; returns those steps.

    Takes the review's row lock, so concurrent sweeps record each step once; completing the
    review answers the page and stops the ladder. Step 1 has no assignee for an intake (reviews
    are not assigned): the care team's coordinators.

    Each step is recorded with whom it told (`ReviewEscalationStep.recipient_ids`), in the same
    transaction as its notifications: the clinical lead, usually off the care team, is offered
    break-glass from the review's page on that record (`review_break_glass_open`).
    """
    review = IntakeReview.objects.select_for_update().filter(pk=review_id).first()
    if review is None or review.status != ReviewStatus.PENDING or review.paged_at is None:
        return []
    gap = timedelta(minutes=settings.CARECORE_INTAKE_PAGE_ESCALATION_STEP_MINUTES)
    due = steps_due(due_at=review.paged_at + _page_response_window(), gap=gap, now=now)
    new_steps = [int(step) for step in due if step > review.escalation_step]
    for step in new_steps:
        recipient_ids = escalation_ladder_user_ids(patient_id=review.patient_id, step=step)
        ReviewEscalationStep.objects.create(
            review=review,
            step=step,
            recipient_ids=[str(user_id) for user_id in recipient_ids],
            created_at=now,
        )
        # Nobody active on a rung (a team without coordinators): recorded all the same, and
        # the next rung follows one gap later.
        notify(
            event=Event.INTAKE_RED_FLAG,
            recipients=active_users(recipient_ids),
            subject_type="questionnaire_response",
            subject_id=review.response_id,
            occurrence=step_occurrence(step, review.paged_at),
            urgent=True,
            link_path=_review_link(review),
        )
        audit_record(
            actor=None,
            object_type="intake_review",
            object_id=review.id,
            patient_id=review.patient_id,
            action=Action.UPDATE,
            detail={"escalation_step": step},
        )
    if new_steps:
        review.escalation_step = new_steps[-1]
        review.save(update_fields=["escalation_step"])
    return new_steps


# --- red flags: an intake saved in progress and abandoned -------------------------------------


def _abandoned_before(now: datetime) -> datetime:
    return now - timedelta(minutes=settings.CARECORE_INTAKE_ABANDONED_AFTER_MINUTES)


def _unscreened_since_last_change() -> Q:
    return Q(red_flags_screened_at__isnull=True) | Q(red_flags_screened_at__lt=F("updated_at"))


def abandoned_intake_ids(*, now: datetime, limit: int = 500) -> list[UUID]:
    """In-progress intakes untouched for the abandonment window whose answers have changed
    since they were last screened (index `response_in_progress_updated`)."""
    return list(
        QuestionnaireResponse.objects.filter(
            _unscreened_since_last_change(),
            status=ResponseStatus.IN_PROGRESS,
            updated_at__lte=_abandoned_before(now),
            version__questionnaire__slug=INTAKE_SLUG,
        )
        .order_by("updated_at")
        .values_list("id", flat=True)[:limit]
    )


@transaction.atomic
def response_raise_abandoned_red_flags(
    *, response_id: UUID | str, now: datetime
) -> IntakeReview | None:
    """Screen an abandoned in-progress intake and raise any new red flag exactly as a submit
    would: the flags go on the response, its review is queued (urgent or expedited) and on-call
    is paged for emergency, crisis and urgent flags. Returns the review, or None when nothing
    new was raised.

    Idempotent: the response is marked screened, so it is looked at again only after the
    patient changes an answer; a flag already raised is never raised twice. Takes the
    response's row lock, like a submit, and re-checks under it: a response submitted or edited
    meanwhile is left to that write.
    """
    response = (
        QuestionnaireResponse.objects.select_for_update(of=("self",))
        .select_related("version__questionnaire", "patient__user")
        .filter(
            _unscreened_since_last_change(),
            pk=response_id,
            status=ResponseStatus.IN_PROGRESS,
            updated_at__lte=_abandoned_before(now),
        )
        .first()
    )
    if response is None:
        return None
    response.red_flags_screened_at = now
    flags = _with_flags_raised_before(response.red_flags, red_flags_in_answers(response))
    raised = flags != response.red_flags
    response.red_flags = flags
    response.save(update_fields=["red_flags", "red_flags_screened_at"])
    if not raised:
        return None
    audit_record(
        actor=None,
        object_type="questionnaire_response",
        object_id=response.id,
        patient_id=response.patient_id,
        action=Action.UPDATE,
        detail={"red_flags_raised": "in_progress_abandoned"},
    )
    return _review_raise(response, now=now)
