"""Properties every banded instrument shares: its bands tile its published range in order, and
the band never goes down as the total goes up. Sources are cited in each instrument's module and
test module (test_poem.py, test_dlqi.py, test_ibs_sss.py, test_isi.py, test_bristol.py).
"""

from __future__ import annotations

import itertools
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.instruments import INSTRUMENTS, bristol, dlqi, ibs_sss, isi, poem

BANDED = [poem, dlqi, ibs_sss, isi, bristol]


def test_every_instrument_is_registered_by_slug() -> None:
    assert set(INSTRUMENTS) == {
        "poem",
        "dlqi",
        "gsrs",
        "ibs-sss",
        "pss-10",
        "pss-4",
        "isi",
        "bristol",
    }


@pytest.mark.parametrize("module", BANDED, ids=lambda m: m.SLUG)
def test_the_bands_tile_the_range_without_gaps_or_overlaps(module: ModuleType) -> None:
    bands = module.BANDS
    assert bands[0].low == module.TOTAL_MIN
    assert bands[-1].high == module.TOTAL_MAX
    for lower, upper in itertools.pairwise(bands):
        assert upper.low == lower.high + 1


@pytest.mark.parametrize("module", BANDED, ids=lambda m: m.SLUG)
def test_totals_outside_the_range_have_no_band(module: ModuleType) -> None:
    for total in (module.TOTAL_MIN - 1, module.TOTAL_MAX + 1):
        with pytest.raises(ValueError, match="outside"):
            module.band(total)


@pytest.mark.parametrize("module", BANDED, ids=lambda m: m.SLUG)
# timings never decide a test (they belong in bench/): no deadline, no too-slow check
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_bands_are_monotonic_in_the_total(module: ModuleType, data: st.DataObject) -> None:
    order = [band.name for band in module.BANDS]
    low = data.draw(st.integers(module.TOTAL_MIN, module.TOTAL_MAX))
    high = data.draw(st.integers(low, module.TOTAL_MAX))
    assert order.index(module.band(low)) <= order.index(module.band(high))
