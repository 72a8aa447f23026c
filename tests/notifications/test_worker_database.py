"""Worker database connections are reused between tasks (CELERY_DB_REUSE_MAX, the default) and
checked before use (CONN_HEALTH_CHECKS): a real worker whose PostgreSQL connections are killed
(pg_terminate_backend, as a database restart or failover would) loses and duplicates nothing."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction

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


def _all_sent(rows: list[Notification]) -> bool:
    return (
        not Notification.objects.filter(id__in=[r.id for r in rows])
        .exclude(status=Status.SENT)
        .exists()
    )


def test_connection_reuse_is_the_default_and_checked():
    assert settings.CELERY_DB_REUSE_MAX > 0
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


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
    # Enough rows that batched delivery (hundreds a second) is still running when the first
    # kill lands; the loop looks for the worker's connections often and sweeps now and then.
    rows = _emails(patient.user, 1000)
    kills = 0

    with _worker(concurrency=2, log_name="killed-connections-worker"):
        deadline = time.monotonic() + 120
        next_sweep = time.monotonic()
        while not _all_sent(rows) and time.monotonic() < deadline:
            if kills < 10:
                kills += _terminate_worker_backends() and 1
            time.sleep(0.05)
            if time.monotonic() >= next_sweep:
                notifications_sweep()
                next_sweep = time.monotonic() + 0.3

    assert kills >= 1
    assert _all_sent(rows)
    # Exactly one e-mail per row, named by its id, and no half-written file.
    assert sorted(path.stem for path in outboxes.emails()) == sorted(str(r.id) for r in rows)
    assert outboxes.partials() == []
    # Each row was recorded as sent once.
    sent_attempts = Notification.objects.filter(
        id__in=[r.id for r in rows], attempts__outcome=AttemptOutcome.SENT
    ).count()
    assert sent_attempts == len(rows)
