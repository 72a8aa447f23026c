"""An urgent page whose broker message died with a killed worker is published again by the
sweeper (run by a real beat) and delivered once, without waiting for the broker's visibility
timeout (an hour).

The urgent queue's worker is busy with a delivery that hangs, and has already taken the page's
message off the queue (prefetched: it sits in the broker's "unacknowledged" set, invisible to
other workers). The worker is killed. A new worker and beat start; the sweeper finds the page
pending and re-publishes it. Here the urgent requeue delay is 2 s and the sweep every second so
the suite does not wait; the shipped values (15 s + 10 s, within 30 s) are checked in
test_urgent_queue.py.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import transaction

from carecore.accounts.models import User
from carecore.notifications.models import (
    AttemptOutcome,
    Channel,
    Event,
    Notification,
    NotificationPreference,
    Status,
)
from carecore.notifications.services import notify
from carecore.notifications.tasks import deliver_notification
from tests.common.test_run_beat import run_beat, started_beat
from tests.notifications.helpers import use_file_backends
from tests.worker import purge_broker, running_worker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# kombu's Redis transport keeps delivered, unacknowledged messages in this hash.
UNACKED = "unacked"


def _broker() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def _hanging_delivery(user: User) -> Notification:
    """A routine SMS whose delivery hangs (the blocking backend), published to `urgent` so the
    urgent worker is busy with it."""
    user.phone = "+12125550100"
    user.save()
    NotificationPreference.objects.create(
        user=user, event=Event.APPOINTMENT_REMINDER, channel=Channel.EMAIL, enabled=False
    )
    with transaction.atomic():
        rows = notify(
            event=Event.APPOINTMENT_REMINDER,
            recipients=[user],
            subject_type="appointment",
            subject_id=uuid.uuid4(),
            occurrence="24h",
        )
    sms = next(row for row in rows if row.channel == Channel.SMS)
    purge_broker()  # drop its on-commit publish to `deliveries`
    deliver_notification.apply_async(args=[str(sms.id)], queue="urgent")
    return sms


def _page(user: User) -> Notification:
    with transaction.atomic():
        rows = notify(
            event=Event.TRIAGE_URGENT,
            recipients=[user],
            subject_type="thread",
            subject_id=uuid.uuid4(),
            urgent=True,
            link_path="/inbox/",
        )
    return next(row for row in rows if row.channel == Channel.EMAIL)


def test_an_urgent_page_lost_with_a_killed_worker_is_published_again_and_sent_once(
    patient, coordinator: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARECORE_NOTIFICATIONS_DEFAULT_QUIET_HOURS", "")
    outboxes = use_file_backends(monkeypatch, tmp_path)
    marker = tmp_path / "in-send"
    monkeypatch.setenv(
        "TEST_SMS_BACKEND", "tests.notifications.blocking_backends.BlockingSmsBackend"
    )
    monkeypatch.setenv("TEST_BLOCK_STAGE", "before_send")
    monkeypatch.setenv("TEST_BLOCK_MARKER", str(marker))
    purge_broker()

    with running_worker(queues=("urgent",), log_name="doomed-urgent-worker") as doomed:
        _hanging_delivery(patient.user)
        assert wait_until(marker.exists, timeout=60), doomed.log
        page = _page(coordinator)
        # The busy worker prefetched the page: off the queue, unacknowledged, held by it.
        assert wait_until(lambda: _broker().llen("urgent") == 0), doomed.log
        doomed.kill_hard()

    page.refresh_from_db()
    assert page.status == Status.PENDING and page.enqueued_at is not None
    assert _broker().hlen(UNACKED) == 1  # back on a queue only after the visibility timeout
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] >= 3600

    monkeypatch.setenv("TEST_SMS_BACKEND", "carecore.notifications.sms.FileSmsBackend")
    monkeypatch.setenv("CARECORE_NOTIFICATIONS_URGENT_REQUEUE_AFTER_SECONDS", "2")
    monkeypatch.setenv("CARECORE_NOTIFICATIONS_SWEEP_INTERVAL_SECONDS", "1")
    with (
        running_worker(queues=("urgent",), log_name="urgent-worker") as worker,
        run_beat(tmp_path, "urgent-beat") as (_, beat_log),
    ):
        assert wait_until(lambda: started_beat(beat_log), timeout=60), beat_log.read_text()
        assert wait_until(
            lambda: Notification.objects.get(id=page.id).status == Status.SENT, timeout=60
        ), worker.log

    assert "notification sweeper enqueued" in worker.log
    assert [path.stem for path in outboxes.emails()] == [str(page.id)]
    assert [attempt.outcome for attempt in page.attempts.all()] == [AttemptOutcome.SENT]
