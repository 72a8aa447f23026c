"""Care plans: versioned plans of goals and activities, and the check-ins goals schedule.

Drafts are the care team's; publishing makes a plan the patient's active one and supersedes the
previous one. Published plans and their contents never change: database triggers refuse it
(intake migration 0004, re-pointed at these tables by careplans migration 0001).

These tables were created by the intake app (intake migration 0003); careplans migration 0001
took them over without copying a row (docs/architecture.md, "Moving care plans out of intake").
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.timezone import now

from carecore.accounts.models import Patient, User


class CarePlanStatus(models.TextChoices):
    DRAFT = "draft"
    ACTIVE = "active"
    SUPERSEDED = "superseded"


class CarePlan(models.Model):
    """A versioned plan. Drafts are the care team's; publishing makes it the patient's active
    plan and supersedes the previous one. Published plans never change (database triggers)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="care_plans")
    number = models.PositiveIntegerField(help_text="1, 2, 3... per patient, in creation order.")
    status = models.CharField(
        max_length=16, choices=CarePlanStatus.choices, default=CarePlanStatus.DRAFT
    )
    summary = models.TextField(blank=True)
    # The responses the draft was built from (ids), so a reviewer can trace every suggestion.
    source_response_ids = models.JSONField(default=list)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "number"], name="care_plan_number_unique"),
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(status=CarePlanStatus.ACTIVE),
                name="care_plan_one_active",
            ),
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(status=CarePlanStatus.DRAFT),
                name="care_plan_one_draft",
            ),
        ]
        indexes = [models.Index(fields=["patient", "status"], name="care_plan_patient_status")]

    def __str__(self) -> str:
        return f"Care plan {self.id}"


class CarePlanGoal(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="goals")
    position = models.PositiveIntegerField()
    code = models.CharField(max_length=64, help_text="The rule that proposed it, or 'custom'.")
    title = models.CharField(max_length=200)
    instrument = models.CharField(max_length=64)
    baseline = models.FloatField(null=True, blank=True)
    target_change = models.FloatField(help_text="A decrease of at least this much.")
    due_date = models.DateField(null=True, blank=True)
    repeat_every_weeks = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return f"Goal {self.id}"

    @property
    def target_value(self) -> float | None:
        return None if self.baseline is None else round(self.baseline - self.target_change, 2)


class CarePlanActivity(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="activities")
    position = models.PositiveIntegerField()
    code = models.CharField(max_length=64, help_text="The rule that proposed it, or 'custom'.")
    rule_version = models.PositiveIntegerField(null=True, blank=True)
    category = models.CharField(max_length=32)
    title = models.CharField(max_length=200)
    instructions = models.TextField()
    rationale = models.TextField(blank=True)
    evidence = models.JSONField(default=list)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return f"Activity {self.id}"


class CheckIn(models.Model):
    """A repeat measure a goal schedules (e.g. POEM every 2 weeks); the patient is reminded."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="check_ins")
    goal = models.ForeignKey(CarePlanGoal, on_delete=models.PROTECT, related_name="check_ins")
    instrument = models.CharField(max_length=64)
    due_at = models.DateTimeField()
    reminded_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    response = models.OneToOneField(
        "intake.QuestionnaireResponse",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="check_in",
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["due_at"],
                name="checkin_due_unreminded",
                condition=Q(reminded_at__isnull=True, cancelled_at__isnull=True),
            ),
            models.Index(fields=["patient", "instrument", "due_at"], name="checkin_patient_due"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["goal", "due_at"], name="checkin_goal_due_unique"),
        ]

    def __str__(self) -> str:
        return f"Check-in {self.id}"
