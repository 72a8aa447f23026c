"""Urgent deliveries go to the `urgent` queue and are published again sooner when lost.

Against the suite's real Redis broker: what lands in each queue is read from Redis itself.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
import redis
import time_machine
from django.conf import settings
from django.utils import timezone

from carecore.accounts.models import User
from carecore.notifications.models import Channel, Event, Notification, Status
from carecore.notifications.services import notifications_sweep, notify
from tests.worker import purge_broker

pytestmark = pytest.mark.django_db

NOON_NY = "2026-06-10T16:00:00Z"


def queued(queue: str) -> int:
    return int(redis.Redis.from_url(settings.CELERY_BROKER_URL).llen(queue))


def _page(user: User) -> Notification:
    (email,) = [
        row
        for row in notify(
            event=Event.TRIAGE_URGENT,
            recipients=[user],
            subject_type="thread",
            subject_id=uuid.uuid4(),
            urgent=True,
            link_path="/inbox/",
        )
        if row.channel == Channel.EMAIL
    ]
    return email


def _reminder(user: User) -> Notification:
    (email,) = [
        row
        for row in notify(
            event=Event.APPOINTMENT_REMINDER,
            recipients=[user],
            subject_type="appointment",
            subject_id=uuid.uuid4(),
            occurrence="24h",
            link_path="/visits/",
        )
        if row.channel == Channel.EMAIL
    ]
    return email


@pytest.fixture
def empty_broker() -> None:
    purge_broker()


def test_an_urgent_page_is_published_to_the_urgent_queue_and_routine_mail_is_not(
    patient, clinician, empty_broker, django_capture_on_commit_callbacks
) -> None:
    with time_machine.travel(NOON_NY, tick=False), django_capture_on_commit_callbacks(execute=True):
        _page(clinician.user)
        _reminder(patient.user)

    assert (queued("urgent"), queued("deliveries")) == (1, 1)
    # Under the urgent time limits (hard, soft), which let its claim be given up sooner.
    (message,) = redis.Redis.from_url(settings.CELERY_BROKER_URL).lrange("urgent", 0, -1)
    assert json.loads(message)["headers"]["timelimit"] == [
        settings.CARECORE_NOTIFICATIONS_URGENT_TIME_LIMIT_SECONDS,
        settings.CARECORE_NOTIFICATIONS_URGENT_SOFT_TIME_LIMIT_SECONDS,
    ]


def test_a_lost_urgent_page_is_published_again_within_30_seconds_routine_mail_later(
    patient, clinician, empty_broker, django_capture_on_commit_callbacks
) -> None:
    with time_machine.travel(NOON_NY, tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True):
            _page(clinician.user)
            _reminder(patient.user)
        purge_broker()  # the broker lost both tasks (a killed worker, a failover)

        clock.shift(timedelta(seconds=settings.CARECORE_NOTIFICATIONS_URGENT_REQUEUE_AFTER_SECONDS))
        with django_capture_on_commit_callbacks(execute=True):
            notifications_sweep()
        assert (queued("urgent"), queued("deliveries")) == (1, 0)

        clock.shift(timedelta(seconds=settings.CARECORE_NOTIFICATIONS_REQUEUE_AFTER_SECONDS))
        with django_capture_on_commit_callbacks(execute=True):
            notifications_sweep()
        assert queued("deliveries") == 1

    worst_case = (
        settings.CARECORE_NOTIFICATIONS_URGENT_REQUEUE_AFTER_SECONDS
        + settings.CELERY_BEAT_SCHEDULE["notifications-sweep"]["schedule"]
    )
    assert worst_case <= 30


def _claimed_by_a_worker_that_died(row: Notification) -> None:
    """As the delivery's claim leaves a row, and as it stays when its worker is killed."""
    Notification.objects.filter(id=row.id).update(
        status=Status.SENDING, claimed_at=timezone.now(), claim_token=uuid.uuid4()
    )


def test_a_page_whose_worker_died_while_sending_goes_out_again_within_30_seconds(
    patient, clinician, empty_broker, django_capture_on_commit_callbacks
) -> None:
    with time_machine.travel(NOON_NY, tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True):
            page, reminder = _page(clinician.user), _reminder(patient.user)
        purge_broker()
        _claimed_by_a_worker_that_died(page)
        _claimed_by_a_worker_that_died(reminder)

        # The claim timeout exceeds the hard time limit: a live worker has stopped by then.
        assert (
            settings.CARECORE_NOTIFICATIONS_URGENT_CLAIM_TIMEOUT_SECONDS
            > settings.CARECORE_NOTIFICATIONS_URGENT_TIME_LIMIT_SECONDS
        )
        clock.shift(timedelta(seconds=settings.CARECORE_NOTIFICATIONS_URGENT_CLAIM_TIMEOUT_SECONDS))
        with django_capture_on_commit_callbacks(execute=True):
            notifications_sweep()
        assert (queued("urgent"), queued("deliveries")) == (0, 0)  # not a moment too soon

        clock.shift(timedelta(seconds=1))
        with django_capture_on_commit_callbacks(execute=True):
            assert notifications_sweep()["released"] == 1
        assert (queued("urgent"), queued("deliveries")) == (1, 0)
        page.refresh_from_db()
        reminder.refresh_from_db()
        assert (page.status, reminder.status) == (Status.PENDING, Status.SENDING)

        clock.shift(timedelta(seconds=settings.CARECORE_NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS))
        with django_capture_on_commit_callbacks(execute=True):
            notifications_sweep()
        assert queued("deliveries") == 1

    worst_case = (
        settings.CARECORE_NOTIFICATIONS_URGENT_CLAIM_TIMEOUT_SECONDS
        + settings.CELERY_BEAT_SCHEDULE["notifications-sweep"]["schedule"]
    )
    assert worst_case <= 30
