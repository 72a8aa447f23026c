"""The notification outbox, its delivery attempts, and each user's notification preferences.

An outbox row is written in the same transaction as the event it announces; Celery delivers it
afterwards (see services.py for the state machine). Rows never hold patient data: only the event
code, opaque subject ids and an in-app path made of opaque ids.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Event(models.TextChoices):
    MESSAGE_RECEIVED = "message_received"
    THREAD_ESCALATED = "thread_escalated"
    TRIAGE_URGENT = "triage_urgent"
    APPOINTMENT_BOOKED = "appointment_booked"
    APPOINTMENT_CANCELLED = "appointment_cancelled"
    APPOINTMENT_RESCHEDULED = "appointment_rescheduled"
    APPOINTMENT_REMINDER = "appointment_reminder"
    INTAKE_SUBMITTED = "intake_submitted"
    INTAKE_RED_FLAG = "intake_red_flag"
    CARE_PLAN_PUBLISHED = "care_plan_published"
    CHECKIN_DUE = "checkin_due"
    PREVISIT_SUMMARY = "previsit_summary"
    # To the patient's lead clinician and the admins: someone opened a break-glass grant.
    BREAK_GLASS_OPENED = "break_glass_opened"


class Channel(models.TextChoices):
    EMAIL = "email"
    SMS = "sms"
    IN_APP = "in_app"
    PUSH = "push"  # web push to the user's registered browsers (PushSubscription)


class Status(models.TextChoices):
    PENDING = "pending"  # waiting for its due time or for a worker
    SENDING = "sending"  # claimed by one worker; the claim expires (see the sweeper)
    SENT = "sent"
    FAILED = "failed"  # out of attempts; an admin may re-send it
    EXPIRED = "expired"  # not delivered by its `expires_at`: dropped rather than sent late


class Notification(models.Model):
    """One outbox row: one event for one recipient on one channel.

    The table is partitioned by month of `created_at` (notifications migration 0005,
    docs/scaling.md "Growing tables"): its database primary key is (id, created_at) and the
    idempotency key contains `created_at`; `services.notify` keeps the key unique across months
    under a lock per key. Delivery attempts point at rows through reference triggers."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.CharField(max_length=40, choices=Event.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    subject_type = models.CharField(max_length=40)
    subject_id = models.CharField(max_length=64)
    # Tells repeated announcements of one subject apart, e.g. the "24h" and "1h" reminders.
    occurrence = models.CharField(max_length=40, blank=True, default="")
    urgent = models.BooleanField(default=False)
    link_path = models.CharField(max_length=200, blank=True, default="")

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    # Not before this time: quiet hours and retry backoff move it forward.
    due_at = models.DateTimeField(default=timezone.now)
    # "Do not deliver after": a row still undelivered at this time ends as `expired` (e.g. the
    # 1 h reminder once the visit has started). Null: no limit.
    expires_at = models.DateTimeField(null=True, blank=True)
    # When the last enqueued task was due to run; the sweeper re-enqueues rows whose task is
    # overdue (lost by the broker) and rows that were never enqueued (deferred ones).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Identifies the current claim, so a worker whose claim expired cannot overwrite the outcome
    # of the attempt that replaced it.
    claim_token = models.UUIDField(null=True, blank=True)
    attempt_count = models.PositiveIntegerField(default=0)
    # Attempts since creation or the last admin re-send; `failed` after the configured maximum.
    round_attempt_count = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")

    # In-app only: what the list shows (rendered from a template without patient data).
    title = models.CharField(max_length=200, blank=True, default="")
    body = models.CharField(max_length=500, blank=True, default="")
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "event",
                    "recipient",
                    "channel",
                    "subject_type",
                    "subject_id",
                    "occurrence",
                    "created_at",
                ],
                name="notification_idempotency_key",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[choice.value for choice in Status]),
                name="notification_status_valid",
            ),
        ]
        indexes = [
            # The in-app list: one user's rows, newest first.
            models.Index(
                fields=["recipient", "-created_at", "-id"],
                condition=Q(channel="in_app"),
                name="notification_inbox",
            ),
            # Retention pruning: finished rows by age.
            models.Index(
                fields=["created_at"],
                condition=Q(status__in=["sent", "expired"]),
                name="notification_finished",
            ),
            # The sweeper only ever looks at unfinished rows; the partial index stays small.
            models.Index(
                fields=["status", "due_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="notification_unfinished",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} by {self.channel} ({self.status})"


class AttemptOutcome(models.TextChoices):
    STARTED = "started"  # a worker holds the claim
    SENT = "sent"
    ERROR = "error"
    ABANDONED = "abandoned"  # the worker vanished (crash, kill -9); the sweeper took it back


class DeliveryAttempt(models.Model):
    """One try at delivering a notification: the delivery record, kept for every attempt."""

    # Checked by reference triggers, not a foreign key: notifications are partitioned.
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="attempts", db_constraint=False
    )
    number = models.PositiveIntegerField()
    claim_token = models.UUIDField()
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=10, choices=AttemptOutcome.choices, default=AttemptOutcome.STARTED
    )
    error = models.CharField(max_length=500, blank=True, default="")
    worker = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "number"], name="delivery_attempt_number_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"Attempt {self.number}: {self.outcome}"


class NotificationPreference(models.Model):
    """An explicit choice; without a row the role default applies (see preferences.py)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    event = models.CharField(max_length=40, choices=Event.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    enabled = models.BooleanField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "event", "channel"], name="notification_preference_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event}/{self.channel}: {'on' if self.enabled else 'off'}"


class QuietHours(models.Model):
    """A user's own quiet hours (local wall-clock times in their time zone).

    No row: the configured default applies. A row with both times null: no quiet hours.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="quiet_hours",
    )
    start = models.TimeField(null=True, blank=True)
    end = models.TimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "quiet hours"
        constraints = [
            models.CheckConstraint(
                condition=(Q(start__isnull=True, end__isnull=True))
                | (Q(start__isnull=False, end__isnull=False) & ~Q(start=models.F("end"))),
                name="quiet_hours_both_or_neither",
            ),
        ]

    def __str__(self) -> str:
        return f"Quiet hours of {self.user_id}"


class PushSubscription(models.Model):
    """One browser's web push subscription (the W3C PushSubscription a portal page registers).

    The endpoint is a capability URL at the browser vendor's push service; `p256dh` and `auth`
    are the browser's keys that encrypt each payload (RFC 8291), so the push service never
    sees the text. A subscription the push service reports gone (404/410) is deleted.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    last_success_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Push subscription {self.id}"
