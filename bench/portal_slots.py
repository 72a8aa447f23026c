"""Benchmark: open-slot computation with 50 clinicians, 14 days and 5,000 booked visits.

    .venv/bin/python bench/portal_slots.py

Measures, for 10, 25 and 50 eligible clinicians (all 50 and all 5,000 visits are always in the
database; patients in NY, NJ and PA see 10, 25 and 50 of them):
  * the selector computing every open slot of the whole 14-day window,
  * GET /api/v1/slots/?date=<tomorrow> as the patient (full Django + DRF stack, in process),
  * GET /api/v1/slots/earliest/ as the patient, with the care team fully booked (worst case:
    the team is searched to the end of the window, then everyone else).
Goal: < 100 ms per request, growing no faster than linearly with clinicians.
"""

from __future__ import annotations

import json
import random
import secrets
import sys
from contextlib import ExitStack
from datetime import UTC, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any

# Run as a script (python bench/<name>.py): the project root makes `bench` importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.portal_common import bootstrap, machine, timed

CLINICIANS = 50
APPOINTMENTS = 5_000
FILLER_PATIENTS = 250
# Clinician i is licensed in the states whose first (STATE_REACH[state]) clinicians include i.
STATE_REACH = {"NY": 10, "NJ": 25, "PA": 50}


def seed():
    from django.db import transaction
    from django.utils import timezone

    from carecore.accounts import services as accounts
    from carecore.accounts.models import Role
    from portal import services as portal
    from portal.models import Appointment

    random.seed(4)
    with transaction.atomic():
        clinicians = []
        for index in range(CLINICIANS):
            user = accounts.staff_user_create(
                actor=None,
                email=f"bench-clinician-{index}@bench.test",
                password=None,
                first_name="Bench",
                last_name=f"Clinician {index}",
                role=Role.CLINICIAN,
                timezone_name="America/New_York",
            )
            states = [state for state, reach in STATE_REACH.items() if index < reach]
            clinicians.append(
                accounts.clinician_profile_save(user=user, credentials="MD", licensed_states=states)
            )
            portal.availability_weekly_ensure(
                actor=None,
                clinician=clinicians[-1],
                weekdays=range(7),
                start_time=time(8),
                end_time=time(20),
            )
        patients = {
            state: accounts.patient_register(
                email=f"bench-{state.lower()}@bench.test",
                password="bench-password-long",
                first_name="Bench",
                last_name=state,
                date_of_birth=datetime(1990, 1, 1).date(),
                state=state,
                timezone_name="America/New_York",
            )
            for state in STATE_REACH
        }
        fillers = [
            accounts.patient_register(
                email=f"bench-filler-{index}@bench.test",
                password="bench-password-long",
                first_name="Filler",
                last_name=str(index),
                date_of_birth=datetime(1980, 1, 1).date(),
                state="PA",
                timezone_name="America/New_York",
            )
            for index in range(FILLER_PATIENTS)
        ]
        # Visits spread evenly over the clinicians and the window (bulk insert: the set-up is
        # not what is measured; the exclusion constraint still checks every row).
        now = timezone.now()
        first_day = now.astimezone(clinicians[0].user.zone).date() + timedelta(days=1)
        per_clinician = APPOINTMENTS // CLINICIANS
        rows = []
        for clinician in clinicians:
            grid = [
                datetime.combine(first_day + timedelta(days=day), time(8), clinician.user.zone)
                + timedelta(minutes=30 * step)
                for day in range(13)
                for step in range(24)
            ]
            for start in random.sample(grid, per_clinician):
                start = start.astimezone(UTC)
                end = start + timedelta(minutes=30)
                rows.append(
                    Appointment(
                        patient=random.choice(fillers),
                        clinician=clinician,
                        visit_type="new",
                        start_at=start,
                        end_at=end,
                        during=(start, end),
                        join_url=f"https://video.carecore.invalid/v/{secrets.token_urlsafe(32)}",
                    )
                )
        Appointment.objects.bulk_create(rows, batch_size=1000)
        # Worst case for "earliest": the NY patient's care-team lead has no time at all.
        team_lead = patients["NY"].care_team.lead
        assert team_lead is not None  # every seeded patient joins a licensed lead's team
        portal.time_off_create(
            actor=None, clinician=team_lead, starts_at=now, ends_at=now + timedelta(days=30)
        )
    return clinicians, patients


def main() -> None:
    with ExitStack() as stack:
        bootstrap(stack)
        from rest_framework.test import APIClient

        from carecore.accounts.services import token_issue
        from portal import selectors
        from portal.models import Appointment

        clinicians, patients = seed()
        window = selectors.booking_window()
        tomorrow = (window.not_before + timedelta(days=1)).astimezone(clinicians[0].user.zone)
        results: dict[str, object] = {
            "machine": machine(),
            "appointments": Appointment.objects.count(),
            "clinicians_in_database": len(clinicians),
            "rows": [],
        }
        for state, reach in STATE_REACH.items():
            subset = clinicians[:reach]
            client = APIClient()
            client.credentials(
                HTTP_AUTHORIZATION=f"Bearer {token_issue(user=patients[state].user)}"
            )
            full_window = timed(
                partial(
                    selectors.open_slot_list,
                    clinicians=subset,
                    visit_type="new",
                    not_before=window.not_before,
                    before=window.before,
                )
            )
            slot_count = len(
                selectors.open_slot_list(
                    clinicians=subset,
                    visit_type="new",
                    not_before=window.not_before,
                    before=window.before,
                )
            )
            day = timed(
                partial(
                    _get_ok,
                    client,
                    "/api/v1/slots/",
                    {"date": tomorrow.date().isoformat(), "visit_type": "new"},
                )
            )
            earliest = timed(
                partial(_get_ok, client, "/api/v1/slots/earliest/", {"visit_type": "new"})
            )
            results["rows"].append(  # type: ignore[attr-defined]
                {
                    "clinicians": reach,
                    "open_slots_in_window": slot_count,
                    "selector_14_days": full_window,
                    "api_slots_one_day": day,
                    "api_earliest": earliest,
                }
            )
        print(json.dumps(results, indent=2))


def _get_ok(client: Any, path: str, params: dict[str, str]) -> None:
    _ok(client.get(path, params))


def _ok(response):
    assert response.status_code == 200, response.content
    return response


if __name__ == "__main__":
    main()
