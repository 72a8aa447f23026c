"""Messaging read latency at full size vs 1% size (docs/benchmarks.md, "Messaging").

    .venv/bin/python bench/messaging_reads.py [--patients 10000] [--runs 200] [--passes 4]

Seeds two databases with bench/messaging_seed.sql (full: N patients, 10 threads each, 10
messages per thread; small: N/100 patients), then in each measures through the real API stack
(token auth, access helpers, audit INSERTs) with Django's in-process client:

  inbox      GET /api/v1/threads/?status=open        as a lead clinician (panel: --panel)
  messages   GET /api/v1/threads/<id>/messages/       as a clinician, a thread in the middle
  me_unread  GET /api/v1/me/ (unread_count)           as a patient
  staff_unread  selectors.unread_total(clinician)     the staff unread total alone

and prints median/p95 per size, the full/small ratio, and EXPLAIN ANALYZE of the main queries.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _messaging_env as benv


def seed(name: str, patients: int, panel: int) -> None:
    import psycopg

    benv.create_database(name, fresh=True)
    benv.manage(name, "migrate", "--no-input", "-v", "0")
    sql = (Path(__file__).parent / "messaging_seed.sql").read_text()
    sql = "\n".join(line for line in sql.splitlines() if not line.startswith("\\set"))
    sql = sql.replace(":patients", str(patients)).replace(":panel", str(panel))
    started = time.perf_counter()
    with psycopg.connect(host=benv.socket_dir(), user="postgres", dbname=name) as conn:
        conn.execute(sql)
    print(
        f"seeded {name}: {patients} patients in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )


def vacuum(name: str) -> None:
    import psycopg

    with psycopg.connect(
        host=benv.socket_dir(), user="postgres", dbname=name, autocommit=True
    ) as conn:
        conn.execute("VACUUM (ANALYZE)")


def measure(runs: int) -> dict[str, object]:
    import django

    django.setup()
    from django.db import connection
    from rest_framework.test import APIClient

    from carecore.accounts.models import Clinician, Patient
    from carecore.accounts.services import token_issue
    from messaging.models import Thread
    from messaging.selectors import ThreadFilters, message_list, thread_summaries, unread_total

    clinician = Clinician.objects.select_related("user").order_by("id")[0]
    patient = (
        Patient.objects.select_related("user")
        .filter(care_team__lead=clinician)
        .order_by("id")[Patient.objects.filter(care_team__lead=clinician).count() // 2]
    )
    thread = Thread.objects.filter(patient=patient).order_by("id")[0]

    def client(user):
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=user)}")
        return c

    staff, me = client(clinician.user), client(patient.user)
    cases = {
        "inbox": lambda: staff.get("/api/v1/threads/", {"status": "open"}),
        "messages": lambda: staff.get(f"/api/v1/threads/{thread.id}/messages/"),
        "me_unread": lambda: me.get("/api/v1/me/"),
        "staff_unread": lambda: unread_total(clinician.user),
    }
    results: dict[str, object] = {}
    for name, call in cases.items():
        for _ in range(10):  # warm caches and the connection
            call()
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            response = call()
            samples.append((time.perf_counter() - started) * 1000)
            if hasattr(response, "status_code"):
                assert response.status_code == 200, response.status_code
        results[name] = {"samples_ms": samples}
    plans = {}
    # The inbox's page as the API reads it (the clinician's patients found in the same query).
    inbox_sql, inbox_params = (
        thread_summaries(user=clinician.user, filters=ThreadFilters(status="open"))
        .order_by("-last_message_at", "-id")[:51]
        .sql_with_params()
    )
    # The thread page's query (messages are partitioned by month: it reads only the months
    # since the thread began).
    page_sql, page_params = message_list(thread=thread, user=clinician.user)[
        :51
    ].query.sql_with_params()
    with connection.cursor() as cursor:
        for label, sql, params in (
            ("inbox", inbox_sql, inbox_params),
            ("messages", page_sql, page_params),
        ):
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
            # The visible patient ids are inlined as an array; keep the plan readable.
            plans[label] = [
                re.sub(r"'\{[0-9a-f,-]{200,}\}'", "'{<ids of the visible patients>}'", row[0])
                for row in cursor.fetchall()
            ]
        # The inbox's page is prepared (messaging.selectors._SUMMARIES): PostgreSQL may run it on
        # its generic plan, shown beside the one planned for the parameters (docs/benchmarks.md).
        plans["inbox, generic plan"] = _generic_plan(cursor, inbox_sql, inbox_params)
    results["plans"] = plans
    results["threads"] = Thread.objects.count()
    return results


def _generic_plan(cursor, sql: str, params: tuple) -> list[str]:
    """EXPLAIN ANALYZE of `sql` run as a prepared statement on its generic plan."""
    import psycopg

    numbered = sql
    for number in range(1, len(params) + 1):
        numbered = numbered.replace("%s", f"${number}", 1)
    cursor.execute("SET plan_cache_mode = force_generic_plan")
    cursor.execute("PREPARE bench_generic AS " + numbered.replace("%%", "%"))
    arguments = ", ".join(["%s"] * len(params))
    execute = psycopg.ClientCursor(cursor.connection).mogrify(
        f"EXECUTE bench_generic({arguments})", params
    )
    cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + execute)
    lines = [row[0] for row in cursor.fetchall()]
    cursor.execute("DEALLOCATE bench_generic")
    cursor.execute("RESET plan_cache_mode")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--panel", type=int, default=100, help="patients per clinician")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-seed", action="store_true", help="reuse seeded databases")
    parser.add_argument(
        "--passes",
        type=int,
        default=4,
        help="alternating passes over the two sizes, --runs split between them",
    )
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.runs)))
        return 0
    with benv.services():
        sizes = {"small": max(args.patients // 100, 1), "full": args.patients}
        for label, patients in sizes.items():
            name = f"carecore_bench_{label}"
            if not args.no_seed:
                seed(name, patients, min(args.panel, sizes["small"]))
            else:
                vacuum(name)
        report = _measure_alternating(list(sizes), args.runs, args.passes)
        _print_report(report, args.passes)
    os.environ.pop("CARECORE_BENCH", None)
    return 0


CASES = ("inbox", "messages", "me_unread", "staff_unread")


def _measure_alternating(labels: list[str], runs: int, passes: int) -> dict[str, dict]:
    """Each size measured `passes` times, the sizes alternating (small, full, full, small, ...):
    on a shared machine whose speed drifts within minutes, measuring one size after the other
    put the drift into the ratio (a path the change did not touch moved from 0.96 to 1.56)."""
    report: dict[str, dict] = {
        label: {"samples_ms": {case: [] for case in CASES}} for label in labels
    }
    per_pass = max(runs // passes, 1)
    for number in range(passes):
        for label in labels if number % 2 == 0 else reversed(labels):
            out = benv.run_self(
                "messaging_reads.py",
                f"carecore_bench_{label}",
                "--measure",
                "--runs",
                str(per_pass),
            )
            measured = json.loads(out)
            for case in CASES:
                report[label]["samples_ms"][case].extend(measured[case]["samples_ms"])
            report[label]["threads"] = measured["threads"]
            report[label]["plans"] = measured["plans"]
    return report


def _median_and_p95(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


def _print_report(report: dict[str, dict], passes: int) -> None:
    print(
        f"{'case':14} {'small median':>13} {'full median':>12} {'ratio':>6} "
        f"{'small p95':>10} {'full p95':>9}   ({passes} alternating passes)"
    )
    for case in CASES:
        small_median, small_p95 = _median_and_p95(report["small"]["samples_ms"][case])
        full_median, full_p95 = _median_and_p95(report["full"]["samples_ms"][case])
        print(
            f"{case:14} {small_median:>11.2f}ms {full_median:>10.2f}ms "
            f"{full_median / small_median:>6.2f} {small_p95:>8.2f}ms {full_p95:>7.2f}ms"
        )
    print(f"threads: small {report['small']['threads']}, full {report['full']['threads']}")
    for label, lines in report["full"]["plans"].items():
        print(f"\nEXPLAIN ANALYZE ({label}, full size):")
        print("\n".join("  " + line for line in lines))


if __name__ == "__main__":
    raise SystemExit(main())
