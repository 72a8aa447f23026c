"""Urgent pages lost with a killed worker go out again, once, by the sweeper under a real beat,
without waiting for the broker's visibility timeout (an hour) or the routine claim timeout.

The urgent queue's worker is sending an SMS page that hangs (it has claimed the row) and has
already taken a second page's message off the queue (prefetched: in the broker's
"unacknowledged" set, invisible to other workers). The worker is killed. A new worker and beat
start: the sweeper gives up the dead worker's claim on the first page and re-publishes the
second, whose message was lost. Here the urgent delays are seconds (requeue 2 s, claim 3 s with a
2 s hard time limit, a sweep every second) so the suite does not wait; the shipped values
(within 30 s) are checked in test_urgent_queue.py.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.db import transaction

from carecore.accounts.models import Clinician, User
from carecore.notifications.models import (
    AttemptOutcome,
    Channel,
    Event,
    Notification,
    NotificationPreference,
    Status,
)
from carecore.notifications.services import notify
from tests.common.test_run_beat import run_beat, started_beat
from tests.notifications.helpers import use_file_backends
from tests.worker import purge_broker, running_worker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# kombu's Redis transport keeps delivered, unacknowledged messages in this hash.
UNACKED = "unacked"


def _broker() -> redis.Redis:
    return redis.Redis.from_url(django_settings.CELERY_BROKER_URL)


def _hanging_page(clinician: Clinician) -> Notification:
    """An urgent page by SMS alone (the clinician chose SMS over e-mail for pages), whose
    delivery hangs in the blocking backend, so the urgent worker is busy with it."""
    clinician.user.phone = "+12125550100"
    clinician.user.save()
    NotificationPreference.objects.create(
        user=clinician.user, event=Event.TRIAGE_URGENT, channel=Channel.EMAIL, enabled=False
    )
    (sms,) = [row for row in _page_rows(clinician.user) if row.channel != Channel.IN_APP]
    assert sms.channel == Channel.SMS
    return sms


def _page_rows(user: User) -> list[Notification]:
    with transaction.atomic():
        return notify(
            event=Event.TRIAGE_URGENT,
            recipients=[user],
            subject_type="thread",
            subject_id=uuid.uuid4(),
            urgent=True,
            link_path="/inbox/",
        )


def _page(user: User) -> Notification:
    return next(row for row in _page_rows(user) if row.channel == Channel.EMAIL)


def test_urgent_pages_lost_with_a_killed_worker_are_sent_again_once(
    clinician: Clinician,
    coordinator: User,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,  # pytest-django's settings fixture
) -> None:
    # The pages published from here carry these time limits: long enough that the hanging send
    # is still hanging when the test kills its worker, however busy the machine.
    settings.CARECORE_NOTIFICATIONS_URGENT_SOFT_TIME_LIMIT_SECONDS = 300
    settings.CARECORE_NOTIFICATIONS_URGENT_TIME_LIMIT_SECONDS = 310
    outboxes = use_file_backends(monkeypatch, tmp_path)
    marker = tmp_path / "in-send"
    monkeypatch.setenv(
        "TEST_SMS_BACKEND", "tests.notifications.blocking_backends.BlockingSmsBackend"
    )
    monkeypatch.setenv("TEST_BLOCK_STAGE", "before_send")
    monkeypatch.setenv("TEST_BLOCK_MARKER", str(marker))
    purge_broker()

    with running_worker(queues=("urgent",), log_name="doomed-urgent-worker") as doomed:
        sending = _hanging_page(clinician)
        assert wait_until(marker.exists, timeout=60), doomed.log
        prefetched = _page(coordinator)
        # The busy worker prefetched the second page: off the queue, unacknowledged, held by it.
        assert wait_until(lambda: doomed.log.count("] received") == 2), doomed.log
        assert _broker().llen("urgent") == 0
        doomed.kill_hard()

    sending.refresh_from_db()
    prefetched.refresh_from_db()
    assert sending.status == Status.SENDING  # claimed by the dead worker
    assert prefetched.status == Status.PENDING and prefetched.enqueued_at is not None
    assert _broker().hlen(UNACKED) == 1  # back on a queue only after the visibility timeout
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] >= 3600

    monkeypatch.setenv("TEST_SMS_BACKEND", "carecore.notifications.sms.FileSmsBackend")
    for name, seconds in {
        "URGENT_REQUEUE_AFTER": "2",
        "URGENT_SOFT_TIME_LIMIT": "1",
        "URGENT_TIME_LIMIT": "2",
        "URGENT_CLAIM_TIMEOUT": "3",
    }.items():
        monkeypatch.setenv(f"CARECORE_NOTIFICATIONS_{name}_SECONDS", seconds)
    monkeypatch.setenv("CARECORE_NOTIFICATIONS_SWEEP_INTERVAL_SECONDS", "1")
    with (
        running_worker(queues=("urgent",), log_name="urgent-worker") as worker,
        run_beat(tmp_path, "urgent-beat") as (_, beat_log),
    ):
        assert wait_until(lambda: started_beat(beat_log), timeout=60), beat_log.read_text()
        assert wait_until(
            lambda: (
                not Notification.objects.filter(id__in=[sending.id, prefetched.id])
                .exclude(status=Status.SENT)
                .exists()
            ),
            timeout=60,
        ), worker.log

    assert "released 1 stale claim" in worker.log
    assert "notification sweeper enqueued" in worker.log
    assert [path.stem for path in outboxes.texts()] == [str(sending.id)]
    assert [path.stem for path in outboxes.emails()] == [str(prefetched.id)]
    assert outboxes.partials() == []
    assert [attempt.outcome for attempt in sending.attempts.order_by("number")] == [
        AttemptOutcome.ABANDONED,
        AttemptOutcome.SENT,
    ]
    assert [attempt.outcome for attempt in prefetched.attempts.all()] == [AttemptOutcome.SENT]
