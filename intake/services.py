"""Writes for intake: publishing definitions, saving and submitting responses, reviewing them.

Validation, scoring and red flags are pure functions (`intake/engine.py`, `intake/instruments/`,
`intake/red_flags.py`); this module adds the transaction, the audit trail and the review queue.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from carecore.accounts.access import Purpose, access_patient
from carecore.accounts.models import Patient, Role, User
from carecore.accounts.selectors import active_users, care_team_user_ids, on_call_user_ids
from carecore.audit.models import Action
from carecore.audit.services import audit_record
from carecore.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from carecore.notifications.models import Event
from carecore.notifications.services import notify
from carecore.realtime.services import EventType, NewEvent, event_publish_for_patient

from . import engine
from .hooks import response_completed
from .models import (
    IntakeReview,
    Questionnaire,
    QuestionnaireResponse,
    QuestionnaireVersion,
    ResponseStatus,
    ReviewStatus,
)
from .red_flags import red_flags as screen_red_flags
from .selectors import INTAKE_SLUG, questionnaire_current


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


def _complete(response: QuestionnaireResponse) -> IntakeReview:
    """Score against the pinned version, screen for red flags, queue the clinician review."""
    definition = engine.parse_definition(response.version.definition)
    response.scores = engine.score(definition, response.answers)
    response.red_flags = []
    if response.version.questionnaire.slug == INTAKE_SLUG:
        today = timezone.localdate(timezone=response.patient.user.zone)
        response.red_flags = [
            flag.as_dict()
            for flag in screen_red_flags(
                response.answers, date_of_birth=response.patient.date_of_birth, today=today
            )
        ]
    response.status = ResponseStatus.COMPLETED
    response.completed_at = timezone.now()
    return IntakeReview.objects.create(
        response=response, patient=response.patient, urgent=bool(response.red_flags)
    )


def _announce_completed(response: QuestionnaireResponse, review: IntakeReview) -> None:
    """Tell the care team a response needs review; page the lead clinician on a red flag.

    Inside the response's transaction (the outbox rows commit with it). Nothing about the
    answers, scores or flags goes into a notification: only opaque ids in the link.
    """
    link = f"/intake-reviews/{review.id}"
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
        link_path=link,
    )
    if review.urgent:
        notify(
            event=Event.INTAKE_RED_FLAG,
            recipients=active_users(on_call_user_ids(patient_id=response.patient_id)),
            subject_type="questionnaire_response",
            subject_id=response.id,
            urgent=True,  # a clinical page: ignores quiet hours
            link_path=link,
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
        review = _complete(response)
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
    """
    patient = _own_patient(user)
    response = (
        QuestionnaireResponse.objects.select_for_update()
        .select_related("version__questionnaire", "patient__user")
        .filter(pk=response_id, patient=patient)
        .first()
    )
    if response is None:
        raise NotFound()
    if response.status == ResponseStatus.COMPLETED:
        raise ResponseNotEditable()
    if answers is not None:
        response.answers = answers
    completing = status == ResponseStatus.COMPLETED
    _validate(response.version, response.answers, completed=completing)
    review = _complete(response) if completing else None
    response.updated_at = timezone.now()
    response.save(
        update_fields=["answers", "status", "completed_at", "scores", "red_flags", "updated_at"]
    )
    if review is not None:
        response_completed.send(sender=QuestionnaireResponse, response=response)
        _announce_completed(response, review)
    audit_record(
        actor=user,
        object_type="questionnaire_response",
        object_id=response.id,
        patient_id=patient.id,
        action=Action.UPDATE,
    )
    return response


# --- reviews ------------------------------------------------------------------------------


@transaction.atomic
def review_complete(*, user: User, review_id: UUID | str, note: str) -> IntakeReview:
    """A clinician on the care team marks a review done (this clears the care-plan gate)."""
    if user.role != Role.CLINICIAN:
        raise Forbidden("Only clinicians complete intake reviews.")
    review = IntakeReview.objects.select_for_update().filter(pk=review_id).first()
    if review is None:
        raise NotFound()
    # Checks (and audits) that the clinician may see this patient: 404 otherwise.
    access_patient(
        user=user,
        patient_id=review.patient_id,
        purpose=Purpose.CLINICAL,
        for_write=True,
        object_type="intake_review",
    )
    if review.status == ReviewStatus.COMPLETED:
        raise Conflict("This review is already completed.")
    review.status = ReviewStatus.COMPLETED
    review.note = note
    review.completed_at = timezone.now()
    review.completed_by = user
    review.save(update_fields=["status", "note", "completed_at", "completed_by"])
    return review
