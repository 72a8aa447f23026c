"""Time zones: "tomorrow" is the patient's tomorrow, rules are the clinician's wall clock, and
the 2026 US daylight-saving transitions (8 March, 1 November) neither lose nor duplicate slots."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine

from carecore.accounts.models import Clinician, Patient
from portal import services

from ..factories import ClinicianFactory, PatientFactory
from .conftest import LOS_ANGELES, NEW_YORK, SLOTS, at, book, give_availability

pytestmark = pytest.mark.django_db


@pytest.fixture
def ny_clinician(db) -> Clinician:
    """Lives in New York, licensed in New York and California."""
    return ClinicianFactory(licensed_states=["NY", "CA"], user__timezone="America/New_York")


@pytest.fixture
def la_patient(ny_clinician) -> Patient:
    return PatientFactory(state="CA", user__timezone="America/Los_Angeles")


@pytest.fixture
def ny_patient(ny_clinician) -> Patient:
    return PatientFactory(state="NY", user__timezone="America/New_York")


def slot_starts(client, day: str, visit_type: str = "new") -> list[str]:
    response = client.get(SLOTS, {"date": day, "visit_type": visit_type, "page_size": 200})
    assert response.status_code == 200
    return [item["start"] for item in response.json()["results"]]


def instants(starts: list[str]) -> list[datetime]:
    return [datetime.fromisoformat(start).astimezone(UTC) for start in starts]


def test_a_los_angeles_patient_sees_a_new_york_clinicians_day_in_their_own_time(
    client_for, ny_clinician, la_patient
):
    give_availability(ny_clinician)  # 08:00-20:00 New York
    with time_machine.travel(datetime(2026, 6, 10, 12, tzinfo=UTC), tick=False):
        found = slot_starts(client_for(la_patient.user), "2026-06-11")

    assert len(found) == 24
    assert found[0] == "2026-06-11T05:00:00-07:00"
    assert found[-1] == "2026-06-11T16:30:00-07:00"


def _late_evening_rules(clinician: Clinician) -> None:
    for start, end in ((time(0), time(2)), (time(21), time(23, 30))):
        services.availability_weekly_ensure(
            actor=None, clinician=clinician, weekdays=range(7), start_time=start, end_time=end
        )


def test_tomorrow_means_tomorrow_in_the_patients_zone_around_midnight(
    client_for, ny_clinician, la_patient, ny_patient
):
    _late_evening_rules(ny_clinician)
    # 23:30 on 10 June in Los Angeles is already 02:30 on 11 June in New York.
    with time_machine.travel(datetime(2026, 6, 10, 23, 30, tzinfo=LOS_ANGELES), tick=False):
        la_tomorrow = slot_starts(client_for(la_patient.user), "2026-06-11")
        la_today = slot_starts(client_for(la_patient.user), "2026-06-10")
        ny_today = slot_starts(client_for(ny_patient.user), "2026-06-11")

    # The patient's 11 June runs to New York's 12 June 03:00, so it includes the clinician's
    # after-midnight hours of 12 June, shown as the evening of the 11th in Los Angeles.
    assert la_tomorrow == [
        "2026-06-11T18:00:00-07:00",
        "2026-06-11T18:30:00-07:00",
        "2026-06-11T19:00:00-07:00",
        "2026-06-11T19:30:00-07:00",
        "2026-06-11T20:00:00-07:00",
        "2026-06-11T21:00:00-07:00",
        "2026-06-11T21:30:00-07:00",
        "2026-06-11T22:00:00-07:00",
        "2026-06-11T22:30:00-07:00",
    ]
    # Nothing left today: the next start is more than two hours away, on the patient's 11th.
    assert la_today == []
    # For the New York patient, "11 June" is today; only the evening is still ahead.
    assert ny_today == [
        "2026-06-11T21:00:00-04:00",
        "2026-06-11T21:30:00-04:00",
        "2026-06-11T22:00:00-04:00",
        "2026-06-11T22:30:00-04:00",
        "2026-06-11T23:00:00-04:00",
    ]


def test_a_booking_just_after_the_patients_midnight_lands_on_the_right_instant(
    client_for, ny_clinician, la_patient
):
    _late_evening_rules(ny_clinician)
    with time_machine.travel(datetime(2026, 6, 10, 20, 0, tzinfo=LOS_ANGELES), tick=False):
        response = book(
            client_for(la_patient.user),
            ny_clinician,
            datetime.fromisoformat("2026-06-10T22:30-07:00"),
        )

    assert response.status_code == 201
    assert response.json()["start"] == "2026-06-10T22:30:00-07:00"
    visit = ny_clinician.appointments.get()
    assert visit.start_at == datetime(2026, 6, 11, 5, 30, tzinfo=UTC)
    assert visit.start_at.astimezone(NEW_YORK).time() == time(1, 30)


@pytest.fixture
def night_and_day(ny_clinician) -> Clinician:
    """Follow-ups 00:00-06:00 (spanning both transition hours) and new visits 08:00-20:00."""
    services.availability_weekly_ensure(
        actor=None,
        clinician=ny_clinician,
        weekdays=range(7),
        start_time=time(0),
        end_time=time(6),
        visit_types=["follow_up"],
    )
    services.availability_weekly_ensure(
        actor=None,
        clinician=ny_clinician,
        weekdays=range(7),
        start_time=time(8),
        end_time=time(20),
        visit_types=["new"],
    )
    return ny_clinician


def test_spring_forward_skips_the_missing_hour_without_losing_or_doubling_slots(
    client_for, night_and_day, ny_patient
):
    with time_machine.travel(datetime(2026, 3, 6, 12, tzinfo=UTC), tick=False):
        client = client_for(ny_patient.user)
        follow_ups = slot_starts(client, "2026-03-08", "follow_up")
        new_visits = slot_starts(client, "2026-03-08")

    # 00:00-06:00 on 8 March is five real hours: 20 follow-ups, none at 02:xx.
    assert len(follow_ups) == len(set(instants(follow_ups))) == 20
    assert not [start for start in follow_ups if "T02:" in start]
    assert follow_ups[7] == "2026-03-08T01:45:00-05:00"
    assert follow_ups[8] == "2026-03-08T03:00:00-04:00"
    gaps = {b - a for a, b in zip(instants(follow_ups), instants(follow_ups)[1:], strict=False)}
    assert gaps == {timedelta(minutes=15)}
    assert len(new_visits) == 24
    assert (new_visits[0], new_visits[-1]) == (
        "2026-03-08T08:00:00-04:00",
        "2026-03-08T19:30:00-04:00",
    )


def test_fall_back_offers_the_repeated_hour_once_per_real_instant(
    client_for, night_and_day, ny_patient
):
    with time_machine.travel(datetime(2026, 10, 30, 12, tzinfo=UTC), tick=False):
        client = client_for(ny_patient.user)
        follow_ups = slot_starts(client, "2026-11-01", "follow_up")
        new_visits = slot_starts(client, "2026-11-01")

    # 00:00-06:00 on 1 November is seven real hours: 28 follow-ups, 01:xx twice.
    assert len(follow_ups) == len(set(instants(follow_ups))) == 28
    assert "2026-11-01T01:00:00-04:00" in follow_ups
    assert "2026-11-01T01:00:00-05:00" in follow_ups
    gaps = {b - a for a, b in zip(instants(follow_ups), instants(follow_ups)[1:], strict=False)}
    assert gaps == {timedelta(minutes=15)}
    assert len(new_visits) == 24
    assert new_visits[0] == "2026-11-01T08:00:00-05:00"


def test_both_occurrences_of_the_repeated_hour_can_be_booked_separately(
    client_for, night_and_day, ny_patient
):
    with time_machine.travel(datetime(2026, 10, 30, 12, tzinfo=UTC), tick=False):
        client = client_for(ny_patient.user)
        first = book(
            client,
            night_and_day,
            datetime.fromisoformat("2026-11-01T01:30-04:00"),
            visit_type="follow_up",
        )
        second = book(
            client,
            night_and_day,
            datetime.fromisoformat("2026-11-01T01:30-05:00"),
            visit_type="follow_up",
        )

    assert (first.status_code, second.status_code) == (201, 201)
    assert sorted(a.start_at for a in night_and_day.appointments.all()) == [
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    ("frozen_at", "days"),
    [
        (datetime(2026, 3, 4, 12, tzinfo=UTC), ["2026-03-06", "2026-03-10"]),
        (datetime(2026, 10, 28, 12, tzinfo=UTC), ["2026-10-30", "2026-11-03"]),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_los_angeles_and_new_york_days_cover_the_same_slots_across_a_transition(
    client_for, night_and_day, la_patient, scheduler, frozen_at, days
):
    first, last = (date.fromisoformat(day) for day in days)
    span = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    with time_machine.travel(frozen_at, tick=False):
        la_client = client_for(la_patient.user)
        ny_client = client_for(scheduler)  # a New York scheduler's own days
        by_la_day = [
            instant
            for day in span
            for visit_type in ("new", "follow_up")
            for instant in instants(slot_starts(la_client, str(day), visit_type))
        ]
        by_ny_day = [
            instant
            for day in span[1:-1]
            for visit_type in ("new", "follow_up")
            for instant in instants(slot_starts(ny_client, str(day), visit_type))
        ]

    assert len(by_la_day) == len(set(by_la_day))
    assert len(by_ny_day) == len(set(by_ny_day))
    ny_start = at(span[1], 0)
    ny_end = at(span[-2] + timedelta(days=1), 0)
    assert {i for i in by_la_day if ny_start <= i < ny_end} == set(by_ny_day)
