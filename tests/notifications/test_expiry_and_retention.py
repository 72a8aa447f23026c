"""'Do not deliver after' (expired rows), retention pruning, and held rows in the admin."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from carecore.accounts.models import User
from carecore.notifications.models import (
    AttemptOutcome,
    Channel,
    DeliveryAttempt,
    Event,
    Notification,
    Status,
)
from carecore.notifications.services import (
    notification_deliver,
    notifications_prune,
    notifications_sweep,
    notify,
)

pytestmark = pytest.mark.django_db

NOON_NY = "2026-06-10T16:00:00Z"
NIGHT_NY = "2026-06-10T03:00:00Z"  # 23:00 in New York: inside the default quiet hours


def _reminder(user: User, *, expires_at: datetime | None) -> dict[str, Notification]:
    subject = uuid.uuid4()
    rows = notify(
        event=Event.APPOINTMENT_REMINDER,
        recipients=[user],
        subject_type="appointment",
        subject_id=subject,
        occurrence="1h",
        link_path=f"/visits/{subject}/",
        expires_at=expires_at,
    )
    return {row.channel: row for row in rows}


class TestDoNotDeliverAfter:
    @time_machine.travel(NIGHT_NY, tick=False)
    def test_a_row_held_by_quiet_hours_past_its_deadline_is_expired_at_once(self, patient):
        rows = _reminder(patient.user, expires_at=timezone.now() + timedelta(hours=1))

        assert rows[Channel.EMAIL].status == Status.EXPIRED
        assert rows[Channel.EMAIL].enqueued_at is None
        assert rows[Channel.IN_APP].status == Status.SENT  # the record in the app stays

    @time_machine.travel(NOON_NY, tick=False)
    def test_a_worker_that_comes_too_late_expires_the_row_instead_of_sending(self, patient):
        email = _reminder(patient.user, expires_at=timezone.now() + timedelta(minutes=5))[
            Channel.EMAIL
        ]

        with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=False):
            assert notification_deliver(notification_id=email.id) == "skipped"

        email.refresh_from_db()
        assert email.status == Status.EXPIRED
        assert mail.outbox == [] and not email.attempts.exists()

    @time_machine.travel(NOON_NY, tick=False)
    def test_a_retry_that_would_come_after_the_deadline_expires_the_row(self, patient, settings):
        settings.EMAIL_BACKEND = "tests.notifications.failing_backends.DisconnectingEmailBackend"
        settings.CARECORE_NOTIFICATIONS_RETRY_BASE_SECONDS = 120
        email = _reminder(patient.user, expires_at=timezone.now() + timedelta(minutes=1))[
            Channel.EMAIL
        ]

        assert notification_deliver(notification_id=email.id) == "expired"

        email.refresh_from_db()
        assert email.status == Status.EXPIRED
        assert [a.outcome for a in email.attempts.all()] == [AttemptOutcome.ERROR]

    @time_machine.travel(NOON_NY, tick=False)
    def test_the_sweeper_expires_pending_rows_past_their_deadline(self, patient):
        email = _reminder(patient.user, expires_at=timezone.now() + timedelta(minutes=1))[
            Channel.EMAIL
        ]
        undated = _reminder(patient.user, expires_at=None)[Channel.EMAIL]

        with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=False):
            result = notifications_sweep()

        email.refresh_from_db()
        undated.refresh_from_db()
        assert result["expired"] == 1
        assert email.status == Status.EXPIRED
        assert undated.status == Status.PENDING

    @time_machine.travel(NOON_NY, tick=False)
    def test_a_row_within_its_deadline_is_sent(self, patient):
        email = _reminder(patient.user, expires_at=timezone.now() + timedelta(hours=1))[
            Channel.EMAIL
        ]

        assert notification_deliver(notification_id=email.id) == "sent"


class TestRetention:
    @pytest.fixture(autouse=True)
    def _config(self, settings):
        settings.CARECORE_NOTIFICATIONS_RETENTION_DAYS = 30
        settings.CARECORE_NOTIFICATIONS_PRUNE_BATCH = 2

    def _delivered(self, user: User) -> dict[str, Notification]:
        rows = _reminder(user, expires_at=None)
        notification_deliver(notification_id=rows[Channel.EMAIL].id)
        return rows

    @time_machine.travel(NOON_NY, tick=False)
    def test_it_prunes_finished_rows_and_their_attempts_older_than_the_retention_age(self, patient):
        old = [self._delivered(patient.user) for _ in range(3)]
        old_expired = _reminder(patient.user, expires_at=timezone.now())
        Notification.objects.filter(channel=Channel.IN_APP).update(read_at=timezone.now())
        unread = _reminder(patient.user, expires_at=None)[Channel.IN_APP]
        failed = _reminder(patient.user, expires_at=None)[Channel.EMAIL]
        Notification.objects.filter(id=failed.id).update(status=Status.FAILED)

        with time_machine.travel(timezone.now() + timedelta(days=29), tick=False):
            recent = self._delivered(patient.user)
            assert notifications_prune() == 0
        with time_machine.travel(timezone.now() + timedelta(days=31), tick=False):
            pruned = notifications_prune()  # several batches of 2 in one run

        remaining = set(Notification.objects.values_list("id", flat=True))
        gone = {row.id for rows in [*old, old_expired] for row in rows.values()}
        assert pruned == len(gone)
        assert remaining.isdisjoint(gone)
        assert {unread.id, failed.id, *(row.id for row in recent.values())} <= remaining
        assert not DeliveryAttempt.objects.filter(notification_id__in=gone).exists()

    @time_machine.travel(NOON_NY, tick=False)
    def test_one_run_stops_after_its_batch_limit_and_the_next_goes_on(self, patient, settings):
        settings.CARECORE_NOTIFICATIONS_PRUNE_MAX_BATCHES = 1
        for _ in range(2):
            self._delivered(patient.user)
        Notification.objects.filter(channel=Channel.IN_APP).delete()

        with time_machine.travel(timezone.now() + timedelta(days=31), tick=False):
            assert [notifications_prune(), notifications_prune(), notifications_prune()] == [
                2,
                0,
                0,
            ]

    def test_beat_runs_the_prune_task(self, settings):
        assert settings.CELERY_BEAT_SCHEDULE["notifications-prune"]["task"] == (
            "notifications.prune"
        )


class TestAdminShowsHeldAndExpiredRows:
    @time_machine.travel(NIGHT_NY, tick=False)
    def test_held_rows_say_when_they_will_go(self, patient, superuser_client):
        email = _reminder(patient.user, expires_at=None)[Channel.EMAIL]

        listing = superuser_client.get("/admin/notifications/notification/?held=quiet_hours")

        page = listing.content.decode()
        assert listing.status_code == 200 and str(email.id) in page
        # 08:00 in New York, shown in UTC (the admin's zone).
        assert "held by quiet hours until 2026-06-10 12:00 UTC" in page

    @time_machine.travel(NOON_NY, tick=False)
    def test_expired_rows_are_listed_under_their_status(self, patient, superuser_client):
        email = _reminder(patient.user, expires_at=timezone.now())[Channel.EMAIL]

        listing = superuser_client.get("/admin/notifications/notification/?status__exact=expired")

        assert listing.status_code == 200 and str(email.id) in listing.content.decode()
