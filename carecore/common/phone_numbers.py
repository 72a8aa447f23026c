"""django-phonenumber-field's model field, parsing each stored number once per process.

A number is stored as text (E.164) and the library parses it with libphonenumber every time a
row is read: about 25 us a number in isolation and 2-3% of an API request's CPU under load,
since every request reads its user's row with the bearer token (carecore/accounts/sessions.py)
and every demo and clinic account has a phone. The same few numbers come back on every request,
so the parsed number is remembered by its text and each read gets a copy of its own (about 1 us):
callers may change the number they were given without changing anyone else's.
"""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from phonenumber_field import modelfields
from phonenumber_field.phonenumber import PhoneNumber, to_python


class PhoneNumberField(modelfields.PhoneNumberField):
    """`phonenumber_field.modelfields.PhoneNumberField`, reading each stored text through
    `parsed_number`."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if not isinstance(value, str) or not value:
            return super().from_db_value(value, expression, connection)
        return parsed_number(value)


def parsed_number(text: str) -> PhoneNumber:
    """What the library's `from_db_value` gives for `text` (a number, or an unparseable one
    holding `text` as its raw input), as a new object every call."""
    parsed = _parsed(text, getattr(settings, "PHONENUMBER_DEFAULT_REGION", None))
    number = PhoneNumber()
    number.merge_from(parsed)
    return number


# By the text and the default region a text without a country code is read in (what the
# library reads it in when given none). Bounded.
@functools.lru_cache(maxsize=16_384)
def _parsed(text: str, region: str | None) -> PhoneNumber:
    return to_python(text, region=region)
