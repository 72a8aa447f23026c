"""Availability (weekly rules, time off) and appointments.

The database itself keeps one clinician from having two overlapping active appointments: an
exclusion constraint over (clinician, time range). Nothing in Python is trusted with that.
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeOperators
from django.db import models
from django.db.models import F, Func, Q
from django.utils.timezone import now

from carecore.accounts.models import Clinician, Patient, User


class Weekday(models.IntegerChoices):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


class AvailabilityRule(models.Model):
    """A weekly recurring window, in wall-clock time of the clinician's own zone."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinician = models.ForeignKey(
        Clinician, on_delete=models.CASCADE, related_name="availability_rules"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()
    visit_types = ArrayField(models.CharField(max_length=32))
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["weekday", "start_time", "id"]
        indexes = [models.Index(fields=["clinician", "weekday"])]
        constraints = [
            # Windows never cross midnight: an overnight shift is two rules.
            models.CheckConstraint(
                condition=Q(end_time__gt=F("start_time")), name="availability_rule_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="availability_rule_weekday_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class TimeOff(models.Model):
    """A stretch of real time (aware, stored UTC) when a clinician takes no bookings."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinician = models.ForeignKey(Clinician, on_delete=models.CASCADE, related_name="time_off")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # Staff-facing label ("conference"); never patient data.
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["clinician", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="time_off_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"Time off {self.starts_at:%Y-%m-%d %H:%M}Z-{self.ends_at:%Y-%m-%d %H:%M}Z"


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


# Statuses that hold the clinician's time. Only a cancellation gives the time back; a completed
# or missed visit still happened in that slot.
OCCUPYING_STATUSES = (
    AppointmentStatus.BOOKED,
    AppointmentStatus.COMPLETED,
    AppointmentStatus.NO_SHOW,
)

APPOINTMENT_OVERLAP_CONSTRAINT = "appointment_no_overlap_per_clinician"


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class Appointment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    clinician = models.ForeignKey(Clinician, on_delete=models.PROTECT, related_name="appointments")
    visit_type = models.CharField(max_length=32)
    status = models.CharField(
        max_length=16, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    # [start_at, end_at) as one tstzrange for the exclusion constraint; the services write both
    # and a check constraint keeps them equal.
    during = DateTimeRangeField()
    # Patient-written clinical text: never shown to schedulers, never in an ICS file or a log.
    reason = models.TextField(blank=True)
    join_url = models.URLField(max_length=500, unique=True)
    # Bumped on every change, so calendar apps replace the event (ICS SEQUENCE).
    sequence = models.PositiveIntegerField(default=0)
    booked_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # When the current start time was chosen (booked, or last rescheduled): a cancellation is
    # late only if the visit was already at this time before the late-cancel window opened.
    scheduled_at = models.DateTimeField(default=now)
    late_cancel = models.BooleanField(default=False)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["patient", "start_at"]),
            models.Index(fields=["clinician", "start_at"]),
            models.Index(fields=["start_at", "id"]),
            # The reminder task reads booked visits starting in a short window; the partial
            # index holds only booked rows, so past and cancelled visits are never scanned.
            models.Index(
                fields=["start_at"],
                condition=Q(status="booked"),
                name="appointment_booked_start",
            ),
        ]
        constraints = [
            ExclusionConstraint(
                name=APPOINTMENT_OVERLAP_CONSTRAINT,
                expressions=[
                    ("clinician", RangeOperators.EQUAL),
                    ("during", RangeOperators.OVERLAPS),
                ],
                condition=Q(status__in=[status.value for status in OCCUPYING_STATUSES]),
            ),
            models.CheckConstraint(
                condition=Q(end_at__gt=F("start_at")), name="appointment_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(during=TsTzRange(F("start_at"), F("end_at"))),
                name="appointment_during_matches_start_end",
            ),
            models.CheckConstraint(
                condition=Q(status__in=AppointmentStatus.values), name="appointment_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Appointment {self.id}"
