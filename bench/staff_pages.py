"""Server time of the care-team workspace's pages at the 1M-message seed, and the inbox's query
count at two list sizes (docs/benchmarks.md, "Care-team workspace"; goals: p95 under 150 ms for
the inbox and a thread, the inbox's query count independent of its rows).

    .venv/bin/python bench/staff_pages.py [--patients 10000] [--panel 100] [--runs 100]
                                          [--messages 200] [--no-seed]

Seeds `carecore_bench_staff_pages` with bench/messaging_seed.sql (as bench/messaging_reads.py:
--patients patients, 10 threads each, 10 messages per thread: 1M messages at the default; each
lead clinician has --panel patients), adds one thread of --messages messages written through
messaging's services (triage included) to the first clinician's first patient, then, signed in
as that clinician through the workspace's sign-in page with Django's in-process client, times
each page's GET (session, access helpers, audit INSERTs, templates) and prints median and p95
per page with its query count and the rows it shows (threads or messages), and the API's inbox
as a yardstick of how busy the machine was.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _messaging_env as benv
from bench.messaging_reads import seed, vacuum

DATABASE = "carecore_bench_staff_pages"


def _percentile_95(samples: list[float]) -> float:
    return samples[max(0, int(len(samples) * 0.95) - 1)]


def measure(runs: int, messages: int) -> dict[str, object]:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from carecore.accounts.models import Clinician, Patient
    from messaging import services
    from messaging.models import Message, Thread
    from tests.factories import TEST_PASSWORD

    clinician = Clinician.objects.select_related("user").order_by("id")[0]
    clinician.user.set_password(TEST_PASSWORD)
    clinician.user.save(update_fields=["password"])
    patient = (
        Patient.objects.select_related("user").filter(care_team__lead=clinician).order_by("id")[0]
    )
    seeded_thread = Thread.objects.filter(patient=patient).order_by("id")[0]
    long_thread = services.thread_open(
        actor=patient.user, subject="Bench long thread", category="clinical", body="Message 1"
    ).thread
    for number in range(2, messages + 1):
        sender = patient.user if number % 2 else clinician.user
        services.message_send(actor=sender, thread_id=long_thread.id, body=f"Message {number}.")

    client = Client()
    signed_in = client.post(
        "/staff/sign-in/", {"email": clinician.user.email, "password": TEST_PASSWORD}
    )
    assert signed_in.status_code == 302, signed_in.status_code
    pages = {
        "inbox": "/staff/",
        "inbox_list": "/staff/inbox/?show=open",
        "inbox_urgent": "/staff/?show=urgent",
        "inbox_closed": "/staff/?show=closed",
        "thread_10": f"/staff/threads/{seeded_thread.id}/",
        f"thread_{messages}": f"/staff/threads/{long_thread.id}/",
        "reviews": "/staff/reviews/",
        # A yardstick measured in the same run: the API's inbox (docs/benchmarks.md,
        # "Messaging": about 20 ms median on a quiet machine), to scale the figures above by
        # how busy the machine was.
        "api_inbox": "/api/v1/threads/?status=open",
    }
    report: dict[str, object] = {}
    for name, path in pages.items():
        for _ in range(5):  # warm caches and the connection
            assert client.get(path).status_code == 200, path
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        with CaptureQueriesContext(connection) as queries:
            html = client.get(path).content.decode()
        report[name] = {
            "median_ms": statistics.median(timings),
            "p95_ms": _percentile_95(timings),
            "queries": len(queries),
            "rows": html.count('<tr id="thread-') + html.count('<li id="message-'),
        }
    report["threads_visible"] = Thread.objects.filter(patient__care_team__lead=clinician).count()
    report["messages_total"] = Message.objects.count()
    return report


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--panel", type=int, default=100, help="patients per clinician")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--no-seed", action="store_true", help="reuse the seeded database")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.runs, args.messages)))
        return 0
    with benv.services():
        if args.no_seed:
            vacuum(DATABASE)
        else:
            seed(DATABASE, args.patients, args.panel)
        out = benv.run_self(
            "staff_pages.py",
            DATABASE,
            "--measure",
            "--runs",
            str(args.runs),
            "--messages",
            str(args.messages),
        )
    report = json.loads(out.strip().splitlines()[-1])
    print(f"{'page':14} {'median':>9} {'p95':>9} {'queries':>8} {'rows':>5}")
    for name, row in report.items():
        if isinstance(row, dict):
            print(
                f"{name:14} {row['median_ms']:>7.1f}ms {row['p95_ms']:>7.1f}ms "
                f"{row['queries']:>8} {row['rows']:>5}"
            )
    print(
        f"threads on the clinician's panel: {report['threads_visible']}; "
        f"messages in the database: {report['messages_total']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
