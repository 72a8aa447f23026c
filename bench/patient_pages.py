"""Server time of the patient portal's pages, and the JavaScript each one loads
(docs/web-portal.md; goals: p95 under 150 ms for a thread of 200 messages, under 250 KB of
JavaScript per page).

    .venv/bin/python bench/patient_pages.py [--runs 100] [--messages 200]

Makes a bench database (`carecore_bench_patient_pages`) on the embedded server, a patient and
their clinician, one thread of `--messages` messages written through messaging's services
(triage included), then, signed in through the sign-in page with Django's in-process client,
times each page's GET (session, access helpers, audit INSERTs, templates) and prints median
and p95 per page, plus the bytes of the scripts each page references.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _messaging_env as benv

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "carecore_bench_patient_pages"


def _script_bytes(html: str) -> int:
    total = 0
    for src in re.findall(r'<script src="/static/([^"]+)"', html):
        total += (ROOT / "static" / src).stat().st_size
    return total


def measure(runs: int, messages: int) -> dict[str, object]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from messaging import services
    from tests.factories import TEST_PASSWORD, ClinicianFactory, PatientFactory

    call_command("sync_questionnaires", verbosity=0)
    clinician = ClinicianFactory(licensed_states=["NY"])
    patient = PatientFactory(state="NY")
    thread = services.thread_open(
        actor=patient.user, subject="Bench thread", category="clinical", body="Message 1"
    ).thread
    for number in range(2, messages + 1):
        sender = patient.user if number % 2 else clinician.user
        services.message_send(actor=sender, thread_id=thread.id, body=f"Message {number} text.")

    client = Client()
    signed_in = client.post("/sign-in/", {"email": patient.user.email, "password": TEST_PASSWORD})
    assert signed_in.status_code == 302, signed_in.status_code
    pages = {
        "home": "/",
        "messages": "/messages/",
        f"thread_{messages}": f"/messages/{thread.id}/",
        "book": "/book/",
        "questionnaire": "/questionnaires/gut-skin-intake/",
        "care_plan": "/care-plan/",
        "progress": "/progress/",
        "settings": "/settings/",
    }
    report: dict[str, object] = {}
    for name, path in pages.items():
        first = client.get(path)
        assert first.status_code == 200, (path, first.status_code)
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        report[name] = {
            "median_ms": statistics.median(timings),
            "p95_ms": timings[max(0, int(len(timings) * 0.95) - 1)],
            "script_bytes": _script_bytes(first.content.decode()),
        }
    return report


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.runs, args.messages)))
        return 0
    with benv.services():
        benv.create_database(DATABASE, fresh=True)
        benv.manage(DATABASE, "migrate", "--no-input", "-v", "0")
        out = benv.run_self(
            "patient_pages.py",
            DATABASE,
            "--measure",
            "--runs",
            str(args.runs),
            "--messages",
            str(args.messages),
        )
    report = json.loads(out.strip().splitlines()[-1])
    print(f"{'page':16} {'median':>9} {'p95':>9} {'JavaScript':>11}")
    for name, row in report.items():
        print(
            f"{name:16} {row['median_ms']:>7.1f}ms {row['p95_ms']:>7.1f}ms "
            f"{row['script_bytes'] / 1024:>8.1f} KB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
