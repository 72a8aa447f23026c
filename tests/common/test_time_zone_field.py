"""TimeZoneField: any IANA name, the names read from disk once per process (a serializer's fields
are made afresh for every request that uses them)."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from carecore.common.fields import TimeZoneField, _time_zone_names


def test_every_iana_name_and_nothing_else():
    field = TimeZoneField()

    assert field.run_validation("America/New_York") == "America/New_York"
    with pytest.raises(serializers.ValidationError):
        field.run_validation("Mars/Olympus_Mons")


def test_the_zone_database_is_read_once_for_every_field():
    TimeZoneField()
    read_before = _time_zone_names.cache_info().misses

    first, second = TimeZoneField(), TimeZoneField()

    assert _time_zone_names.cache_info().misses == read_before
    assert list(first.choices) == list(second.choices)
