"""Notification delivery benchmark (not part of the suite; figures go in docs/benchmarks.md).

    .venv/bin/python scripts/dev.py test -- bench/notifications_bench.py -s -q

1. Throughput: 5,000 e-mail and SMS rows are committed (and their tasks published) while no
   worker runs; then ONE worker process (prefork, concurrency 1) with the local file backends
   drains them. Rate = rows / (last sent_at - first claim). Variants: see VARIANTS (`-k`).
2. Latency at light load: with the worker idle, 200 events are committed one at a time, about
   20 a second; latency = the row's sent_at - the moment the commit returned.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from carecore.accounts.models import Role
from carecore.notifications.models import Channel, DeliveryAttempt, Event, Notification, Status
from carecore.notifications.services import notify
from tests.factories import UserFactory
from tests.notifications.helpers import use_file_backends
from tests.worker import purge_broker, running_worker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# BENCH_NOTIFICATION_ROWS shortens a run on a busy machine (an even number, a multiple of 100).
ROWS = int(os.environ.get("BENCH_NOTIFICATION_ROWS", "5000"))
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _setup(settings, monkeypatch, tmp_path):
    settings.CARECORE_NOTIFICATIONS_DEFAULT_QUIET_HOURS = ""
    purge_broker()
    use_file_backends(monkeypatch, tmp_path)


def _patients(count: int) -> list:
    return [UserFactory(role=Role.PATIENT, phone=f"+1212555{index:04d}") for index in range(count)]


def _pending() -> int:
    return Notification.objects.exclude(channel=Channel.IN_APP).exclude(status=Status.SENT).count()


def _report(line: str) -> None:
    # pytest's capture can swallow print() here; write to the real stdout and to a file.
    stdout = sys.__stdout__ or sys.stdout
    stdout.write(f"\n{line}\n")
    stdout.flush()
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    with (out / "notifications.txt").open("a") as handle:
        handle.write(f"{timezone.now():%Y-%m-%d %H:%M} {line}\n")


def _worker_cpu_seconds(process_group: int) -> float:
    """User + system CPU of every process in the worker's process group (main process and pool
    child), from /proc: what one delivery costs the worker, whatever else loads the machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[2]) == process_group:  # field 5 of stat: the process group id
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _database_server_cpu_seconds() -> float:
    """User + system CPU of the whole PostgreSQL server (same machine, from /proc): the
    postmaster, every process it runs now (backends, WAL writer, autovacuum...) and every one
    that has exited (the postmaster's cutime/cstime), so backends the worker's pool replaced
    still count. The test process's own polling is included; it is small next to deliveries."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        data_directory = cursor.fetchone()[0]
    postmaster = int((Path(data_directory) / "postmaster.pid").read_text().split()[0])
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == postmaster:
            total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        elif int(fields[1]) == postmaster:  # field 4 of stat: the parent process id
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Variant:
    label: str
    db_reuse_max: int  # CELERY_DB_REUSE_MAX for the worker
    batch: int  # CARECORE_NOTIFICATIONS_DELIVERY_BATCH where the rows are published
    patients_per_transaction: int


VARIANTS = [
    # The shipped defaults: the connection pool kept between tasks, each task's connection
    # handed back and health-checked (carecore/celery.py); batches of up to 20 rows per task.
    # A burst: 50 patients' reminders per transaction (as one sweep publishes held rows).
    Variant("shipped-burst", 1000, 20, 50),
    # The same defaults, each patient's reminder committed on its own (2 rows per task).
    Variant("shipped-one-per-transaction", 1000, 20, 1),
    # One task per row, as before 30 Nov.
    Variant("task-per-row", 1000, 1, 50),
    # Celery's own behaviour: a new database connection per task under prefork.
    Variant("reconnect-per-task", 0, 20, 50),
]


@pytest.fixture(params=VARIANTS, ids=[variant.label for variant in VARIANTS])
def variant(request, monkeypatch, settings) -> Variant:
    chosen: Variant = request.param
    monkeypatch.setenv("CELERY_DB_REUSE_MAX", str(chosen.db_reuse_max))
    settings.CARECORE_NOTIFICATIONS_DELIVERY_BATCH = chosen.batch
    return chosen


def test_throughput_of_one_worker_process(variant):
    users = _patients(50)
    # Appointment reminders: e-mail + SMS per patient (+ in-app, delivered in the transaction).
    publish_started = time.monotonic()
    per_transaction = variant.patients_per_transaction
    for batch in range(ROWS // (2 * len(users))):
        for first in range(0, len(users), per_transaction):
            with transaction.atomic():
                for user in users[first : first + per_transaction]:
                    notify(
                        event=Event.APPOINTMENT_REMINDER,
                        recipients=[user],
                        subject_type="appointment",
                        subject_id=uuid.uuid4(),
                        occurrence=f"b{batch}",
                    )
    publish_seconds = time.monotonic() - publish_started
    outbox = Notification.objects.exclude(channel=Channel.IN_APP)
    assert outbox.count() == ROWS

    with running_worker(concurrency=1, log_name="bench-throughput") as worker:
        idle_cpu = _worker_cpu_seconds(worker.process.pid)  # start-up, before any delivery
        idle_database_cpu = _database_server_cpu_seconds()
        assert wait_until(lambda: _pending() == 0, timeout=900, interval=0.5)
        cpu = _worker_cpu_seconds(worker.process.pid) - idle_cpu
        database_cpu = _database_server_cpu_seconds() - idle_database_cpu

    first_claim = DeliveryAttempt.objects.filter(
        notification__channel__in=[Channel.EMAIL, Channel.SMS]
    ).aggregate(first=Min("started_at"))["first"]
    last_sent = outbox.aggregate(last=Max("sent_at"))["last"]
    seconds = (last_sent - first_claim).total_seconds()
    _report(
        f"[{variant.label}] throughput: {ROWS} deliveries in "
        f"{seconds:.2f} s = {ROWS / seconds:.0f}/s "
        f"by one worker process, {cpu:.2f} worker CPU-s = {ROWS / cpu:.0f} per CPU-second, "
        f"{database_cpu:.2f} database CPU-s: {(cpu + database_cpu) * 1000 / ROWS:.2f} ms "
        f"of CPU per delivery = {ROWS / (cpu + database_cpu):.0f}/s done one after the other; "
        f"writing + publishing took {publish_seconds:.2f} s ({ROWS / publish_seconds:.0f} rows/s); "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def test_commit_to_delivered_latency_at_light_load(variant):
    (user,) = _patients(1)
    committed: dict[uuid.UUID, datetime] = {}
    with running_worker(concurrency=1, log_name="bench-latency"):
        for _ in range(200):
            with transaction.atomic():
                rows = notify(
                    event=Event.CARE_PLAN_PUBLISHED,
                    recipients=[user],
                    subject_type="care_plan",
                    subject_id=uuid.uuid4(),
                )
            now = timezone.now()
            committed.update({row.id: now for row in rows if row.channel == Channel.EMAIL})
            time.sleep(0.05)
        assert wait_until(lambda: _pending() == 0, timeout=120)

    sent = dict(
        Notification.objects.filter(id__in=committed, sent_at__isnull=False).values_list(
            "id", "sent_at"
        )
    )
    latencies = [
        (sent_at - committed[key]).total_seconds() * 1000
        for key in committed
        if (sent_at := sent[key]) is not None
    ]
    _report(
        f"[{variant.label}] latency over {len(latencies)} e-mails: "
        f"p50 {statistics.median(latencies):.1f} ms, "
        f"p95 {_percentile(latencies, 0.95):.1f} ms, max {max(latencies):.1f} ms; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
