"""PostgreSQL restarted under a real worker: nothing lost, nothing sent twice.

The database is a throwaway copy of the suite's server (tests/local_postgres.py), so this
process, the worker and the sweeper (run here, as beat would) all use it, and restarting it
disturbs no other test. The worker keeps its connections between tasks (CELERY_DB_REUSE_MAX),
and the pool checks each one before a task uses it (carecore/common/postgresql/pool_check.py)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from django.db import InterfaceError, OperationalError, connection, transaction

from carecore.accounts.models import Role
from carecore.notifications.models import AttemptOutcome, Channel, Event, Notification, Status
from carecore.notifications.services import notifications_sweep, notify

from ..factories import UserFactory
from ..local_postgres import ThrowawayPostgres, suite_connection_at
from ..worker import purge_broker, running_worker, wait_until
from .helpers import Outboxes, use_file_backends

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

T = TypeVar("T")


@pytest.fixture
def database() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres()
    try:
        server.create()
        with suite_connection_at(server):
            yield server
    finally:
        server.destroy()


@pytest.fixture
def outboxes(settings, monkeypatch, tmp_path) -> Outboxes:
    settings.CARECORE_NOTIFICATIONS_DEFAULT_QUIET_HOURS = ""
    # The sweeper takes back claims and re-publishes tasks lost in the restart within seconds.
    settings.CARECORE_NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS = 2
    settings.CARECORE_NOTIFICATIONS_REQUEUE_AFTER_SECONDS = 1
    purge_broker()
    return use_file_backends(monkeypatch, tmp_path)


def _worker(database: ThrowawayPostgres, **options: Any) -> Any:
    return running_worker(extra_env={"DATABASE_URL": database.url}, **options)


def _reminders(count: int) -> list[Notification]:
    """`count` e-mails and as many SMS, committed (20 patients, one transaction)."""
    users = [UserFactory(role=Role.PATIENT, phone=f"+1212555{n:04d}") for n in range(20)]
    rows: list[Notification] = []
    with transaction.atomic():
        for index in range(count):
            rows += notify(
                event=Event.APPOINTMENT_REMINDER,
                recipients=[users[index % len(users)]],
                subject_type="appointment",
                subject_id=uuid.uuid4(),
                link_path="/visits/1/",
            )
    return [row for row in rows if row.channel != Channel.IN_APP]


def _retrying(query: Callable[[], T]) -> T:
    """Run a query of this test's own, across the restart: a connection the restart ended is
    handed back, and the pool checks it and opens a fresh one."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return query()
        except (OperationalError, InterfaceError):
            if time.monotonic() > deadline:
                raise
            connection.close()
            time.sleep(0.2)


def _sent(rows: list[Notification]) -> int:
    ids = [row.id for row in rows]
    return _retrying(lambda: Notification.objects.filter(id__in=ids, status=Status.SENT).count())


@pytest.mark.parametrize("mode", ["fast", "immediate"], ids=["restart", "crash-restart"])
def test_a_database_restart_mid_run_loses_and_duplicates_nothing(database, outboxes, mode):
    rows = _reminders(1000)  # 2,000 e-mails and SMS: batched delivery takes seconds over them

    with _worker(database, concurrency=2, log_name=f"db-{mode}-worker") as worker:
        assert wait_until(lambda: _sent(rows) >= 1, timeout=120), worker.log
        database.restart(mode)
        sent_at_restart = _sent(rows)
        deadline = time.monotonic() + 180
        while _sent(rows) < len(rows) and time.monotonic() < deadline:
            _retrying(notifications_sweep)  # as beat would, every few seconds
            time.sleep(0.5)

    assert sent_at_restart < len(rows)  # the restart did come mid-run
    assert _sent(rows) == len(rows)  # nothing lost
    # Nothing twice: one file per row, named by its id, none half-written...
    delivered = sorted(path.stem for path in [*outboxes.emails(), *outboxes.texts()])
    assert delivered == sorted(str(row.id) for row in rows)
    assert outboxes.partials() == []
    # ...and each row recorded as sent by exactly one attempt.
    sent_attempts = Notification.objects.filter(
        id__in=[row.id for row in rows], attempts__outcome=AttemptOutcome.SENT
    ).count()
    assert sent_attempts == len(rows)


def test_the_first_task_after_a_restart_runs_on_a_fresh_connection(database, outboxes):
    with _worker(database, log_name="db-restart-idle-worker") as worker:
        first = _reminders(1)
        assert wait_until(lambda: _sent(first) == len(first)), worker.log

        database.restart("fast")  # ends the idle worker's pooled connection
        connection.close()
        second = _reminders(1)

        # Delivered by their own task, first time: the pool noticed the dead connection.
        assert wait_until(lambda: _sent(second) == len(second), timeout=20), worker.log
        log = worker.log

    for row in second:
        assert [a.outcome for a in row.attempts.all()] == [AttemptOutcome.SENT]
    assert "OperationalError" not in log and "raised unexpected" not in log
