"""Slots are the same whatever time zone the request runs in: the web pages run in the viewer's
zone (`timezone.override`), and busy times (visits, time off) must still be read in UTC."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from carecore.accounts.models import Clinician, Patient
from portal import selectors, services

from .conftest import TOMORROW, at, book_directly

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Tokyo"])
def test_booked_visits_and_time_off_are_busy_in_every_active_zone(
    zone: str, frozen: Any, schedules: None, patient: Patient, clinician: Clinician
) -> None:
    book_directly(patient=patient, clinician=clinician, start=at(TOMORROW, 10))
    services.time_off_create(
        actor=None, clinician=clinician, starts_at=at(TOMORROW, 12), ends_at=at(TOMORROW, 13)
    )

    with timezone.override(ZoneInfo(zone)):
        answer = selectors.slots_for_day(
            day=TOMORROW,
            zone=clinician.user.zone,
            visit_type="new",
            patient=patient,
            clinician_id=clinician.id,
        )

    starts = {slot.start for slot in answer.slots}
    assert at(TOMORROW, 9, 30) in starts and at(TOMORROW, 10, 30) in starts
    assert at(TOMORROW, 10) not in starts
    assert at(TOMORROW, 12) not in starts and at(TOMORROW, 12, 30) not in starts
    assert at(TOMORROW, 13) in starts
