"""Slot arithmetic: weekly availability minus busy time, in plain Python (no Django here).

Everything works on aware datetimes. Weekly rules are wall-clock times in the clinician's zone;
they become real instants first, and slots then tile those instants in *elapsed* time. That is
what keeps daylight-saving days honest: on a spring-forward day a rule covering 01:00-04:00 is two
real hours (no slot at a wall time that does not exist), on a fall-back day it is four (the
repeated hour is offered once per real instant, never twice at the same instant).
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class WeeklyRule:
    weekday: int  # Monday 0 ... Sunday 6, as date.weekday()
    start: time
    end: time
    visit_types: frozenset[str]


@dataclass(frozen=True, order=True)
class Interval:
    start: datetime
    end: datetime


@dataclass(frozen=True, order=True, slots=True)
class Slot:
    start: datetime
    end: datetime


def local_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time in `zone`, read the way RFC 5545 (3.3.5) reads it.

    An ambiguous time (fall back) means its first occurrence; a time inside a gap (spring
    forward) is read with the offset before the gap. `fold=0` gives exactly both.
    """
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def local_day_bounds(day: date, zone: ZoneInfo) -> Interval:
    """[midnight, next midnight) of a calendar day in `zone`, as UTC instants (23 or 25 h on
    daylight-saving days)."""
    return Interval(
        local_instant(day, time(0), zone), local_instant(day + timedelta(days=1), time(0), zone)
    )


class BusyTimes:
    """Busy intervals (appointments, time off), merged so an overlap test is one bisect.

    Kept as POSIX timestamps: comparing floats is several times faster than comparing aware
    datetimes, and this test runs once per candidate slot.
    """

    def __init__(self, intervals: Iterable[Interval] = ()) -> None:
        self._merge(
            sorted((interval.start.timestamp(), interval.end.timestamp()) for interval in intervals)
        )

    @classmethod
    def from_timestamps(cls, pairs: Iterable[tuple[float, float]]) -> BusyTimes:
        """From (start, end) POSIX timestamps, as the database hands them out cheaply."""
        busy = cls()
        busy._merge(sorted(pairs))
        return busy

    def _merge(self, pairs: list[tuple[float, float]]) -> None:
        merged: list[list[float]] = []
        for start, end in pairs:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        # Merged intervals are disjoint, so their ends are sorted too and can be bisected.
        self._starts = [start for start, _ in merged]
        self._ends = [end for _, end in merged]

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """True if [start, end) shares any instant with a busy interval (half-open ranges)."""
        return self.overlaps_timestamps(start.timestamp(), end.timestamp())

    def overlaps_timestamps(self, start: float, end: float) -> bool:
        index = bisect.bisect_right(self._ends, start)
        return index < len(self._starts) and self._starts[index] < end


def _rules_by_weekday(rules: Iterable[WeeklyRule], visit_type: str) -> dict[int, list[WeeklyRule]]:
    by_weekday: dict[int, list[WeeklyRule]] = defaultdict(list)
    for rule in rules:
        if visit_type in rule.visit_types:
            by_weekday[rule.weekday].append(rule)
    return by_weekday


def iter_open_slots(
    *,
    rules: Sequence[WeeklyRule],
    zone: ZoneInfo,
    visit_type: str,
    duration: timedelta,
    busy: BusyTimes,
    not_before: datetime,
    before: datetime,
) -> Iterator[Slot]:
    """Open slots of one clinician starting in [not_before, before), in start order.

    Slots sit on a grid of `duration` from the start of each availability window (09:00, 09:30,
    ... for 30 minutes), so offered times stay round whatever the current time. Overlapping rules
    never yield the same instant twice. Lazy, so "the earliest slot" stops at the first one.
    """
    for start in iter_open_starts(
        rules=rules,
        zone=zone,
        visit_type=visit_type,
        duration=duration,
        busy=busy,
        not_before=not_before,
        before=before,
    ):
        yield Slot(start, start + duration)


def iter_open_starts(
    *,
    rules: Sequence[WeeklyRule],
    zone: ZoneInfo,
    visit_type: str,
    duration: timedelta,
    busy: BusyTimes,
    not_before: datetime,
    before: datetime,
) -> Iterator[datetime]:
    """`iter_open_slots`, yielding only the start instants (UTC).

    For callers building their own slot objects: one object fewer per slot matters when a
    request computes tens of thousands (fewer container objects, fewer garbage collections).
    """
    by_weekday = _rules_by_weekday(rules, visit_type)
    if not by_weekday or not_before >= before:
        return
    # The inner loop works on POSIX timestamps (elapsed seconds, so DST-safe by construction)
    # and builds datetimes only for the slots it yields.
    step = duration.total_seconds()
    lowest, highest = not_before.timestamp(), before.timestamp()
    # Rules never cross midnight, so no window of an earlier local day holds a start we want.
    day = not_before.astimezone(zone).date()
    last_day = before.astimezone(zone).date()
    while day <= last_day:
        starts: set[float] = set()
        for rule in by_weekday.get(day.weekday(), ()):
            window_end = local_instant(day, rule.end, zone).timestamp()
            start = local_instant(day, rule.start, zone).timestamp()
            if start < lowest:  # jump along the grid to the first start at or after not_before
                start += math.ceil((lowest - start) / step) * step
            while start + step <= window_end and start < highest:
                if not busy.overlaps_timestamps(start, start + step):
                    starts.add(start)
                start += step
        for start in sorted(starts):
            yield datetime.fromtimestamp(start, UTC)
        day += timedelta(days=1)


def open_slots(
    *,
    rules: Sequence[WeeklyRule],
    zone: ZoneInfo,
    visit_type: str,
    duration: timedelta,
    busy: BusyTimes,
    not_before: datetime,
    before: datetime,
) -> list[Slot]:
    return list(
        iter_open_slots(
            rules=rules,
            zone=zone,
            visit_type=visit_type,
            duration=duration,
            busy=busy,
            not_before=not_before,
            before=before,
        )
    )
