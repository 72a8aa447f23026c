"""The announcer (messaging/announcements.py): a send records one row and wakes a worker, which
tells people of the message exactly once, in the order the messages were sent.

What people are told (recipients, channels, quiet hours, pages) is in test_notifications.py; the
feed events in tests/realtime/; a real worker announcing replies over HTTP in
tests/realtime/test_uvicorn.py.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from unittest import mock

import pytest
import redis
from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.test import override_settings

from carecore.common.shared_cache import shared_cache
from carecore.notifications.models import Channel, Event, Notification
from carecore.realtime.models import EventType, FeedEvent
from messaging import announcements, services
from messaging.announcements import ANNOUNCE_TASK, WAKE_KEY, announcements_deliver
from messaging.models import Announcement, Thread

from ..factories import PatientFactory
from ..outbox import announce
from ..worker import purge_broker
from .conftest import open_thread

pytestmark = pytest.mark.django_db


def queued_announcers() -> int:
    """Announcer tasks waiting in the test broker's urgent queue."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return sum(ANNOUNCE_TASK.encode() in item for item in broker.lrange("urgent", 0, -1))


def send(thread: Thread, body: str = "More news") -> None:
    services.message_send(actor=thread.patient.user, thread_id=thread.id, body=body)


def test_a_burst_of_sends_queues_one_wake_up_until_the_announcer_runs(
    thread, django_capture_on_commit_callbacks
):
    purge_broker()
    for number in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            send(thread, f"News {number}")

    assert queued_announcers() == 1
    assert Announcement.objects.count() == 5

    assert announcements_deliver() == 5
    with django_capture_on_commit_callbacks(execute=True):
        send(thread)

    # The announcer cleared the mark as it started: the next send wakes it again.
    assert queued_announcers() == 2


