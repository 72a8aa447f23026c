from __future__ import annotations

import functools
import zoneinfo

from django.core.exceptions import ValidationError

from .us_states import US_STATES

# Names in the tz database that are not a place's time: "localtime" is the server's own zone
# (it follows whatever machine runs us), "Factory" a placeholder whose abbreviation reads "-00",
# "posixrules" a template for other rules.
_NOT_A_PLACE = frozenset({"localtime", "Factory", "posixrules"})


@functools.cache
def _iana_zones() -> frozenset[str]:
    # Scans the tz database once per process (tzdata is a pinned dependency).
    return frozenset(zoneinfo.available_timezones()) - _NOT_A_PLACE


def is_valid_timezone(value: str) -> bool:
    return value in _iana_zones()


def validate_timezone(value: str) -> None:
    """Any IANA time zone name ("America/New_York"), never a bare offset."""
    if not is_valid_timezone(value):
        raise ValidationError("Unknown time zone; use an IANA name such as America/New_York.")


def validate_us_state(value: str) -> None:
    if value not in US_STATES:
        raise ValidationError("Use a US two-letter state code such as NY.")
