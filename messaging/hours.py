"""Care-team hours and the first-response clock. Plain Python: no Django, no database.

Routine messages are promised an answer within N working hours (the clock only runs while the
care team is working, so a Friday-night message is not "overdue" at 1 a.m. Saturday); urgent
ones within M minutes around the clock, because triage pages the on-call clinician at any hour.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, time, timedelta


@dataclass(frozen=True)
class CareTeamHours:
    opens: time
    closes: time
    weekdays: frozenset[int]  # Monday = 0
    zone: zoneinfo.ZoneInfo

    @classmethod
    def parse(cls, *, opens: str, closes: str, weekdays: str, zone: str) -> CareTeamHours:
        """From settings strings: "08:00", "18:00", "0,1,2,3,4", "America/New_York"."""
        hours = cls(
            opens=time.fromisoformat(opens),
            closes=time.fromisoformat(closes),
            weekdays=frozenset(int(day) for day in weekdays.split(",") if day.strip()),
            zone=zoneinfo.ZoneInfo(zone),
        )
        if hours.opens >= hours.closes or not hours.weekdays:
            raise ValueError("care-team hours need opens < closes and at least one weekday")
        return hours

    def _window(self, day: datetime) -> tuple[datetime, datetime]:
        opens = datetime.combine(day.date(), self.opens, tzinfo=self.zone)
        closes = datetime.combine(day.date(), self.closes, tzinfo=self.zone)
        return opens, closes

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        if local.weekday() not in self.weekdays:
            return False
        opens, closes = self._window(local)
        return opens <= local < closes

    def next_opening(self, moment: datetime) -> datetime:
        """The first opening time strictly after `moment` if closed now, else `moment` itself."""
        if self.is_open(moment):
            return moment
        local = moment.astimezone(self.zone)
        for days in range(0, 8):
            day = local + timedelta(days=days)
            if day.weekday() not in self.weekdays:
                continue
            opens, _ = self._window(day)
            if opens > local:
                return opens
        raise AssertionError("unreachable: at least one weekday is open")

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """`start` plus `duration` counted only inside working hours (aware in, aware out)."""
        if start.tzinfo is None:
            raise ValueError("aware datetimes only")
        remaining = duration
        cursor = self.next_opening(start).astimezone(self.zone)
        while True:
            _, closes = self._window(cursor)
            available = closes - cursor
            if remaining <= available:
                return cursor + remaining
            remaining -= available
            cursor = self.next_opening(closes)
