"""The times the inbox and the message pages render themselves (messaging/apis.py: `_iso`) read
exactly as DRF's DateTimeField writes them, for every instant, in UTC and in any other zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from django.test import override_settings
from django.utils import timezone as django_timezone
from hypothesis import given
from hypothesis import strategies as st
from rest_framework import serializers

from messaging import apis
from messaging.apis import _iso

instants = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)
whole_seconds = instants.map(lambda value: value.replace(microsecond=0))


def drf(value: datetime) -> str:
    return serializers.DateTimeField().to_representation(value)


@given(st.one_of(instants, whole_seconds))
def test_a_utc_instant_reads_as_drf_writes_it(value):
    zone = django_timezone.get_current_timezone()  # UTC, the API's zone

    assert _iso(value, zone) == drf(value)
    assert _iso(value, UTC) == drf(value)


@given(instants, st.sampled_from(["America/New_York", "Asia/Kolkata", "Pacific/Chatham"]))
def test_in_another_zone_too(value, name):
    with override_settings(TIME_ZONE=name):
        zone = django_timezone.get_current_timezone()
        assert zone == ZoneInfo(name)

        assert _iso(value, zone) == drf(value)


@given(instants)
def test_a_time_with_another_offset_is_written_in_the_apis_zone(value):
    elsewhere = value.astimezone(timezone(timedelta(hours=-5)))

    assert _iso(elsewhere, django_timezone.get_current_timezone()) == drf(value)


def test_no_time_is_null():
    assert _iso(None, UTC) is None


def test_a_time_written_again_is_remembered_within_a_bound():
    times = [datetime(2026, 12, 3, 8, minute, 0, minute, tzinfo=UTC) for minute in range(5)]

    for value in times:
        assert _iso(value, UTC) == drf(value)
    assert _iso(times[-1], UTC) is _iso(times[-1], UTC)  # the same text, not written again
    assert apis._utc_iso.cache_info().maxsize == 65_536
    # The same instant in another zone is not a UTC time: it never reads a remembered text.
    assert _iso(times[-1].astimezone(ZoneInfo("Asia/Kolkata")), UTC) == drf(times[-1])
