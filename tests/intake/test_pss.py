"""Perceived Stress Scale (PSS-10 and PSS-4), scored as published.

Source: Cohen S, Kamarck T, Mermelstein R. J Health Soc Behav. 1983;24:385-396 (PSS-4: items 2
and 3 reverse-scored, total 0-16); Cohen S, Williamson G. In: The Social Psychology of Health.
Sage; 1988:31-67 (PSS-10: items 4, 5, 7 and 8 reverse-scored, responses 0-4, total 0-40).
No published cut-offs; the missing-data rule is ours (docs/instruments.md).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.instruments.base import InvalidAnswer
from intake.instruments.pss import pss_4, pss_10


def pss10(*responses: int | None) -> dict[str, int | None]:
    return {f"pss-10-{n}": r for n, r in enumerate(responses, start=1)}


def pss4(*responses: int | None) -> dict[str, int | None]:
    return {f"pss-4-{n}": r for n, r in enumerate(responses, start=1)}


class TestPSS10:
    def test_the_reversed_items_are_4_5_7_and_8(self) -> None:
        assert {4, 5, 7, 8} == pss_10.REVERSED_ITEMS

    def test_the_minimum_is_0_never_stressed_and_always_coping(self) -> None:
        # "never" (0) on the six negative items, "very often" (4) on the four positive ones
        result = pss_10.score(pss10(0, 0, 0, 4, 4, 0, 4, 4, 0, 0))
        assert result.as_dict() == {"total": 0, "band": None, "subscales": {}}

    def test_the_maximum_is_40(self) -> None:
        result = pss_10.score(pss10(4, 4, 4, 0, 0, 4, 0, 0, 4, 4))
        assert result.total == 40

    def test_all_never_scores_16_because_of_the_reversed_items(self) -> None:
        assert pss_10.score(pss10(*[0] * 10)).total == 16

    def test_all_very_often_scores_24(self) -> None:
        assert pss_10.score(pss10(*[4] * 10)).total == 24

    def test_a_worked_example(self) -> None:
        # responses 2,3,1,3,2,1,3,1,2,3: reversed 4->1, 5->2, 7->1, 8->3
        # 2 + 3 + 1 + 1 + 2 + 1 + 1 + 3 + 2 + 3 = 19
        assert pss_10.score(pss10(2, 3, 1, 3, 2, 1, 3, 1, 2, 3)).total == 19

    @pytest.mark.parametrize("total", [13, 14])
    def test_the_care_plan_threshold_sides_are_plain_totals(self, total: int) -> None:
        responses = [min(4, max(0, total - 4 * i)) for i in range(10)]
        # undo the reversal so the scored items add up to ``total``
        for n in pss_10.REVERSED_ITEMS:
            responses[n - 1] = 4 - responses[n - 1]
        assert pss_10.score(pss10(*responses)).total == total

    def test_any_blank_is_not_scored(self) -> None:
        result = pss_10.score(pss10(4, 4, 4, 0, 0, 4, 0, 0, 4, None))
        assert (result.total, result.band) == (None, None)

    @pytest.mark.parametrize("bad", [5, -1, True, "2"])
    def test_it_refuses_values_that_are_not_responses(self, bad: object) -> None:
        with pytest.raises(InvalidAnswer):
            pss_10.score(pss10(0, 0, 0, 0, 0, 0, 0, 0, 0, bad))  # type: ignore[arg-type]


class TestPSS4:
    def test_the_reversed_items_are_2_and_3(self) -> None:
        assert {2, 3} == pss_4.REVERSED_ITEMS

    def test_the_minimum_is_0(self) -> None:
        assert pss_4.score(pss4(0, 4, 4, 0)).as_dict() == {
            "total": 0,
            "band": None,
            "subscales": {},
        }

    def test_the_maximum_is_16(self) -> None:
        assert pss_4.score(pss4(4, 0, 0, 4)).total == 16

    def test_a_worked_example(self) -> None:
        # 3 + (4-1) + (4-2) + 2 = 10
        assert pss_4.score(pss4(3, 1, 2, 2)).total == 10

    @pytest.mark.parametrize(("responses", "total"), [((4, 4, 1, 0), 7), ((4, 4, 0, 0), 8)])
    def test_the_care_plan_threshold_sides(self, responses: tuple[int, ...], total: int) -> None:
        assert pss_4.score(pss4(*responses)).total == total

    def test_any_blank_is_not_scored(self) -> None:
        assert pss_4.score(pss4(4, 0, None, 4)).total is None


# timings never decide a test (they belong in bench/): no deadline, no too-slow check


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), st.integers(0, 4)), min_size=10, max_size=10))
def test_pss10_totals_stay_in_range(responses: list[int | None]) -> None:
    result = pss_10.score(pss10(*responses))
    if None in responses:
        assert result.total is None
    else:
        answered = [r for r in responses if r is not None]
        assert result.total is not None
        assert 0 <= result.total <= 40
        assert result.total == sum(
            4 - r if n in {4, 5, 7, 8} else r for n, r in enumerate(answered, start=1)
        )
    assert result.band is None


# timings never decide a test (they belong in bench/): no deadline, no too-slow check


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 4), min_size=4, max_size=4))
def test_pss4_totals_stay_in_range(responses: list[int]) -> None:
    total = pss_4.score(pss4(*responses)).total
    assert total == responses[0] + (4 - responses[1]) + (4 - responses[2]) + responses[3]
    assert 0 <= total <= 16
