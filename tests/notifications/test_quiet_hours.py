"""Quiet hours on the user's own wall clock, including across DST changes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st

from carecore.notifications.models import Channel, Event, QuietHours
from carecore.notifications.policy import quiet_hours_end
from carecore.notifications.services import notify

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
SYDNEY = ZoneInfo("Australia/Sydney")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_it_is_none_outside_quiet_hours():
    at = _utc("2026-06-10T12:00:00-04:00")
    assert quiet_hours_end(at=at, zone=NEW_YORK, start=time(22), end=time(7)) is None


def test_an_overnight_window_ends_the_next_morning():
    at = _utc("2026-06-10T23:15:00-04:00")
    assert quiet_hours_end(at=at, zone=NEW_YORK, start=time(22), end=time(7)) == _utc(
        "2026-06-11T07:00:00-04:00"
    )


def test_after_midnight_it_ends_the_same_morning():
    at = _utc("2026-06-11T02:00:00-04:00")
    assert quiet_hours_end(at=at, zone=NEW_YORK, start=time(22), end=time(7)) == _utc(
        "2026-06-11T07:00:00-04:00"
    )


def test_a_daytime_window_works_too():
    at = _utc("2026-06-11T13:30:00-04:00")
    assert quiet_hours_end(at=at, zone=NEW_YORK, start=time(13), end=time(14)) == _utc(
        "2026-06-11T14:00:00-04:00"
    )


def test_spring_forward_night_ends_at_7_local_which_is_an_hour_earlier_in_utc():
    # New York springs forward at 02:00 on 2026-03-08: 23:30 EST (UTC-5) -> 07:00 EDT (UTC-4).
    at = _utc("2026-03-07T23:30:00-05:00")
    ends = quiet_hours_end(at=at, zone=NEW_YORK, start=time(22), end=time(7))
    assert ends == _utc("2026-03-08T11:00:00Z")
    assert ends - at == timedelta(hours=6, minutes=30)  # a 7.5 h wall-clock wait, 6.5 h real


def test_fall_back_night_in_london_ends_at_7_local():
    # London falls back at 02:00 BST on 2026-10-25: 23:00 BST (UTC+1) -> 07:00 GMT (UTC+0).
    at = _utc("2026-10-24T23:00:00+01:00")
    ends = quiet_hours_end(at=at, zone=LONDON, start=time(22), end=time(7))
    assert ends == _utc("2026-10-25T07:00:00Z")
    assert ends - at == timedelta(hours=9)


def test_an_end_inside_the_spring_forward_gap_goes_out_right_after_the_gap():
    # 02:30 does not exist in New York on 2026-03-08.
    at = _utc("2026-03-08T01:30:00-05:00")
    ends = quiet_hours_end(at=at, zone=NEW_YORK, start=time(1), end=time(2, 30))
    assert ends == _utc("2026-03-08T03:30:00-04:00")


@given(
    at=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
    ),
    zone=st.sampled_from([NEW_YORK, LONDON, SYDNEY, ZoneInfo("Asia/Kolkata"), ZoneInfo("UTC")]),
    start=st.times(),
    end=st.times(),
)
def test_the_delivery_time_is_never_early_never_a_day_late_and_never_in_quiet_hours(
    at, zone, start, end
):
    if start == end:
        return
    start, end = start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0)
    if start == end:
        return
    ends = quiet_hours_end(at=at, zone=zone, start=start, end=end)
    if ends is None:
        return
    assert at <= ends <= at + timedelta(hours=25)  # a fall-back night is 25 hours long
    assert quiet_hours_end(at=ends, zone=zone, start=start, end=end) in (None, ends)


@pytest.mark.django_db
@time_machine.travel("2026-03-08T06:30:00Z", tick=False)  # 17:30 in Sydney, 01:30 in New York
def test_each_recipient_is_deferred_on_their_own_clock_across_a_dst_change(patient, other_patient):
    QuietHours.objects.create(user=patient.user, start=time(22), end=time(7))
    other_patient.user.timezone = "Australia/Sydney"
    other_patient.user.save()
    QuietHours.objects.create(user=other_patient.user, start=time(17), end=time(18))

    created = notify(
        event=Event.CARE_PLAN_PUBLISHED,
        recipients=[patient.user, other_patient.user],
        subject_type="care_plan",
        subject_id=uuid.uuid4(),
    )

    due = {row.recipient_id: row.due_at for row in created if row.channel == Channel.EMAIL}
    # New York: 07:00 EDT, after that night's spring-forward.
    assert due[patient.user.id] == _utc("2026-03-08T07:00:00-04:00")
    # Sydney (AEDT, UTC+11): 18:00 the same evening.
    assert due[other_patient.user.id] == _utc("2026-03-08T18:00:00+11:00")


@pytest.mark.django_db
@time_machine.travel("2026-03-08T06:30:00Z", tick=False)
def test_a_user_who_turned_quiet_hours_off_is_not_deferred(patient):
    QuietHours.objects.create(user=patient.user, start=None, end=None)

    created = notify(
        event=Event.CARE_PLAN_PUBLISHED,
        recipients=[patient.user],
        subject_type="care_plan",
        subject_id=uuid.uuid4(),
    )

    email = next(row for row in created if row.channel == Channel.EMAIL)
    assert email.due_at == _utc("2026-03-08T06:30:00Z")
