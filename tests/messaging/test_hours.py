"""Care-team hours and working-time arithmetic (messaging/hours.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from messaging.hours import CareTeamHours

NY = ZoneInfo("America/New_York")
HOURS = CareTeamHours.parse(opens="08:00", closes="18:00", weekdays="0,1,2,3,4", zone=NY.key)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY)


def test_it_is_open_on_weekdays_in_working_hours_only():
    assert HOURS.is_open(at(2026, 3, 10, 8, 0))
    assert HOURS.is_open(at(2026, 3, 10, 17, 59))
    assert not HOURS.is_open(at(2026, 3, 10, 18, 0))
    assert not HOURS.is_open(at(2026, 3, 10, 7, 59))
    assert not HOURS.is_open(at(2026, 3, 14, 12, 0))  # Saturday


def test_a_routine_clock_runs_inside_working_hours():
    assert HOURS.add_working_time(at(2026, 3, 10, 10, 0), timedelta(hours=4)) == at(
        2026, 3, 10, 14, 0
    )
    # 16:00 Tuesday + 4 working hours = 10:00 Wednesday.
    assert HOURS.add_working_time(at(2026, 3, 10, 16, 0), timedelta(hours=4)) == at(
        2026, 3, 11, 10, 0
    )
    # Friday night waits for Monday morning.
    assert HOURS.add_working_time(at(2026, 3, 13, 21, 0), timedelta(hours=4)) == at(
        2026, 3, 16, 12, 0
    )


def test_next_opening_crosses_the_weekend_and_dst():
    # DST starts in New York on Sunday 8 March 2026; Monday opens at 08:00 local (12:00 UTC).
    opening = HOURS.next_opening(at(2026, 3, 6, 19, 0))
    assert opening == at(2026, 3, 9, 8, 0)
    assert opening.utcoffset() == timedelta(hours=-4)


def test_it_works_from_any_time_zone_and_refuses_naive_datetimes():
    tokyo = datetime(2026, 3, 11, 0, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 11:00 Tue in New York
    assert HOURS.is_open(tokyo)
    with pytest.raises(ValueError):
        HOURS.add_working_time(datetime(2026, 3, 10, 10, 0), timedelta(hours=1))


def test_it_rejects_nonsense_hours():
    with pytest.raises(ValueError):
        CareTeamHours.parse(opens="18:00", closes="08:00", weekdays="0", zone=NY.key)
