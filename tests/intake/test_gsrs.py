"""GSRS, scored as published.

Source: Svedlund J, Sjödin I, Dotevall G. Dig Dis Sci. 1988;33:129-134 (the 15 items);
Dimenäs E et al. Scand J Gastroenterol. 1993;28:681-687 (self-report version, 1-7 scale);
Revicki DA et al. Qual Life Res. 1998;7:75-83 (five syndromes, each the mean of its items:
reflux 2-3, abdominal pain 1/4/5, indigestion 6-9, diarrhoea 11/12/14, constipation 10/13/15).
Missing items and the overall mean follow PRODUCT.md and docs/instruments.md.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.instruments import gsrs
from intake.instruments.base import InvalidAnswer


def answers(**by_item: int | None) -> dict[str, int | None]:
    return {f"gsrs-{k.removeprefix('q')}": v for k, v in by_item.items()}


def everything(rating: int) -> dict[str, int]:
    return dict.fromkeys(gsrs.LINK_IDS, rating)


def test_the_syndromes_use_the_published_items_once_each() -> None:
    items = sorted(n for numbers in gsrs.SYNDROMES.values() for n in numbers)
    assert items == list(range(1, 16))
    assert gsrs.SYNDROMES == {
        "reflux": (2, 3),
        "abdominal_pain": (1, 4, 5),
        "indigestion": (6, 7, 8, 9),
        "diarrhoea": (11, 12, 14),
        "constipation": (10, 13, 15),
    }


def test_it_scores_all_minimum_as_1_everywhere() -> None:
    result = gsrs.score(everything(1))
    assert result.as_dict() == {
        "total": 1.0,
        "band": None,
        "subscales": dict.fromkeys(gsrs.SYNDROMES, 1.0),
    }


def test_it_scores_all_maximum_as_7_everywhere() -> None:
    result = gsrs.score(everything(7))
    assert result.total == 7.0
    assert result.subscales == dict.fromkeys(gsrs.SYNDROMES, 7.0)


def test_it_takes_each_syndrome_as_the_mean_of_its_items() -> None:
    ratings = {f"gsrs-{n}": 1 for n in range(1, 16)}
    ratings |= {"gsrs-2": 6, "gsrs-3": 3}  # reflux (6+3)/2 = 4.5
    ratings |= {"gsrs-1": 2, "gsrs-4": 2, "gsrs-5": 3}  # abdominal pain 7/3 = 2.33
    ratings |= {"gsrs-6": 4, "gsrs-7": 7, "gsrs-8": 2, "gsrs-9": 3}  # indigestion 16/4 = 4
    ratings |= {"gsrs-11": 5, "gsrs-12": 5, "gsrs-14": 6}  # diarrhoea 16/3 = 5.33
    # constipation items 10, 13, 15 stay at 1
    result = gsrs.score(ratings)
    assert result.subscales == {
        "reflux": 4.5,
        "abdominal_pain": 2.33,
        "indigestion": 4.0,
        "diarrhoea": 5.33,
        "constipation": 1.0,
    }
    assert result.total == round(sum(ratings.values()) / 15, 2) == 3.4


def test_a_syndrome_with_some_items_blank_is_the_mean_of_the_answered_ones() -> None:
    result = gsrs.score({**everything(2), "gsrs-10": None, "gsrs-13": 5})
    assert result.subscales["constipation"] == 3.5  # (5 + 2) / 2


def test_a_syndrome_with_every_item_blank_is_null_and_the_total_uses_the_rest() -> None:
    ratings = {k: v for k, v in everything(4).items() if k not in ("gsrs-2", "gsrs-3")}
    result = gsrs.score(ratings)
    assert result.subscales["reflux"] is None
    assert result.subscales["abdominal_pain"] == 4.0
    assert result.total == 4.0


def test_the_total_is_the_mean_of_the_answered_items() -> None:
    result = gsrs.score(answers(q1=7, q2=1, q15=4))
    assert result.total == 4.0
    assert result.subscales == {
        "reflux": 1.0,
        "abdominal_pain": 7.0,
        "indigestion": None,
        "diarrhoea": None,
        "constipation": 4.0,
    }


def test_nothing_answered_is_not_scored() -> None:
    result = gsrs.score({})
    assert result.as_dict() == {
        "total": None,
        "band": None,
        "subscales": dict.fromkeys(gsrs.SYNDROMES),
    }


@pytest.mark.parametrize("bad", [0, 8, True, 3.5, "4"])
def test_it_refuses_ratings_off_the_1_to_7_scale(bad: object) -> None:
    with pytest.raises(InvalidAnswer):
        gsrs.score({**everything(1), "gsrs-9": bad})


def test_it_has_no_bands() -> None:
    assert gsrs.band(1.0) is None and gsrs.band(7.0) is None
    with pytest.raises(ValueError, match="outside"):
        gsrs.band(7.5)


# timings never decide a test (they belong in bench/): no deadline, no too-slow check


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), st.integers(1, 7)), min_size=15, max_size=15))
def test_means_stay_in_range_and_rounding_never_crosses_a_whole_number(
    ratings: list[int | None],
) -> None:
    result = gsrs.score({f"gsrs-{n}": r for n, r in enumerate(ratings, start=1)})
    answered = [r for r in ratings if r is not None]
    if not answered:
        assert result.total is None
        return
    exact = sum(answered) / len(answered)
    assert result.total is not None
    assert 1 <= result.total <= 7
    assert abs(result.total - exact) <= 0.005 + 1e-9
    for threshold in range(1, 8):
        assert (result.total >= threshold) == (exact >= threshold)
    for name, numbers in gsrs.SYNDROMES.items():
        values = [rating for n in numbers if (rating := ratings[n - 1]) is not None]
        mean = result.subscales[name]
        if not values:
            assert mean is None
        else:
            assert mean is not None
            exact = sum(values) / len(values)
            assert 1 <= mean <= 7
            assert all((mean >= t) == (exact >= t) for t in range(1, 8))
