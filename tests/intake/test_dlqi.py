"""DLQI, scored as published.

Source: Finlay AY, Khan GK. Clin Exp Dermatol. 1994;19:210-216 (items, 0-3 scoring, question 7
"yes" = 3); "DLQI Instructions for use and scoring", Department of Dermatology, Cardiff
University: "not relevant" scores 0; "If one question is left unanswered this is scored 0 and the
scores are summed and expressed as usual out of a maximum of 30. If two or more questions are
left unanswered the questionnaire is not scored."; the six subscales. Bands: Hongbo Y et al.
J Invest Dermatol. 2005;125:659-664 (0-1 no effect, 2-5 small, 6-10 moderate, 11-20 very large,
21-30 extremely large).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.instruments import dlqi
from intake.instruments.base import InvalidAnswer

ALL_ZERO = {f"dlqi-{n}": 0 for n in range(1, 11)} | {"dlqi-7": "no", "dlqi-7a": 0}
ALL_MAX = {f"dlqi-{n}": 3 for n in range(1, 11)} | {"dlqi-7": "yes"}


def test_it_scores_all_minimum_as_0_no_effect() -> None:
    result = dlqi.score(ALL_ZERO)
    assert (result.total, result.band) == (0, "no_effect")
    assert result.subscales == dict.fromkeys(dlqi.SUBSCALES, 0)


def test_it_scores_all_maximum_as_30_extremely_large_with_each_subscale_at_its_maximum() -> None:
    result = dlqi.score(ALL_MAX)
    assert result.as_dict() == {
        "total": 30,
        "band": "extremely_large",
        "subscales": {
            "symptoms_and_feelings": 6,
            "daily_activities": 6,
            "leisure": 6,
            "work_and_school": 3,
            "personal_relationships": 6,
            "treatment": 3,
        },
    }


def test_not_relevant_scores_0_on_every_item_that_offers_it() -> None:
    relevant_nowhere = {f"dlqi-{n}": "not_relevant" for n in range(3, 11)}
    result = dlqi.score({"dlqi-1": 3, "dlqi-2": 2, **relevant_nowhere})
    assert (result.total, result.band) == (5, "small")
    assert result.subscales["symptoms_and_feelings"] == 5


def test_not_relevant_is_refused_for_questions_1_and_2() -> None:
    with pytest.raises(InvalidAnswer):
        dlqi.score({**ALL_ZERO, "dlqi-1": "not_relevant"})


class TestQuestion7:
    def test_yes_scores_3(self) -> None:
        result = dlqi.score({**ALL_ZERO, "dlqi-7": "yes", "dlqi-7a": None})
        assert result.total == 3
        assert result.subscales["work_and_school"] == 3

    @pytest.mark.parametrize(("second_part", "expected"), [(2, 2), (1, 1), (0, 0)])
    def test_no_scores_the_second_part(self, second_part: int, expected: int) -> None:
        result = dlqi.score({**ALL_ZERO, "dlqi-7": "no", "dlqi-7a": second_part})
        assert result.total == expected
        assert result.subscales["work_and_school"] == expected

    def test_no_with_a_blank_second_part_is_answered_and_scores_0(self) -> None:
        # Points come only from "yes" or a second-part "a lot"/"a little"; with question 7 so
        # answered, one more blank elsewhere is still scored.
        answers = {**ALL_MAX, "dlqi-7": "no", "dlqi-10": None}
        result = dlqi.score(answers)
        assert (result.total, result.band) == (24, "extremely_large")
        assert result.subscales["work_and_school"] == 0

    def test_not_relevant_scores_0(self) -> None:
        result = dlqi.score({**ALL_MAX, "dlqi-7": "not_relevant"})
        assert result.total == 27
        assert result.subscales["work_and_school"] == 0

    @pytest.mark.parametrize("first_part", ["yes", "not_relevant", None])
    def test_a_second_part_without_no_is_refused(self, first_part: str | None) -> None:
        with pytest.raises(InvalidAnswer) as raised:
            dlqi.score({**ALL_ZERO, "dlqi-7": first_part, "dlqi-7a": 1})
        assert raised.value.link_id == "dlqi-7a"

    @pytest.mark.parametrize("bad", [3, 0, "No", True])
    def test_the_first_part_takes_only_its_codes(self, bad: object) -> None:
        with pytest.raises(InvalidAnswer):
            dlqi.score({**ALL_ZERO, "dlqi-7": bad, "dlqi-7a": None})

    def test_the_second_part_tops_out_at_2(self) -> None:
        with pytest.raises(InvalidAnswer):
            dlqi.score({**ALL_ZERO, "dlqi-7a": 3})


def _with_total(total: int) -> dict[str, object]:
    """Answers reaching ``total`` with question 7 "no"/"not at all" and the rest filled in order."""
    answers: dict[str, object] = dict(ALL_ZERO)
    remaining = total
    for n in (1, 2, 3, 4, 5, 6, 8, 9, 10):
        answers[f"dlqi-{n}"] = min(3, remaining)
        remaining -= answers[f"dlqi-{n}"]  # type: ignore[operator]
    if remaining:
        answers["dlqi-7"], answers["dlqi-7a"] = "yes", None
        remaining -= 3
    assert remaining == 0
    return answers


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (1, "no_effect"),
        (2, "small"),
        (5, "small"),
        (6, "moderate"),
        (10, "moderate"),
        (11, "very_large"),
        (20, "very_large"),
        (21, "extremely_large"),
    ],
)
def test_it_bands_each_boundary_on_both_sides(total: int, band: str) -> None:
    result = dlqi.score(_with_total(total))
    assert (result.total, result.band) == (total, band)


def test_one_unanswered_question_scores_0_and_the_rest_are_summed() -> None:
    result = dlqi.score({**ALL_MAX, "dlqi-4": None})
    assert (result.total, result.band) == (27, "extremely_large")
    assert result.subscales["daily_activities"] == 3


def test_an_unanswered_question_7_counts_as_the_one_blank() -> None:
    answers = {k: v for k, v in ALL_MAX.items() if k != "dlqi-7"}
    result = dlqi.score(answers)
    assert result.total == 27
    assert result.subscales["work_and_school"] == 0


def test_two_unanswered_questions_are_not_scored_and_neither_are_the_subscales() -> None:
    answers = {k: v for k, v in ALL_MAX.items() if k not in ("dlqi-1", "dlqi-7")}
    result = dlqi.score(answers)
    assert result.as_dict() == {
        "total": None,
        "band": None,
        "subscales": dict.fromkeys(dlqi.SUBSCALES),
    }


def test_nothing_answered_is_not_scored() -> None:
    assert dlqi.score({}).total is None


item_answer = st.sampled_from([None, 0, 1, 2, 3, "not_relevant"])


# timings never decide a test (they belong in bench/): no deadline, no too-slow check


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    q1=st.sampled_from([None, 0, 1, 2, 3]),
    q2=st.sampled_from([None, 0, 1, 2, 3]),
    rest=st.lists(item_answer, min_size=7, max_size=7),
    q7=st.sampled_from([None, "yes", "no", "not_relevant"]),
    q7a=st.sampled_from([None, 0, 1, 2]),
)
def test_totals_stay_in_range_and_equal_the_subscale_sum(
    q1: int | None, q2: int | None, rest: list[object], q7: str | None, q7a: int | None
) -> None:
    answers: dict[str, object] = {"dlqi-1": q1, "dlqi-2": q2, "dlqi-7": q7}
    answers["dlqi-7a"] = q7a if q7 == "no" else None
    for n, value in zip((3, 4, 5, 6, 8, 9, 10), rest, strict=True):
        answers[f"dlqi-{n}"] = value
    blanks = sum(answers[f"dlqi-{n}"] is None for n in range(1, 11))
    result = dlqi.score(answers)
    if blanks >= 2:
        assert result.total is None and result.band is None
        assert all(value is None for value in result.subscales.values())
    else:
        subscales = list(result.subscales.values())
        assert result.total is not None and None not in subscales
        assert dlqi.TOTAL_MIN <= result.total <= dlqi.TOTAL_MAX
        assert result.total == sum(value for value in subscales if value is not None)
        assert result.band == dlqi.band(result.total)
