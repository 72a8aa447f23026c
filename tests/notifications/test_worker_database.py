"""Worker database connections are reused between tasks (CELERY_DB_REUSE_MAX, the default) and
checked before use (the pool's check, carecore/common/postgresql/pool_check.py): a real worker
whose PostgreSQL connections are killed (pg_terminate_backend, as a database restart or failover
would) loses and duplicates nothing."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction

from carecore.common.postgresql.pool_check import PooledConnectionCheck
from carecore.notifications.models import AttemptOutcome, Channel, Event, Notification, Status
from carecore.notifications.services import notifications_sweep, notify

from ..factories import PatientFactory
from ..worker import purge_broker, running_worker, wait_until
from .helpers import use_file_backends

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _setup(settings, monkeypatch, tmp_path):
    settings.CARECORE_NOTIFICATIONS_DEFAULT_QUIET_HOURS = ""
    purge_broker()
    return use_file_backends(monkeypatch, tmp_path)


@pytest.fixture
def patient(clinician):
    with transaction.atomic():
        return PatientFactory(user__email="patient@example.test", state="NY")


def _emails(user, count: int) -> list[Notification]:
    rows: list[Notification] = []
    with transaction.atomic():
        for _ in range(count):
            rows += notify(
                event=Event.APPOINTMENT_REMINDER,
                recipients=[user],
                subject_type="appointment",
                subject_id=uuid.uuid4(),
                link_path="/visits/1/",
            )
    return [row for row in rows if row.channel == Channel.EMAIL]


# libpq names every connection the worker opens after this (application_name), so the test
# kills the worker's connections and nobody else's.
WORKER_APP_NAME = "carecore-test-worker"


def _worker(**options: Any) -> Any:
    return running_worker(extra_env={"PGAPPNAME": WORKER_APP_NAME}, **options)


def _terminate_worker_backends() -> int:
    """Kill the worker's connections to the test database, as a database restart would."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = %s
            """,
            [WORKER_APP_NAME],
        )
        return int(cursor.fetchone()[0])


def _delivery_under_way() -> bool:
    return Notification.objects.filter(channel=Channel.EMAIL).exclude(status=Status.SENT).exists()


class _Kills:
    count = 0


@contextmanager
def _killing_worker_connections(*, every_seconds: float, at_most: int) -> Iterator[_Kills]:
    """Kill the worker's connections from a thread of its own, now and then while committed
    e-mails wait for delivery, until the block ends; yields how many kills found one."""
    kills = _Kills()
    done = threading.Event()

    def kill_now_and_then() -> None:
        try:
            while not done.wait(every_seconds) and kills.count < at_most:
                if _delivery_under_way():
                    kills.count += _terminate_worker_backends() and 1
        finally:
            connection.close()

    thread = threading.Thread(target=kill_now_and_then, daemon=True)
    thread.start()
    try:
        yield kills
    finally:
        done.set()
        thread.join(timeout=10)


def _all_sent(rows: list[Notification]) -> bool:
    return (
        not Notification.objects.filter(id__in=[r.id for r in rows])
        .exclude(status=Status.SENT)
        .exists()
    )


def test_connection_reuse_is_the_default_and_checked():
    assert settings.CELERY_DB_REUSE_MAX > 0
    # The pool's check (tests/common/test_pool_check.py), whichever process makes the pool.
    connection.ensure_connection()
    pool = connection.pool  # type: ignore[attr-defined]  # PostgreSQL's wrapper has one
    assert isinstance(pool._check, PooledConnectionCheck)


def test_a_task_after_its_connection_was_killed_runs_on_a_fresh_one(patient, _setup):
    with _worker(log_name="reuse-worker") as worker:
        first = _emails(patient.user, 1)
        assert wait_until(lambda: _all_sent(first))

        assert _terminate_worker_backends() >= 1  # the idle worker's pooled connection
        second = _emails(patient.user, 1)

        # Delivered by its own task, first time: no error, no sweeper needed.
        assert wait_until(lambda: _all_sent(second), timeout=15), worker.log
        log = worker.log

    assert [a.outcome for a in second[0].attempts.all()] == [AttemptOutcome.SENT]
    assert "OperationalError" not in log and "raised unexpected" not in log


def test_killing_the_workers_connections_mid_run_loses_and_duplicates_nothing(
    patient, _setup, settings
):
    outboxes = _setup
    # The sweeper (run here, as beat would) takes back claims of killed deliveries quickly.
    settings.CARECORE_NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS = 2
    settings.CARECORE_NOTIFICATIONS_REQUEUE_AFTER_SECONDS = 1
    with _worker(concurrency=2, log_name="killed-connections-worker") as worker:
        # Once the worker is up and holds database connections (one delivery first), a thread
        # kills them every 50 ms while committed e-mails wait: the rows go out as fast as they
        # are committed, so kills looked for only after this thread made them came too late.
        warm_up = _emails(patient.user, 1)
        assert wait_until(lambda: _all_sent(warm_up)), worker.log
        with _killing_worker_connections(every_seconds=0.05, at_most=10) as kills:
            # Enough rows that batched delivery (hundreds a second) is still running when
            # kills land.
            rows = _emails(patient.user, 1000)
            deadline = time.monotonic() + 120
            while not _all_sent(rows) and time.monotonic() < deadline:
                time.sleep(0.3)
                notifications_sweep()  # as beat would

    assert kills.count >= 1
    assert _all_sent(rows)
    # Exactly one e-mail per row, named by its id, and no half-written file.
    assert sorted(path.stem for path in outboxes.emails()) == sorted(
        str(r.id) for r in [*warm_up, *rows]
    )
    assert outboxes.partials() == []
    # Each row was recorded as sent once.
    sent_attempts = Notification.objects.filter(
        id__in=[r.id for r in rows], attempts__outcome=AttemptOutcome.SENT
    ).count()
    assert sent_attempts == len(rows)
