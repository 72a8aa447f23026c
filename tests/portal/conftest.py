"""Portal fixtures: a frozen "now", weekly availability for the fixed clinicians, booking helpers.

Now is Wednesday 2026-06-10 12:00 UTC (08:00 in New York). The clinicians (New York zone) are
available every day 08:00-20:00 for both visit types.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.test import APIClient

from carecore.accounts.models import Clinician, Patient, User
from portal import services
from portal.models import Appointment

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
TOMORROW = date(2026, 6, 11)
APPOINTMENTS = "/api/v1/appointments/"
SLOTS = "/api/v1/slots/"
EARLIEST = "/api/v1/slots/earliest/"
REASON = "Itchy rash on both elbows since March"


def at(day: date, hour: int, minute: int = 0, zone: ZoneInfo = NEW_YORK) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def availability_url(clinician: Clinician) -> str:
    return f"/api/v1/clinicians/{clinician.id}/availability/"


def appointment_url(appointment: Appointment | str, action: str = "") -> str:
    appointment_id = getattr(appointment, "id", appointment)
    return f"{APPOINTMENTS}{appointment_id}/" + (f"{action}/" if action else "")


def give_availability(clinician: Clinician, start: time = time(8), end: time = time(20)) -> None:
    services.availability_weekly_ensure(
        actor=None, clinician=clinician, weekdays=range(7), start_time=start, end_time=end
    )


def book_directly(
    *,
    patient: Patient,
    clinician: Clinician,
    start: datetime,
    visit_type: str = "new",
    actor: User | None = None,
) -> Appointment:
    """Book through the service (the same write path as the API) for test set-up."""
    return services.appointment_book(
        actor=actor or patient.user,
        patient_id=patient.id,
        clinician_id=clinician.id,
        start=start,
        visit_type=visit_type,
        reason=REASON,
    )


def book(client: APIClient, clinician: Clinician, start: datetime, **extra: Any) -> Any:
    body = {
        "clinician": str(clinician.id),
        "start": start.isoformat(),
        "visit_type": "new",
        "reason": REASON,
        **{key: str(value) for key, value in extra.items()},
    }
    return client.post(APPOINTMENTS, body, format="json")


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def schedules(clinician: Clinician, other_clinician: Clinician) -> None:
    give_availability(clinician)
    give_availability(other_clinician)


@pytest.fixture
def appointment(
    frozen: Any, schedules: None, patient: Patient, clinician: Clinician
) -> Appointment:
    """The patient's visit with their lead clinician tomorrow at 10:00 New York time."""
    return book_directly(patient=patient, clinician=clinician, start=at(TOMORROW, 10))
