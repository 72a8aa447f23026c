"""Server time of the care team's patient chart (`/staff/patients/<id>/`) for a patient with a
long record, and its query count (docs/web-portal.md, "Patient chart"; the workspace's goal is
p95 under 150 ms a page).

    .venv/bin/python bench/staff_chart.py [--runs 100] [--check-ins 200]

Makes a bench database (`carecore_bench_staff_chart`) on the embedded server, a patient and
their clinician, and a record written through the apps' services: `--check-ins` completed
questionnaires (POEM and ISI alternating, each with its review), ten gut-skin intakes, ten
published plan versions and a draft, twenty past visits (booked at the time, by travelling
there), one upcoming visit and thirty threads. Then, signed in through the workspace's sign-in
page with Django's in-process client, it times the chart's GET (session, access helpers, audit
INSERTs, template) and prints median, p95 and the number of queries.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _messaging_env as benv

if TYPE_CHECKING:
    from carecore.accounts.models import Clinician, Patient

DATABASE = "carecore_bench_staff_chart"


def _record(check_ins: int) -> tuple[Patient, Clinician]:
    """The patient and their clinician, with a long record."""
    from datetime import timedelta

    import time_machine
    from django.core.management import call_command
    from django.utils import timezone

    from careplans import services as careplans
    from intake import services as intake
    from messaging import services as messaging
    from portal import services as portal
    from tests.factories import ClinicianFactory, PatientFactory
    from tests.intake.helpers import healthy_intake, poem
    from tests.portal.conftest import NEW_YORK, at, give_availability

    call_command("sync_questionnaires", verbosity=0)
    clinician = ClinicianFactory(licensed_states=["NY"])
    patient = PatientFactory(state="NY")
    give_availability(clinician)
    now = timezone.now()

    def book(day_offset: int) -> None:
        day = timezone.localdate(timezone=NEW_YORK) + timedelta(days=day_offset)
        portal.appointment_book(
            actor=patient.user,
            patient_id=patient.id,
            clinician_id=clinician.id,
            start=at(day, 10),
            visit_type="follow_up",
            reason="Check-in on the plan",
        )

    for weeks_ago in range(20, 0, -1):  # past visits, booked the day before each
        with time_machine.travel(now - timedelta(weeks=weeks_ago, days=1), tick=False):
            book(day_offset=1)
    book(day_offset=2)
    for number in range(check_ins):
        if number % 2:
            answers = {f"isi-{item}": number % 5 for item in range(1, 8)}
            intake.response_create(
                user=patient.user, slug="isi", answers=answers, status="completed"
            )
        else:
            values = [(number // 2) % 5] * 7
            intake.response_create(
                user=patient.user, slug="poem", answers=poem(*values), status="completed"
            )
    for _ in range(10):
        intake.response_create(
            user=patient.user, slug="gut-skin-intake", answers=healthy_intake(), status="completed"
        )
        plan = careplans.care_plan_draft(user=clinician.user, patient_id=patient.id)
        careplans.care_plan_publish(user=clinician.user, plan_id=plan.id)
    careplans.care_plan_draft(user=clinician.user, patient_id=patient.id)
    for number in range(30):
        messaging.thread_open(
            actor=patient.user, subject=f"Question {number}", category="clinical", body="Hello."
        )
    return patient, clinician


def measure(runs: int, check_ins: int) -> dict[str, object]:
    import django

    django.setup()
    from django.db import connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tests.factories import TEST_PASSWORD

    patient, clinician = _record(check_ins)
    client = Client()
    signed_in = client.post(
        "/staff/sign-in/",
        {"email": clinician.user.email, "password": TEST_PASSWORD},
    )
    assert signed_in.status_code == 302, signed_in.status_code
    path = f"/staff/patients/{patient.id}/"
    first = client.get(path)
    assert first.status_code == 200, first.status_code
    captured = [CaptureQueriesContext(connections[alias]) for alias in connections]
    for context in captured:
        context.__enter__()
    client.get(path)
    for context in captured:
        context.__exit__(None, None, None)
    statements = [query["sql"].split(" FROM ")[0][:60] for c in captured for query in c]
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {
        "median_ms": statistics.median(timings),
        "p95_ms": timings[max(0, int(len(timings) * 0.95) - 1)],
        "queries": len(statements),
        "statements": statements,
        "html_kb": len(first.content) / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--check-ins", type=int, default=200)
    parser.add_argument("--show-queries", action="store_true")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.runs, args.check_ins)))
        return 0
    with benv.services():
        benv.create_database(DATABASE, fresh=True)
        benv.manage(DATABASE, "migrate", "--no-input", "-v", "0")
        out = benv.run_self(
            "staff_chart.py",
            DATABASE,
            "--measure",
            "--runs",
            str(args.runs),
            "--check-ins",
            str(args.check_ins),
        )
    report = json.loads(out.strip().splitlines()[-1])
    if args.show_queries:
        print("\n".join(report["statements"]))
    print(
        f"patient chart ({args.check_ins} check-ins): median {report['median_ms']:.1f} ms, "
        f"p95 {report['p95_ms']:.1f} ms, {report['queries']} queries, "
        f"{report['html_kb']:.0f} KB of HTML"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
