"""FHIR `$everything` latency and bulk-export throughput (docs/benchmarks.md, "FHIR").

    .venv/bin/python bench/fhir_everything.py [--messages 2000] [--responses 50] [--runs 100]

Seeds its own database (`carecore_bench_fhir`) on the embedded PostgreSQL: one patient on a
clinician's care team with `--messages` messages in 20 threads (every tenth an internal note, which
FHIR never exports) and `--responses` completed POEMs (each also a score Observation), an active
plan, and an appointment. Then, through the real stack (bearer token, access helpers, audit
INSERTs) with Django's in-process client, as the patient and as the clinician:

  first_page    GET /fhir/R4/Patient/<id>/$everything                (default _count=50)
  middle_page   the page half way through, reached by its `next` link
  walk_200      every page with _count=200, end to end (one sample per run)

and the export of the whole database (`export_run`, in-process, every line validated as R4) in
resources per second. Goal: p95 of a page under 500 ms.
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

DATABASE = "carecore_bench_fhir"


def seed(messages: int, responses: int) -> None:
    import django

    django.setup()
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from carecore.accounts import services as accounts
    from careplans import services as careplans
    from intake import services as intake
    from messaging import services as messaging
    from messaging.models import Message, SenderKind, Thread
    from tests.intake.test_intake_apis import healthy_intake

    call_command("sync_questionnaires", verbosity=0)
    lead = accounts.staff_user_create(
        actor=None,
        email="lead@bench.test",
        first_name="Lee",
        last_name="Lead",
        role="clinician",
        password=None,
    )
    accounts.clinician_profile_save(user=lead, credentials="MD", licensed_states=["NY"])
    patient = accounts.patient_register(
        email="patient@bench.test",
        password="bench-password-1234",
        first_name="Pat",
        last_name="Bench",
        date_of_birth=timezone.localdate() - timedelta(days=40 * 365),
        state="NY",
        timezone_name="America/New_York",
    )
    for n in range(responses):
        intake.response_create(
            user=patient.user,
            slug="poem",
            answers={f"poem-{i}": (n + i) % 5 for i in range(1, 8)},
            status="completed",
        )
    intake.response_create(
        user=patient.user, slug="gut-skin-intake", answers=healthy_intake(), status="completed"
    )
    plan = careplans.care_plan_draft(user=lead, patient_id=patient.id)
    careplans.care_plan_publish(user=lead, plan_id=plan.id)
    # Messages in bulk (the send path's triage and notifications are not what is measured),
    # with the positions message_send would give them.
    threads = [
        messaging.thread_open(
            actor=patient.user, subject=f"Question {t}", category="clinical", body="Hello"
        ).thread
        for t in range(20)
    ]
    per_thread = (messages - len(threads)) // len(threads)
    rows = []
    now = timezone.now()
    for thread in threads:
        thread.refresh_from_db()  # opening may have added an after-hours reply
        public = thread.public_message_count
        first = thread.message_count + 1
        for position in range(first, first + per_thread):
            internal = position % 10 == 0
            public += 0 if internal else 1
            from_patient = position % 2 == 1 and not internal
            rows.append(
                Message(
                    thread=thread,
                    sender=patient.user if from_patient else lead,
                    sender_kind=SenderKind.PATIENT if from_patient else SenderKind.STAFF,
                    body=f"Message {position} about my skin and my gut." * 3,
                    internal=internal,
                    created_at=now + timedelta(seconds=position),
                    position=position,
                    public_position=public,
                )
            )
        Thread.objects.filter(pk=thread.pk).update(
            message_count=first + per_thread - 1, public_message_count=public
        )
    Message.objects.bulk_create(rows, batch_size=1000)
    print(f"seeded: {Message.objects.count()} messages, {responses} POEMs", file=sys.stderr)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(samples) * 1000, 1),
        "p95_ms": round(percentile(samples, 0.95) * 1000, 1),
        "n": len(samples),
    }


def measure(runs: int) -> dict[str, object]:
    import django

    django.setup()
    from rest_framework.test import APIClient

    from carecore.accounts.models import Patient, User
    from carecore.accounts.services import token_issue
    from interop.export import export_run
    from interop.models import ExportJob

    patient = Patient.objects.select_related("user").get(user__email="patient@bench.test")
    lead = User.objects.get(email="lead@bench.test")
    url = f"/fhir/R4/Patient/{patient.id}/$everything"
    results: dict[str, object] = {}

    def timed(client: APIClient, target: str) -> tuple[float, dict]:
        started = time.perf_counter()
        response = client.get(target)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.content[:300]
        return elapsed, response.json()

    def next_of(bundle: dict) -> str | None:
        link = next((one for one in bundle["link"] if one["relation"] == "next"), None)
        return link["url"].removeprefix("http://testserver") if link else None

    for who, user in (("patient", patient.user), ("clinician", lead)):
        client = APIClient(SERVER_NAME="testserver")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=user)}")
        pages, target, total = [], url, 0
        while target:  # the page links, once, to find the middle one
            _, bundle = timed(client, target)
            total += len(bundle.get("entry", []))
            pages.append(target)
            target = next_of(bundle)
        middle = pages[len(pages) // 2]
        first = [timed(client, url)[0] for _ in range(runs)]
        mid = [timed(client, middle)[0] for _ in range(runs)]
        walks = []
        for _ in range(max(3, runs // 20)):
            started, target = time.perf_counter(), f"{url}?_count=200"
            while target:
                _, bundle = timed(client, target)
                target = next_of(bundle)
            walks.append(time.perf_counter() - started)
        results[who] = {
            "resources": total,
            "pages_of_50": len(pages),
            "first_page": summary(first),
            "middle_page": summary(mid),
            "walk_200": summary(walks),
        }

    admin = User.objects.filter(role="admin").first() or User.objects.create_user(
        "admin@bench.test", None, role="admin", first_name="A", last_name="Dmin"
    )
    # The export validates every line whatever CARECORE_FHIR_VALIDATE says.
    job = ExportJob.objects.create(
        requested_by=admin, types=list(_export_types()), request_url="http://bench/"
    )
    started = time.perf_counter()
    export_run(job_id=job.id)
    elapsed = time.perf_counter() - started
    job.refresh_from_db()
    count = sum(item["count"] for item in job.output)
    results["export"] = {
        "resources": count,
        "seconds": round(elapsed, 2),
        "resources_per_second": round(count / elapsed),
    }
    return results


def _export_types() -> list[str]:
    from interop.export import EXPORT_TYPES

    return EXPORT_TYPES


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--responses", type=int, default=50)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--seed", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed:
        seed(args.messages, args.responses)
        return 0
    if args.measure:
        print(json.dumps(measure(args.runs)))
        return 0
    with benv.services():
        benv.create_database(DATABASE, fresh=True)
        benv.manage(DATABASE, "migrate", "--no-input", "-v", "0")
        benv.run_self(
            "fhir_everything.py",
            DATABASE,
            "--seed",
            "--messages",
            str(args.messages),
            "--responses",
            str(args.responses),
        )
        out = benv.run_self("fhir_everything.py", DATABASE, "--measure", "--runs", str(args.runs))
    print(json.dumps(json.loads(out), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
