"""Questionnaires (versioned, immutable once published), responses, and the clinician review queue.

A response pins the exact version it answered, so it keeps scoring against that version after a
newer one is published. Definitions are data files in `intake/definitions/`, loaded by the
`sync_questionnaires` command; the database refuses to change a published version (migration
0002), so a change to a definition must be a new version.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.timezone import now

from carecore.accounts.models import Patient, User
from carecore.clinical.severity import Severity

SEVERITY_CHOICES = [(severity.value, severity.value) for severity in Severity]


class Questionnaire(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.slug


class QuestionnaireVersion(models.Model):
    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.PROTECT, related_name="versions"
    )
    version = models.CharField(max_length=32)
    url = models.URLField(max_length=300)
    # The whole definition as published (items, options, enableWhen, citation, licence).
    definition = models.JSONField()
    published_at = models.DateTimeField(default=now)
    # The version new responses answer; older versions stay for the responses that pin them.
    is_current = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["questionnaire", "version"], name="questionnaire_version_unique"
            ),
            models.UniqueConstraint(
                fields=["questionnaire"],
                condition=Q(is_current=True),
                name="questionnaire_one_current_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.questionnaire.slug} {self.version}"

    @property
    def canonical(self) -> str:
        """FHIR canonical reference: `url|version`."""
        return f"{self.url}|{self.version}"


class ResponseStatus(models.TextChoices):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class QuestionnaireResponse(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="questionnaire_responses"
    )
    version = models.ForeignKey(
        QuestionnaireVersion, on_delete=models.PROTECT, related_name="responses"
    )
    status = models.CharField(max_length=16, choices=ResponseStatus.choices)
    answers = models.JSONField(default=dict)
    # Computed once, at completion, against the pinned version; never recomputed silently.
    scores = models.JSONField(default=dict)
    # [{"code", "label", "severity"}]: set at completion, or earlier by the abandoned-intake
    # sweep (a flag once raised stays on the record, even if the answer is later changed).
    red_flags = models.JSONField(default=list)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    completed_at = models.DateTimeField(null=True, blank=True)
    # When the abandoned-intake sweep last screened the in-progress answers; a later
    # `updated_at` means the answers changed since and are screened again.
    red_flags_screened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["patient", "status", "-completed_at"], name="response_patient_completed"
            ),
            # The abandoned-intake sweep: in-progress responses by last change.
            models.Index(
                fields=["updated_at"],
                name="response_in_progress_updated",
                condition=Q(status="in_progress"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=ResponseStatus.IN_PROGRESS, completed_at__isnull=True)
                | Q(status=ResponseStatus.COMPLETED, completed_at__isnull=False),
                name="response_completed_at_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return f"Response {self.id}"


class ReviewStatus(models.TextChoices):
    PENDING = "pending"
    COMPLETED = "completed"


class IntakeReview(models.Model):
    """One per completed response (or per abandoned intake whose answers raised a red flag):
    the care team's clinician reviews it.

    `severity` is the worst red flag's (blank: none). Emergency, crisis and urgent make it
    `urgent` (top of the queue, on-call paged at `paged_at`, escalated step by step while
    pending); soon makes it `expedited` (next in the queue, no page). docs/intake.md.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    response = models.OneToOneField(
        QuestionnaireResponse, on_delete=models.PROTECT, related_name="review"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="intake_reviews")
    urgent = models.BooleanField(default=False)
    expedited = models.BooleanField(default=False)
    severity = models.CharField(max_length=16, choices=SEVERITY_CHOICES, blank=True, default="")
    # The on-call page: when it went out (the escalation clock's start) and the last ladder
    # step recorded since (0: none yet). Each step is recorded once, under the review's lock.
    paged_at = models.DateTimeField(null=True, blank=True)
    escalation_step = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [
            # The queue: pending first, urgent first, expedited next, oldest first.
            models.Index(
                fields=["status", "-urgent", "-expedited", "created_at"],
                name="review_queue_order",
            ),
            models.Index(fields=["patient", "status", "severity"], name="review_patient_gate"),
            # The escalation sweep: pending pages by the time they went out.
            models.Index(
                fields=["paged_at"],
                name="review_page_unanswered",
                condition=Q(status="pending", paged_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Review {self.id}"


class ReviewEscalationStep(models.Model):
    """One rung of an unanswered red-flag page's ladder (`review_escalate`), recorded once per
    review (a review is paged at most once: `IntakeReview.paged_at`), with whom it told.
    Reviews escalated before these were recorded have none (only `escalation_step`)."""

    class Step(models.IntegerChoices):
        ASSIGNEE_AND_COORDINATORS = 1
        LEAD_CLINICIAN = 2
        CLINICAL_LEAD = 3

    review = models.ForeignKey(IntakeReview, on_delete=models.CASCADE, related_name="escalations")
    step = models.PositiveSmallIntegerField(choices=Step.choices)
    # User ids told at this step: the `intake_red_flag` page goes to exactly these (the active
    # ones). What lets the clinical lead, off the care team, be offered break-glass from the
    # review's page (`intake.access.escalated_review_patient_id`).
    recipient_ids = models.JSONField(default=list)
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["review", "step"], name="review_escalation_step_once"),
        ]

    def __str__(self) -> str:
        return f"Escalation step {self.step} of review {self.review_id}"
