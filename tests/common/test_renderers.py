"""The API's JSON renderer (carecore/common/renderers.py) writes what DRF's JSONRenderer writes:
the same bytes for every value, a float's spelling aside (DRF's encoder writes a decimal as a
float too)."""

from __future__ import annotations

import json
import math
from datetime import UTC
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer

from carecore.common.renderers import OrjsonRenderer

# What the API's serializers hand a renderer: JSON's own values, and the Python values DRF's
# encoder writes (times, ids, lazy translations, tuples; decimals and floats below).
texts = st.text()  # any character, U+2028 and U+2029 included; lone surrogates too
python_values = st.one_of(
    st.datetimes(timezones=st.one_of(st.none(), st.just(UTC))),
    st.dates(),
    st.times(),
    st.timedeltas(),
    st.uuids(),
    st.just(gettext_lazy("Not found.")),
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    texts,
    python_values,
)
values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(texts, children, max_size=5),
    ),
    max_leaves=30,
)


def _both(data: object, accepted_media_type: str | None = None) -> list[bytes | type]:
    """What each renderer writes, or the class of the exception it raises."""
    written: list[bytes | type] = []
    for renderer in (OrjsonRenderer(), JSONRenderer()):
        try:
            written.append(renderer.render(data, accepted_media_type, {}))
        except Exception as error:  # the same failure from both is the point
            written.append(type(error))
    return written


@given(values)
def test_every_value_is_written_as_drf_writes_it(data):
    ours, drfs = _both(data)

    assert ours == drfs


numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False),
)


@given(st.lists(numbers, max_size=10))
def test_a_float_has_the_same_value_though_it_may_be_spelled_differently(data):
    # 1e-07 or 1e-7, 9.999e-05 or 0.00009999: the same number to any JSON reader.
    ours, drfs = (OrjsonRenderer().render(data), JSONRenderer().render(data))

    assert json.loads(ours) == json.loads(drfs)


def test_line_and_paragraph_separators_are_escaped_for_javascript():
    assert OrjsonRenderer().render({"body": "a\u2028b\u2029c"}) == b'{"body":"a\\u2028b\\u2029c"}'


def test_an_indented_answer_and_an_integer_beyond_64_bits_are_drfs_own():
    assert (
        _both({"a": [1, 2]}, "application/json; indent=4")
        == [b'{\n    "a": [\n        1,\n        2\n    ]\n}'] * 2
    )
    ours, drfs = _both({"big": 2**64})
    assert ours == drfs == b'{"big":18446744073709551616}'


def test_nothing_is_written_for_none():
    assert OrjsonRenderer().render(None) == b""


def test_a_float_that_is_not_a_number_is_null_where_drf_refused_it():
    assert OrjsonRenderer().render([math.nan, math.inf]) == b"[null,null]"


def test_it_is_the_apis_renderer():
    assert settings.REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] == [
        "carecore.common.renderers.OrjsonRenderer"
    ]
    # A serializer's DecimalField gives a string (COERCE_DECIMAL_TO_STRING); a bare decimal is
    # written by DRF's encoder as a float, here too.
    assert _both({"score": Decimal("12.50")}) == [b'{"score":12.5}'] * 2
