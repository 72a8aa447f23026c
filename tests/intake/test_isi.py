"""Insomnia Severity Index, scored as published.

Source: Bastien CH, Vallières A, Morin CM. Sleep Med. 2001;2:297-307: seven items scored 0-4,
total 0-28; 0-7 no clinically significant insomnia, 8-14 subthreshold insomnia, 15-21 clinical
insomnia (moderate), 22-28 clinical insomnia (severe). The missing-data rule is ours.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.instruments import isi
from intake.instruments.base import InvalidAnswer


def answers(*scores: int | None) -> dict[str, int | None]:
    return {f"isi-{n}": s for n, s in enumerate(scores, start=1)}


def test_it_scores_all_minimum_as_0_none() -> None:
    assert isi.score(answers(*[0] * 7)).as_dict() == {"total": 0, "band": "none", "subscales": {}}


def test_it_scores_all_maximum_as_28_severe() -> None:
    result = isi.score(answers(*[4] * 7))
    assert (result.total, result.band) == (28, "severe")


def test_a_worked_example() -> None:
    # moderate trouble falling asleep (2), severe waking (3), mild early waking (1),
    # dissatisfied (3), somewhat noticeable (2), worried a lot (3), interferes much (3) = 17
    result = isi.score(answers(2, 3, 1, 3, 2, 3, 3))
    assert (result.total, result.band) == (17, "moderate")


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (7, "none"),
        (8, "subthreshold"),
        (14, "subthreshold"),
        (15, "moderate"),
        (21, "moderate"),
        (22, "severe"),
    ],
)
def test_it_bands_each_boundary_on_both_sides(total: int, band: str) -> None:
    scores = [min(4, max(0, total - 4 * i)) for i in range(7)]
    result = isi.score(answers(*scores))
    assert (result.total, result.band) == (total, band)


def test_any_blank_is_not_scored() -> None:
    result = isi.score(answers(4, 4, 4, 4, 4, 4, None))
    assert (result.total, result.band) == (None, None)


@pytest.mark.parametrize("bad", [5, -1, False, 1.5])
def test_it_refuses_values_that_are_not_item_scores(bad: object) -> None:
    with pytest.raises(InvalidAnswer):
        isi.score(answers(0, 0, 0, 0, 0, 0, bad))  # type: ignore[arg-type]


# timings never decide a test (they belong in bench/): no deadline, no too-slow check


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 4), min_size=7, max_size=7))
def test_totals_stay_in_range(scores: list[int]) -> None:
    result = isi.score(answers(*scores))
    assert result.total == sum(scores)
    assert isi.TOTAL_MIN <= result.total <= isi.TOTAL_MAX
    assert result.band == isi.band(result.total)
