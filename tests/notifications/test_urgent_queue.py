"""Urgent deliveries go to the `urgent` queue and are published again sooner when lost.

Against the suite's real Redis broker: what lands in each queue is read from Redis itself.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import redis
import time_machine
from django.conf import settings

from carecore.accounts.models import User
from carecore.notifications.models import Channel, Event, Notification
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
