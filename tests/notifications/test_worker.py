"""End to end with real Celery worker processes, a real broker and the file backends.

Each test commits its data (`transaction=True`): the worker is another process.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

import pytest
from django.db import connection, transaction

from carecore.notifications.models import (
    AttemptOutcome,
    Channel,
    Event,
    Notification,
    NotificationPreference,
    Status,
)
from carecore.notifications.services import notify
from carecore.notifications.tasks import deliver_notification, sweep_notifications
from tests.local_servers import ThrowawayRedis

from ..factories import PatientFactory
from ..worker import broker_at, purge_broker, running_worker, wait_until
from .helpers import use_file_backends

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def patient(clinician):
    # Same actor as tests/conftest.py; in a transaction because the care-team assignment locks
    # clinician rows (select_for_update), which autocommit mode (transaction=True) refuses.
    with transaction.atomic():
        return PatientFactory(user__email="patient@example.test", state="NY")


@pytest.fixture(autouse=True)
def _no_quiet_hours(settings):
    # These tests run at whatever time it is; quiet hours have their own tests.
    settings.CARECORE_NOTIFICATIONS_DEFAULT_QUIET_HOURS = ""


@pytest.fixture
def outboxes(monkeypatch, tmp_path):
    purge_broker()
    return use_file_backends(monkeypatch, tmp_path)


@pytest.fixture
def texting_patient(patient):
    patient.user.phone = "+12125550100"
    patient.user.save()
    return patient


def _all_sent() -> bool:
    return not Notification.objects.exclude(status=Status.SENT).exists()


def _remind(user, subject_id=None) -> list[Notification]:
    with transaction.atomic():
        return notify(
            event=Event.APPOINTMENT_REMINDER,
            recipients=[user],
            subject_type="appointment",
            subject_id=subject_id or uuid.uuid4(),
            occurrence="24h",
        )


def test_a_rollback_sends_nothing_and_a_commit_is_delivered_by_the_worker(
    texting_patient, outboxes
):
    rolled_back = uuid.uuid4()
    with running_worker():
        with pytest.raises(RuntimeError), transaction.atomic():
            notify(
                event=Event.APPOINTMENT_REMINDER,
                recipients=[texting_patient.user],
                subject_type="appointment",
                subject_id=rolled_back,
            )
            raise RuntimeError("booking failed")
        created = _remind(texting_patient.user)

        assert wait_until(_all_sent)

    assert not Notification.objects.filter(subject_id=str(rolled_back)).exists()
    email, sms = (next(row for row in created if row.channel == c) for c in ("email", "sms"))
    assert [path.stem for path in outboxes.emails()] == [str(email.id)]
    assert [path.stem for path in outboxes.texts()] == [str(sms.id)]
    assert "You have an upcoming appointment" in outboxes.texts()[0].read_text()


def test_the_same_task_run_twice_sends_one_email(patient, outboxes):
    with running_worker() as worker:
        created = _remind(patient.user)
        email = next(row for row in created if row.channel == Channel.EMAIL)
        # The on-commit publish plus two duplicates of the same task.
        deliver_notification.delay(str(email.id))
        deliver_notification.delay(str(email.id))

        assert wait_until(lambda: worker.log.count("succeeded") >= 3)

    assert len(outboxes.emails()) == 1
    email.refresh_from_db()
    assert email.status == Status.SENT
    assert [attempt.outcome for attempt in email.attempts.all()] == [AttemptOutcome.SENT]


def test_an_event_committed_while_redis_is_down_is_delivered_by_the_sweeper(
    patient, outboxes, monkeypatch, caplog
):
    broker = ThrowawayRedis()
    broker.start()
    monkeypatch.setenv("TEST_CELERY_BROKER_URL", broker.url)
    monkeypatch.setenv("TEST_NOTIFICATIONS_REQUEUE_AFTER_SECONDS", "0")
    try:
        with broker_at(broker.url):
            broker.stop()
            with caplog.at_level(logging.WARNING, logger="carecore.notifications"):
                created = _remind(patient.user)
            email = next(row for row in created if row.channel == Channel.EMAIL)
            assert "left for the sweeper" in caplog.text
            email.refresh_from_db()
            assert email.status == Status.PENDING  # committed, not lost

            broker.start()
            with running_worker():
                sweep_notifications.delay()  # what Celery beat does every 30 s

                assert wait_until(_all_sent)
    finally:
        broker.stop()

    assert [path.stem for path in outboxes.emails()] == [str(email.id)]


@pytest.mark.parametrize("stage", ["before_send", "after_send"])
def test_a_worker_killed_mid_delivery_delivers_exactly_once_after_restart(
    texting_patient, outboxes, monkeypatch, tmp_path, stage
):
    NotificationPreference.objects.create(
        user=texting_patient.user,
        event=Event.APPOINTMENT_REMINDER,
        channel=Channel.EMAIL,
        enabled=False,
    )
    marker = tmp_path / "in-send"
    monkeypatch.setenv(
        "TEST_SMS_BACKEND", "tests.notifications.blocking_backends.BlockingSmsBackend"
    )
    monkeypatch.setenv("TEST_BLOCK_STAGE", stage)
    monkeypatch.setenv("TEST_BLOCK_MARKER", str(marker))

    with running_worker(log_name="doomed-worker") as doomed:
        created = _remind(texting_patient.user)
        sms = next(row for row in created if row.channel == Channel.SMS)
        assert wait_until(marker.exists), doomed.log
        doomed.kill_hard()

    sms.refresh_from_db()
    assert sms.status == Status.SENDING
    assert len(outboxes.texts()) == (1 if stage == "after_send" else 0)

    monkeypatch.setenv("TEST_SMS_BACKEND", "carecore.notifications.sms.FileSmsBackend")
    monkeypatch.setenv("TEST_NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS", "0")
    with running_worker(log_name="restarted-worker"):
        sweep_notifications.delay()

        assert wait_until(_all_sent)

    assert [path.stem for path in outboxes.texts()] == [str(sms.id)]
    assert outboxes.partials() == []
    assert [attempt.outcome for attempt in sms.attempts.order_by("number")] == [
        AttemptOutcome.ABANDONED,
        AttemptOutcome.SENT,
    ]


def test_no_patient_data_reaches_email_sms_in_app_text_or_logs(
    texting_patient, clinician, coordinator, outboxes, client_for, caplog
):
    canary = f"Canary{uuid.uuid4().hex[:12]}"
    for user in (texting_patient.user, clinician.user, coordinator):
        user.first_name, user.last_name = canary, f"{canary}son"
        user.phone = "+12125550100"
        user.save()
    thread_id = uuid.uuid4()

    with caplog.at_level(logging.DEBUG), running_worker(log_name="canary-worker") as worker:
        with transaction.atomic():
            # A message whose text carries the canary is the event; notify never sees the text.
            message_text = f"My {canary} rash is spreading"
            assert canary in message_text
            notify(
                event=Event.MESSAGE_RECEIVED,
                recipients=[texting_patient.user, clinician.user, coordinator],
                subject_type="thread",
                subject_id=thread_id,
                link_path=f"/threads/{thread_id}",
            )
            notify(
                event=Event.TRIAGE_URGENT,
                recipients=[clinician.user, coordinator],
                subject_type="thread",
                subject_id=thread_id,
                urgent=True,
                link_path=f"/threads/{thread_id}",
            )
        assert wait_until(_all_sent)
        worker_log = worker.log

    inbox = client_for(texting_patient.user).get("/api/v1/notifications/").json()["results"]
    in_app_text = " ".join(f"{row['title']} {row['body']} {row['link_path']}" for row in inbox)
    delivered = [path.read_text(errors="replace") for path in outboxes.emails() + outboxes.texts()]

    assert len(outboxes.emails()) >= 3 and len(outboxes.texts()) >= 2  # something was sent
    assert "You have a new secure message. Sign in to read it." in in_app_text
    for text in [*delivered, in_app_text, caplog.text, worker_log]:
        assert canary not in text
        assert "rash" not in text


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_transactions_notifying_the_same_occurrence_write_one_set(patient):
    """The second INSERT waits on the first transaction's key and then inserts nothing."""
    subject = uuid.uuid4()
    first_inserted = threading.Event()
    results: dict[str, list[Notification]] = {}

    def announce(name: str, hold: bool) -> None:
        try:
            with transaction.atomic():
                results[name] = notify(
                    event=Event.APPOINTMENT_REMINDER,
                    recipients=[patient.user],
                    subject_type="appointment",
                    subject_id=subject,
                    occurrence="24h",
                )
                if hold:
                    first_inserted.set()
                    time.sleep(0.5)  # keep the keys locked while the other one tries
        finally:
            connection.close()

    holder = threading.Thread(target=announce, args=("first", True))
    holder.start()
    assert first_inserted.wait(10)
    announce("second", False)
    holder.join(10)

    assert results["first"] and results["second"] == []
    assert Notification.objects.filter(subject_id=str(subject)).count() == len(results["first"])
