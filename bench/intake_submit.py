"""Benchmark: end-to-end latency of submitting a completed gut-skin intake.

    .venv/bin/python bench/intake_submit.py

POST /api/v1/questionnaire-responses/ as a patient, through the whole Django + DRF stack in
process (token auth, throttles, validation, scoring, red flags, the review row, the outbox rows
for the care team, the audit event, the commit). Each sample is a fresh patient so the numbers do
not depend on earlier responses. Reports median and 95th percentile in milliseconds.
"""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from datetime import date
from pathlib import Path

# Run as a script (python bench/<name>.py): the project root makes `bench` importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.portal_common import bootstrap, machine, timed

SAMPLES = 60


def main() -> None:
    with ExitStack() as stack:
        bootstrap(stack)
        from django.core.management import call_command
        from rest_framework.test import APIClient

        from carecore.accounts import services as accounts
        from carecore.accounts.models import Role
        from demo.management.commands.seed_demo import DEMO_PATIENT_INTAKE

        call_command("sync_questionnaires", verbosity=0)
        lead = accounts.staff_user_create(
            actor=None,
            email="bench-lead@bench.test",
            password=None,
            first_name="Bench",
            last_name="Lead",
            role=Role.CLINICIAN,
        )
        accounts.clinician_profile_save(user=lead, credentials="MD", licensed_states=["NY"])
        clients = []
        for index in range(SAMPLES + 5):
            patient = accounts.patient_register(
                email=f"bench-patient-{index}@bench.test",
                password="bench-password-123",
                first_name="Bench",
                last_name=f"Patient {index}",
                date_of_birth=date(1990, 1, 1),
                state="NY",
                timezone_name="America/New_York",
            )
            client = APIClient()
            client.credentials(
                HTTP_AUTHORIZATION=f"Bearer {accounts.token_issue(user=patient.user)}"
            )
            clients.append(client)
        body = {
            "questionnaire": "gut-skin-intake",
            "answers": DEMO_PATIENT_INTAKE,
            "status": "completed",
        }
        pending = iter(clients)

        def submit() -> None:
            response = next(pending).post("/api/v1/questionnaire-responses/", body, format="json")
            assert response.status_code == 201, response.content

        result = timed(submit, repeat=SAMPLES, warmup=5)
        print(json.dumps({"submit_gut_skin_intake_ms": result, "machine": machine()}, indent=2))


if __name__ == "__main__":
    main()
