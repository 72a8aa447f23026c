"""The real-time feed: one row per event per user, numbered per user without gaps.

The database is the source of truth. A WebSocket only carries a copy of these rows, published
after the transaction that wrote them committed (docs/realtime.md); whatever a socket misses is
replayed from here. Rows hold ids and status words only, never patient text (services.py checks).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class EventType(models.TextChoices):
    MESSAGE_CREATED = "message.created"
    MESSAGE_READ = "message.read"
    THREAD_UPDATED = "thread.updated"
    NOTIFICATION_CREATED = "notification.created"
    APPOINTMENT_UPDATED = "appointment.updated"
    REVIEW_CREATED = "review.created"
    CARE_PLAN_PUBLISHED = "care_plan.published"


class EventSequence(models.Model):
    """A user's last event number. Its row lock serialises numbering for that user, so a number
    is only handed out after the previous one committed (or rolled back and was not used)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )
    last_seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"Event sequence of {self.user_id}"


class FeedEvent(models.Model):
    """One event for one user: `seq` is that user's, strictly increasing and gapless.

    The table is partitioned by month of `at` (realtime migration 0002, docs/scaling.md
    "Growing tables"): its database primary key is (id, at) and the unique constraint contains
    `at`. Numbers are still unique per user without it: each is handed out once, under the
    user's EventSequence row lock."""

    id = models.BigAutoField(primary_key=True)
    # Found by `feed_event_user_seq_unique` (user, seq, at): an index of its own would only add
    # work to every event's INSERT (a send writes one per recipient).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    seq = models.BigIntegerField()
    type = models.CharField(max_length=40, choices=EventType.choices)
    data = models.JSONField(default=dict)
    # The database clock when the number was handed out (under the sequence lock), so it grows
    # with `seq` for each user and pruning by age removes a prefix of the feed, never a middle.
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "seq", "at"], name="feed_event_user_seq_unique"
            ),
        ]
        indexes = [models.Index(fields=["at"], name="feed_event_at")]

    def __str__(self) -> str:
        return f"{self.type} #{self.seq}"
