"""POEM, scored as published.

Source: Charman CR, Venn AJ, Williams HC. Arch Dermatol. 2004;140:1513-1519 (items, 0-4 scoring,
missing-data rule on the POEM scoring sheet, © The University of Nottingham) and Charman CR et al.
Br J Dermatol. 2013;169:1326-1332 (bands 0-2 clear/almost clear, 3-7 mild, 8-16 moderate,
17-24 severe, 25-28 very severe).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.instruments import poem
from intake.instruments.base import InvalidAnswer


def answers(*scores: int | None) -> dict[str, int | None]:
    return {f"poem-{n}": s for n, s in enumerate(scores, start=1) if s is not None}


def test_it_scores_all_minimum_as_0_clear() -> None:
    result = poem.score(answers(0, 0, 0, 0, 0, 0, 0))
    assert result.as_dict() == {"total": 0, "band": "clear", "subscales": {}}


def test_it_scores_all_maximum_as_28_very_severe() -> None:
    result = poem.score(answers(4, 4, 4, 4, 4, 4, 4))
    assert (result.total, result.band) == (28, "very_severe")


def test_it_sums_a_worked_example() -> None:
    # itch every day (4), sleep 3-4 nights (2), no bleeding (0), weeping 1-2 days (1),
    # cracked 5-6 days (3), flaking 3-4 days (2), dry every day (4): 16, moderate.
    result = poem.score(answers(4, 2, 0, 1, 3, 2, 4))
    assert (result.total, result.band) == (16, "moderate")


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (2, "clear"),
        (3, "mild"),
        (7, "mild"),
        (8, "moderate"),
        (16, "moderate"),
        (17, "severe"),
        (24, "severe"),
        (25, "very_severe"),
    ],
)
def test_it_bands_each_boundary_on_both_sides(total: int, band: str) -> None:
    scores = [min(4, max(0, total - 4 * i)) for i in range(7)]
    assert sum(scores) == total
    result = poem.score(answers(*scores))
    assert (result.total, result.band) == (total, band)


def test_one_blank_scores_0_and_the_rest_are_summed() -> None:
    result = poem.score(answers(4, 4, 4, None, 4, 4, 4))
    assert (result.total, result.band) == (24, "severe")


def test_a_null_answer_counts_as_a_blank() -> None:
    result = poem.score({**answers(4, 4, 4, 4, 4, 4), "poem-7": None})
    assert result.total == 24


def test_two_blanks_are_not_scored() -> None:
    result = poem.score(answers(4, 4, 4, 4, 4))
    assert result.as_dict() == {"total": None, "band": None, "subscales": {}}


def test_nothing_answered_is_not_scored() -> None:
    assert poem.score({}).total is None


@pytest.mark.parametrize("bad", [5, -1, True, 2.0, "2"])
def test_it_refuses_values_that_are_not_item_scores(bad: object) -> None:
    with pytest.raises(InvalidAnswer):
        poem.score({**answers(0, 0, 0, 0, 0, 0), "poem-7": bad})


# timings never decide a test (they belong in bench/): no deadline, no too-slow check


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), st.integers(0, 4)), min_size=7, max_size=7))
def test_totals_stay_in_range_and_follow_the_missing_data_rule(scores: list[int | None]) -> None:
    result = poem.score(answers(*scores))
    if scores.count(None) >= 2:
        assert result.total is None and result.band is None
    else:
        assert result.total == sum(s or 0 for s in scores)
        assert poem.TOTAL_MIN <= result.total <= poem.TOTAL_MAX
        assert result.band == poem.band(result.total)