def test_a_send_whose_wake_up_fails_still_succeeds_and_the_sweep_announces_it(
    thread, clinician, django_capture_on_commit_callbacks, caplog
):
    unreachable = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": "redis://127.0.0.1:9/0",  # the discard port: nothing answers
        }
    }
    with (
        override_settings(CACHES=unreachable),
        caplog.at_level(logging.WARNING, logger="carecore.messaging"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        send(thread, "My rash is spreading")

    assert "announcement wake-up failed (ConnectionError)" in caplog.text
    assert "rash" not in caplog.text
    # Beat's sweep runs the same task every few seconds.
    assert announce() == 1
    assert (
        Notification.objects.filter(
            event=Event.MESSAGE_RECEIVED, recipient=clinician.user, channel=Channel.IN_APP
        ).count()
        == 2
    )  # the open and this send


def test_the_feed_numbers_a_threads_messages_in_the_order_they_were_sent(patient, clinician):
    thread = open_thread(patient)
    for number in range(7):
        send(thread, f"News {number}")

    # Three batches of 3, 3 and 1.
    assert announcements_deliver(batch=3) == 7

    created = [
        event.data["message_id"]
        for event in FeedEvent.objects.filter(
            user=clinician.user, type=EventType.MESSAGE_CREATED
        ).order_by("seq")
    ]
    sent = [str(pk) for pk in thread.messages.order_by("position").values_list("id", flat=True)]
    assert created == sent
    assert not Announcement.objects.exists()


def test_the_beat_sweep_and_the_route_are_configured():
    assert settings.CELERY_BEAT_SCHEDULE["messaging-announce-messages"] == {
        "task": ANNOUNCE_TASK,
        "schedule": settings.CARECORE_MESSAGING_ANNOUNCE_SWEEP_SECONDS,
    }
    assert settings.CELERY_TASK_ROUTES[ANNOUNCE_TASK] == {"queue": "urgent"}


@pytest.mark.django_db(transaction=True)
def test_concurrent_announcers_tell_everyone_of_each_message_exactly_once(clinician):
    # The care-team assignment locks clinician rows: it needs a transaction, which a
    # transactional test does not put around it.
    with transaction.atomic():
        patients = [PatientFactory(state="NY"), PatientFactory(state="NY")]
    threads = [open_thread(patient) for patient in patients]
    for number in range(30):
        for thread in threads:
            send(thread, f"News {number}")
    assert Announcement.objects.count() == 60
    shared_cache().delete(WAKE_KEY)
    announced: list[int] = []
    errors: list[BaseException] = []

    def announcer() -> None:
        try:
            announced.append(announcements_deliver(batch=7))
        except BaseException as error:  # reported below, never lost in the thread
            errors.append(error)
        finally:
            close_old_connections()

    workers = [threading.Thread(target=announcer) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert errors == []
    assert sum(announced) == 60
    assert not Announcement.objects.exists()
    # For each thread, one in-app row per message for its clinician (the open and 30 sends),
    # and the messages' events in the order they were sent.
    for thread in threads:
        per_message = Counter(
            Notification.objects.filter(
                event=Event.MESSAGE_RECEIVED,
                recipient=clinician.user,
                channel=Channel.IN_APP,
                subject_id=str(thread.id),
            ).values_list("occurrence", flat=True)
        )
        assert len(per_message) == 31 and set(per_message.values()) == {1}
        feed = list(
            FeedEvent.objects.filter(
                user=clinician.user,
                type=EventType.MESSAGE_CREATED,
                data__thread_id=str(thread.id),
            )
            .order_by("seq")
            .values_list("data__message_id", flat=True)
        )
        sent = thread.messages.order_by("position").values_list("id", flat=True)
        assert feed == [str(pk) for pk in sent]


def test_a_send_that_commits_while_the_mark_is_still_set_is_announced_by_the_last_look(
    thread, monkeypatch
):
    # The send's wake-up found the running announcer's mark, so it queued nothing; the
    # announcer, about to stop, clears the mark and looks once more.
    clear = announcements._clear_wake_mark
    late: list[Thread] = []

    def a_send_commits_first() -> None:
        if not late:
            late.append(thread)
            send(thread, "Sent as the announcer was stopping")
        clear()

    monkeypatch.setattr(announcements, "_clear_wake_mark", a_send_commits_first)
    send(thread)

    assert announcements_deliver() == 2
    assert not Announcement.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_announcer_that_finds_another_in_a_batch_leaves_the_work_to_it(clinician):
    # Committed: in a test's one transaction this connection would hold the (transaction-long)
    # lock itself since its first batch.
    with transaction.atomic():  # the care-team assignment needs one
        patient = PatientFactory(state="NY")
    thread = open_thread(patient)
    send(thread)
    holder = connections.create_connection("default")
    try:
        with holder.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(announcements._ANNOUNCER_LOCK)
            assert cursor.fetchone() == (True,)

            assert announcements_deliver() == 0
            assert Announcement.objects.count() == 1

            cursor.execute("ROLLBACK")
    finally:
        holder.close()

    assert announcements_deliver() == 1


@pytest.mark.django_db(transaction=True)
def test_while_messages_keep_coming_the_announcer_gathers_them_into_fewer_batches(clinician):
    with transaction.atomic():  # the care-team assignment needs one
        patient = PatientFactory(state="NY")
    thread = open_thread(patient)
    batches: list[int] = []
    batch = announcements._announce_batch

    def counted(size: int) -> int | None:
        announced = batch(size)
        if announced:
            batches.append(announced)
        return announced

    def keep_sending() -> None:
        try:
            for number in range(12):
                send(thread, f"News {number}")
                time.sleep(0.02)
        finally:
            close_old_connections()

    sender = threading.Thread(target=keep_sending)
    with mock.patch.object(announcements, "_announce_batch", side_effect=counted):
        sender.start()
        time.sleep(0.05)
        announced = announcements_deliver(linger=0.1)
        sender.join(timeout=30)
        announced += announcements_deliver(linger=0.1)

    assert announced == 12
    # 12 messages 20 ms apart, gathered for 100 ms at a time: a handful of batches, not 12.
    assert len(batches) <= 6, batches
