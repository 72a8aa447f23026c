"""Slot arithmetic without a database: grid, busy time, overlapping rules, daylight saving."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.slots import BusyTimes, Interval, WeeklyRule, local_day_bounds, open_slots

NEW_YORK = ZoneInfo("America/New_York")
EVERY_DAY_8_TO_20 = [
    WeeklyRule(day, time(8), time(20), frozenset({"new", "follow_up"})) for day in range(7)
]
THIRTY = timedelta(minutes=30)


def day_slots(
    day: date,
    *,
    rules=EVERY_DAY_8_TO_20,
    zone=NEW_YORK,
    busy=(),
    visit_type="new",
    duration=THIRTY,
):
    bounds = local_day_bounds(day, zone)
    return open_slots(
        rules=rules,
        zone=zone,
        visit_type=visit_type,
        duration=duration,
        busy=BusyTimes(busy),
        not_before=bounds.start,
        before=bounds.end,
    )


def local(slot_start: datetime, zone: ZoneInfo = NEW_YORK) -> str:
    return slot_start.astimezone(zone).strftime("%H:%M%z")


def test_it_tiles_a_window_with_slots_of_the_visit_length():
    found = day_slots(date(2026, 6, 10))

    assert len(found) == 24
    assert local(found[0].start) == "08:00-0400"
    assert local(found[-1].start) == "19:30-0400"
    assert all(slot.end - slot.start == THIRTY for slot in found)


def test_it_leaves_out_slots_that_overlap_busy_time_but_keeps_adjacent_ones():
    busy_start = datetime(2026, 6, 10, 14, 0, tzinfo=UTC)  # 10:00 in New York
    found = day_slots(date(2026, 6, 10), busy=[Interval(busy_start, busy_start + THIRTY)])

    starts = [local(slot.start) for slot in found]
    assert "10:00-0400" not in starts
    assert "09:30-0400" in starts
    assert "10:30-0400" in starts


def test_a_short_busy_interval_blocks_every_slot_it_touches():
    busy_start = datetime(2026, 6, 10, 14, 15, tzinfo=UTC)  # a 15-minute visit at 10:15
    found = day_slots(
        date(2026, 6, 10), busy=[Interval(busy_start, busy_start + timedelta(minutes=15))]
    )

    assert "10:00-0400" not in [local(slot.start) for slot in found]
    assert len(found) == 23


def test_it_offers_only_rules_for_the_visit_type():
    rules = [WeeklyRule(2, time(9), time(10), frozenset({"follow_up"}))]

    assert day_slots(date(2026, 6, 10), rules=rules, visit_type="new") == []
    follow_ups = day_slots(
        date(2026, 6, 10), rules=rules, visit_type="follow_up", duration=timedelta(minutes=15)
    )
    assert [local(slot.start) for slot in follow_ups] == [
        "09:00-0400",
        "09:15-0400",
        "09:30-0400",
        "09:45-0400",
    ]


def test_overlapping_rules_never_offer_one_instant_twice():
    rules = [
        WeeklyRule(2, time(9), time(11), frozenset({"new"})),
        WeeklyRule(2, time(10), time(12), frozenset({"new"})),
    ]
    found = day_slots(date(2026, 6, 10), rules=rules)

    assert len(found) == len({slot.start for slot in found}) == 6


def test_it_drops_a_tail_too_short_for_a_visit():
    rules = [WeeklyRule(2, time(9), time(9, 45), frozenset({"new"}))]

    assert [local(slot.start) for slot in day_slots(date(2026, 6, 10), rules=rules)] == [
        "09:00-0400"
    ]


def test_on_spring_forward_the_missing_hour_has_no_slots_and_nothing_is_doubled():
    rules = [WeeklyRule(6, time(0), time(6), frozenset({"follow_up"}))]  # Sundays
    found = day_slots(
        date(2026, 3, 8), rules=rules, visit_type="follow_up", duration=timedelta(minutes=15)
    )

    # 00:00-06:00 on 8 March 2026 is five real hours in New York.
    assert len(found) == 20
    assert len({slot.start for slot in found}) == 20
    assert not [slot for slot in found if slot.start.astimezone(NEW_YORK).hour == 2]
    gaps = {later.start - earlier.start for earlier, later in itertools.pairwise(found)}
    assert gaps == {timedelta(minutes=15)}


def test_on_fall_back_the_repeated_hour_is_offered_once_per_real_instant():
    rules = [WeeklyRule(6, time(0), time(6), frozenset({"follow_up"}))]
    found = day_slots(
        date(2026, 11, 1), rules=rules, visit_type="follow_up", duration=timedelta(minutes=15)
    )

    # 00:00-06:00 on 1 November 2026 is seven real hours; 01:00-01:59 happens twice.
    assert len(found) == 28
    assert len({slot.start for slot in found}) == 28
    one_oclock = [local(slot.start) for slot in found if slot.start.astimezone(NEW_YORK).hour == 1]
    assert one_oclock[:4] == ["01:00-0400", "01:15-0400", "01:30-0400", "01:45-0400"]
    assert one_oclock[4:] == ["01:00-0500", "01:15-0500", "01:30-0500", "01:45-0500"]


def test_a_regular_daytime_rule_keeps_its_slots_on_both_transition_days():
    for day in (date(2026, 3, 8), date(2026, 11, 1)):
        found = day_slots(day)
        assert [local(slot.start)[:5] for slot in found][:2] == ["08:00", "08:30"]
        assert len(found) == 24


def test_local_days_are_23_and_25_hours_long_on_transition_days():
    assert local_day_bounds(date(2026, 3, 8), NEW_YORK).end - local_day_bounds(
        date(2026, 3, 8), NEW_YORK
    ).start == timedelta(hours=23)
    assert local_day_bounds(date(2026, 11, 1), NEW_YORK).end - local_day_bounds(
        date(2026, 11, 1), NEW_YORK
    ).start == timedelta(hours=25)


def test_it_respects_not_before_without_moving_the_grid():
    not_before = datetime(2026, 6, 10, 14, 5, tzinfo=UTC)  # 10:05 in New York
    found = open_slots(
        rules=EVERY_DAY_8_TO_20,
        zone=NEW_YORK,
        visit_type="new",
        duration=THIRTY,
        busy=BusyTimes(),
        not_before=not_before,
        before=not_before + timedelta(hours=2),
    )

    assert [local(slot.start) for slot in found] == [
        "10:30-0400",
        "11:00-0400",
        "11:30-0400",
        "12:00-0400",
    ]


_MINUTES = st.integers(min_value=0, max_value=24 * 60)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_MINUTES, st.integers(min_value=1, max_value=180)), max_size=12))
def test_open_slots_are_exactly_the_grid_slots_clear_of_busy_time(busy_spec):
    day = date(2026, 6, 10)
    midnight = local_day_bounds(day, NEW_YORK).start
    busy = [
        Interval(midnight + timedelta(minutes=start), midnight + timedelta(minutes=start + length))
        for start, length in busy_spec
    ]
    found = day_slots(day, busy=busy)

    grid = [
        datetime.combine(day, time(8), tzinfo=NEW_YORK).astimezone(UTC) + THIRTY * index
        for index in range(24)
    ]
    expected = [
        start for start in grid if not any(b.start < start + THIRTY and start < b.end for b in busy)
    ]
    assert [slot.start for slot in found] == expected
