"""Benchmark: booking under contention, 20 concurrent clients over real HTTP.

    .venv/bin/python bench/portal_booking.py [--slots 60] [--workers 2]

A uvicorn server (the `web` process of the Procfile, `--workers` processes) runs against a fresh
`carecore_bench` database. Twenty patients, each with their own keep-alive HTTP connection and
thread, walk the same list of a clinician's slots in the same order and try to book each one, so
every slot is fought over by all twenty at once. Per slot exactly one booking may win (201); the
others must get 409 `slot_taken`. The upcoming-visit cap is lifted for the server so it does not
stop the winners. Reports requests per second, the outcome mix, the error-free rate (share of
answers that are a 201 or a 409 `slot_taken`; anything else, a 5xx or a dropped connection, is an
error) and latency percentiles, then checks the table: one booked row per slot, no overlaps.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack, closing
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time
from pathlib import Path

# Run as a script (python bench/<name>.py): the project root makes `bench` importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.portal_common import ROOT, bootstrap, machine

CLIENTS = 20


def seed(slot_count: int):
    from django.db import transaction
    from django.utils import timezone

    from carecore.accounts import services as accounts
    from carecore.accounts.models import Role
    from portal import services as portal

    with transaction.atomic():
        user = accounts.staff_user_create(
            actor=None,
            email="bench-clinician@bench.test",
            password=None,
            first_name="Bench",
            last_name="Clinician",
            role=Role.CLINICIAN,
            timezone_name="America/New_York",
        )
        clinician = accounts.clinician_profile_save(
            user=user, credentials="MD", licensed_states=["NY"]
        )
        portal.availability_weekly_ensure(
            actor=None,
            clinician=clinician,
            weekdays=range(7),
            start_time=wall_time(8),
            end_time=wall_time(20),
        )
        tokens = []
        for index in range(CLIENTS):
            patient = accounts.patient_register(
                email=f"bench-patient-{index}@bench.test",
                password="bench-password-long",
                first_name="Bench",
                last_name=str(index),
                date_of_birth=datetime(1990, 1, 1).date(),
                state="NY",
                timezone_name="America/New_York",
            )
            tokens.append(accounts.token_issue(user=patient.user))
    zone = clinician.user.zone
    first_day = timezone.now().astimezone(zone).date() + timedelta(days=1)
    starts = [
        datetime.combine(first_day + timedelta(days=day), wall_time(8), zone)
        + timedelta(minutes=30 * step)
        for day in range(13)
        for step in range(24)
    ][:slot_count]
    return clinician, tokens, starts


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, workers: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "CARECORE_UPCOMING_APPOINTMENT_CAP": "100000",
        "DATABASE_POOL_MAX_SIZE": str(CLIENTS),
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "carecore.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with closing(http.client.HTTPConnection("127.0.0.1", port, timeout=2)) as conn:
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the bench server did not start")


def run_clients(port: int, tokens: list[str], clinician_id: str, starts: list[datetime]):
    barrier = threading.Barrier(len(tokens) + 1)
    outcomes: list[tuple[int, str, float]] = []
    lock = threading.Lock()

    def client(token: str) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        mine = []
        barrier.wait()
        for start in starts:
            body = json.dumps(
                {
                    "clinician": clinician_id,
                    "start": start.isoformat(),
                    "visit_type": "new",
                    "reason": "bench",
                }
            )
            began = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/appointments/", body, headers)
                response = conn.getresponse()
                payload = response.read()
                code = ""
                if response.status == 409:
                    code = json.loads(payload)["error"]["code"]
                mine.append((response.status, code, time.perf_counter() - began))
            except (OSError, http.client.HTTPException):
                mine.append((0, "connection_error", time.perf_counter() - began))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.close()
        with lock:
            outcomes.extend(mine)

    threads = [threading.Thread(target=client, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return outcomes, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slots", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with ExitStack() as stack:
        bootstrap(stack)
        from django.db import connection

        from portal.models import Appointment

        clinician, tokens, starts = seed(args.slots)
        connection.close()
        port = free_port()
        server = start_server(port, args.workers)
        try:
            outcomes, elapsed = run_clients(port, tokens, str(clinician.id), starts)
        finally:
            server.terminate()
            server.wait(timeout=30)
        mix = Counter(f"{status} {code}".strip() for status, code, _ in outcomes)
        expected = {"201", "409 slot_taken"}
        latencies = sorted(seconds * 1000 for _, _, seconds in outcomes)
        booked = list(
            Appointment.objects.filter(clinician=clinician).values_list("start_at", flat=True)
        )
        report = {
            "machine": machine(),
            "server": f"uvicorn, {args.workers} worker processes",
            "clients": CLIENTS,
            "slots_contended": len(starts),
            "requests": len(outcomes),
            "seconds": round(elapsed, 2),
            "requests_per_second": round(len(outcomes) / elapsed, 1),
            "outcomes": dict(mix),
            "error_free_rate": round(
                sum(count for key, count in mix.items() if key in expected) / len(outcomes), 4
            ),
            "latency_ms": {
                "median": round(statistics.median(latencies), 1),
                "p95": round(latencies[int(len(latencies) * 0.95) - 1], 1),
                "max": round(latencies[-1], 1),
            },
            "rows_booked": len(booked),
            "one_row_per_slot": sorted(booked) == sorted(s.astimezone(UTC) for s in starts),
        }
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
