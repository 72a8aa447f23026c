"""Delivery batches: the rows a transaction (or a sweep) announces are published together in
tasks of up to CARECORE_NOTIFICATIONS_DELIVERY_BATCH ids, and a task delivers its rows one after
the other, each claimed, sent and recorded on its own. What is published is read from Celery's
own `before_task_publish` signal, with the real broker (tests/notifications/test_worker.py runs
the batches in a real worker)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from celery.signals import before_task_publish
from django.core import mail
from django.db import transaction

from carecore.accounts.models import Role, User
from carecore.notifications.models import AttemptOutcome, Channel, Event, Notification, Status
from carecore.notifications.services import DELIVER_TASK, notifications_deliver, notify
from carecore.notifications.tasks import deliver_notification

from ..factories import UserFactory
from ..worker import purge_broker

pytestmark = pytest.mark.django_db

NOON_NY = "2026-06-10T16:00:00Z"


@pytest.fixture
def published() -> Iterator[list[dict[str, Any]]]:
    """Every delivery task published meanwhile: its queue and its ids."""
    tasks: list[dict[str, Any]] = []

    def record(sender: str | None = None, body: Any = None, routing_key: str = "", **_: Any):
        if sender == DELIVER_TASK:
            tasks.append({"queue": routing_key, "ids": list(body[0])})

    purge_broker()
    before_task_publish.connect(record, weak=False)
    yield tasks
    before_task_publish.disconnect(record)
    purge_broker()


def _ids(rows: list[Notification]) -> list[str]:
    return sorted(str(row.id) for row in rows)


def _tasks(published: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """Each task's queue and (sorted) ids, in the order they were published."""
    return [(task["queue"], sorted(task["ids"])) for task in published]


def _patients(count: int) -> list[User]:
    return [UserFactory(role=Role.PATIENT, phone=f"+1212555{n:04d}") for n in range(count)]


def _remind(user: User, *, urgent: bool = False) -> list[Notification]:
    """An e-mail and an SMS (and an in-app row) for `user`: [e-mail, SMS]."""
    rows = [
        row
        for row in notify(
            event=Event.APPOINTMENT_REMINDER,
            recipients=[user],
            subject_type="appointment",
            subject_id=uuid.uuid4(),
            urgent=urgent,
            link_path="/visits/1/",
        )
        if row.channel != Channel.IN_APP
    ]
    return sorted(rows, key=lambda row: row.channel)


@time_machine.travel(NOON_NY, tick=False)
def test_one_transaction_publishes_its_rows_in_batches(
    settings, published, django_capture_on_commit_callbacks
):
    settings.CARECORE_NOTIFICATIONS_DELIVERY_BATCH = 25
    users = _patients(30)

    with django_capture_on_commit_callbacks(execute=True):
        rows = [row for user in users for row in _remind(user)]  # 30 notify calls, 60 rows

    # Three tasks of 20, not 60 tasks of one, nor 25 + 25 + 10.
    assert sorted(len(task["ids"]) for task in published) == [20, 20, 20]
    assert sorted(i for task in published for i in task["ids"]) == _ids(rows)
    assert {task["queue"] for task in published} == {"deliveries"}


@time_machine.travel(NOON_NY, tick=False)
def test_urgent_rows_travel_apart_on_the_urgent_queue(
    published, django_capture_on_commit_callbacks, clinician
):
    (patient,) = _patients(1)
    clinician.user.phone = "+12125550199"
    clinician.user.save()

    with django_capture_on_commit_callbacks(execute=True):
        routine = _remind(patient)
        urgent = [
            row
            for row in notify(
                event=Event.TRIAGE_URGENT,
                recipients=[clinician.user],
                subject_type="thread",
                subject_id=uuid.uuid4(),
                urgent=True,
            )
            if row.channel != Channel.IN_APP
        ]

    assert len(urgent) == 2  # e-mail and SMS
    tasks = _tasks(published)
    # Each page alone (under the urgent time limits), before the routine batch.
    assert sorted(tasks[:2]) == sorted(("urgent", [row_id]) for row_id in _ids(urgent))
    assert tasks[2:] == [("deliveries", _ids(routine))]


@time_machine.travel(NOON_NY, tick=False)
def test_rows_of_a_rolled_back_savepoint_are_not_published_and_the_rest_are(
    published, django_capture_on_commit_callbacks
):
    first, second, third = _patients(3)

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            _remind(first)  # registers the transaction's publish callback inside the savepoint
            raise RuntimeError("rolled back")
        kept = _remind(second) + _remind(third)

    assert _tasks(published) == [("deliveries", _ids(kept))]


@time_machine.travel(NOON_NY, tick=False)
def test_a_batch_delivers_each_row_on_its_own_and_skips_rows_already_taken(sms_outbox):
    user, inactive = _patients(2)
    rows = _remind(user)
    gone = _remind(inactive)
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    deliver_notification(str(rows[0].id))  # already sent by an earlier task

    outcome = deliver_notification(*(str(row.id) for row in [*rows, *gone]))

    # The inactive recipient's rows fail on their own; the batch goes on.
    assert outcome == "2 failed, 1 sent, 1 skipped"
    assert len(mail.outbox) == 1 and len(sms_outbox) == 1
    for row in rows:
        row.refresh_from_db()
        assert row.status == Status.SENT
        assert [a.outcome for a in row.attempts.all()] == [AttemptOutcome.SENT]


@time_machine.travel(NOON_NY, tick=False)
def test_a_batch_past_its_time_budget_publishes_the_rows_it_has_not_started(settings, published):
    settings.CARECORE_NOTIFICATIONS_DELIVERY_BATCH_SECONDS = 0
    (user,) = _patients(1)
    email, sms = _remind(user)
    published.clear()

    outcomes = notifications_deliver(notification_ids=[str(email.id), str(sms.id)])

    assert outcomes == Counter({"sent": 1, "republished": 1})
    assert published == [{"queue": "deliveries", "ids": [str(sms.id)]}]
    sms.refresh_from_db()
    assert sms.status == Status.PENDING and sms.attempt_count == 0


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_mid_batch_sends_the_rest_at_once_on_a_fresh_one(settings, published):
    settings.CARECORE_NOTIFICATIONS_DEFAULT_QUIET_HOURS = ""
    settings.EMAIL_BACKEND = "tests.notifications.failing_backends.ConnectionKillingEmailBackend"
    (user,) = _patients(1)
    email, sms = _remind(user)
    published.clear()

    outcomes = notifications_deliver(notification_ids=[str(email.id), str(sms.id)])

    # The SMS goes back to the queue now, not after the sweeper's requeue delay...
    assert outcomes == Counter({"republished": 1})
    assert published == [{"queue": "deliveries", "ids": [str(sms.id)]}]
    # ...and the e-mail, sent but not recorded, is the sweeper's, with its idempotency key.
    email.refresh_from_db()
    assert email.status == Status.SENDING


@time_machine.travel(NOON_NY, tick=False)
def test_a_callback_that_runs_publishes_its_rows_and_later_ones_never_earlier_ones(
    published, django_capture_on_commit_callbacks
):
    first, second, third = _patients(3)
    _remind(first)  # its callback never runs: the test's transaction never commits

    with django_capture_on_commit_callbacks(execute=True):
        rows = _remind(second) + _remind(third)

    assert _tasks(published) == [("deliveries", _ids(rows))]
