"""IBS-SSS, scored as published.

Source: Francis CY, Morris J, Whorwell PJ. Aliment Pharmacol Ther. 1997;11:395-402: five
components of 0-100 (pain severity, pain frequency as days out of 10 x 10, distension severity,
dissatisfaction with bowel habit, interference with life), total 0-500; mild 75-175,
moderate 175-300, severe > 300, < 75 normal/remission (edges as PRODUCT.md: <75 remission,
75-174 mild, 175-299 moderate, >=300 severe). The missing-data rule is ours (docs/instruments.md).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.instruments import ibs_sss
from intake.instruments.base import InvalidAnswer

NO_SYMPTOMS = {
    "ibs-sss-1": False,
    "ibs-sss-3": False,
    "ibs-sss-4": 0,
    "ibs-sss-5": 0,
}
WORST = {
    "ibs-sss-1": True,
    "ibs-sss-1a": 100,
    "ibs-sss-2": 10,
    "ibs-sss-3": True,
    "ibs-sss-3a": 100,
    "ibs-sss-4": 100,
    "ibs-sss-5": 100,
}


def test_it_scores_all_minimum_as_0_remission() -> None:
    result = ibs_sss.score(NO_SYMPTOMS)
    assert result.as_dict() == {
        "total": 0,
        "band": "remission",
        "subscales": {
            "pain_severity": 0,
            "pain_frequency": 0,
            "distension_severity": 0,
            "bowel_dissatisfaction": 0,
            "life_interference": 0,
        },
    }


def test_it_scores_all_maximum_as_500_severe() -> None:
    result = ibs_sss.score(WORST)
    assert (result.total, result.band) == (500, "severe")
    assert set(result.subscales.values()) == {100}


def test_it_works_a_published_style_example() -> None:
    # pain 45, pain on 4 days in 10 (40), distension 30, dissatisfaction 60, interference 50
    answers = {
        "ibs-sss-1": True,
        "ibs-sss-1a": 45,
        "ibs-sss-2": 4,
        "ibs-sss-3": True,
        "ibs-sss-3a": 30,
        "ibs-sss-4": 60,
        "ibs-sss-5": 50,
    }
    result = ibs_sss.score(answers)
    assert (result.total, result.band) == (225, "moderate")
    assert result.subscales["pain_frequency"] == 40


def test_no_pain_scores_0_for_pain_severity_and_frequency() -> None:
    result = ibs_sss.score({**WORST, "ibs-sss-1": False, "ibs-sss-1a": None, "ibs-sss-2": None})
    assert result.total == 300
    assert result.subscales["pain_severity"] == 0
    assert result.subscales["pain_frequency"] == 0


def test_no_distension_scores_0_for_distension() -> None:
    result = ibs_sss.score({**WORST, "ibs-sss-3": False, "ibs-sss-3a": None})
    assert (result.total, result.band) == (400, "severe")
    assert result.subscales["distension_severity"] == 0


@pytest.mark.parametrize("link_id", ["ibs-sss-1a", "ibs-sss-2"])
def test_pain_details_after_no_pain_are_refused(link_id: str) -> None:
    with pytest.raises(InvalidAnswer) as raised:
        ibs_sss.score({**NO_SYMPTOMS, link_id: 5})
    assert raised.value.link_id == link_id


def test_distension_severity_without_distension_is_refused() -> None:
    with pytest.raises(InvalidAnswer):
        ibs_sss.score({**NO_SYMPTOMS, "ibs-sss-3a": 5})


def _total(total: int) -> dict[str, object]:
    """Answers with no pain or distension and ``total`` split over items 4 and 5 (max 200)."""
    return {**NO_SYMPTOMS, "ibs-sss-4": min(100, total), "ibs-sss-5": max(0, total - 100)}


@pytest.mark.parametrize(
    ("answers", "total", "band"),
    [
        (_total(74), 74, "remission"),
        (_total(75), 75, "mild"),
        (_total(174), 174, "mild"),
        (_total(175), 175, "moderate"),
        (
            {**WORST, "ibs-sss-1a": 99, "ibs-sss-2": 0, "ibs-sss-3": False, "ibs-sss-3a": None},
            299,
            "moderate",
        ),
        ({**WORST, "ibs-sss-3": False, "ibs-sss-3a": None, "ibs-sss-2": 0}, 300, "severe"),
    ],
)
def test_it_bands_each_boundary_on_both_sides(
    answers: dict[str, object], total: int, band: str
) -> None:
    result = ibs_sss.score(answers)
    assert (result.total, result.band) == (total, band)


@pytest.mark.parametrize(
    ("blank", "unknown"),
    [
        ("ibs-sss-1", ["pain_severity", "pain_frequency"]),
        ("ibs-sss-1a", ["pain_severity"]),
        ("ibs-sss-2", ["pain_frequency"]),
        ("ibs-sss-3", ["distension_severity"]),
        ("ibs-sss-3a", ["distension_severity"]),
        ("ibs-sss-4", ["bowel_dissatisfaction"]),
        ("ibs-sss-5", ["life_interference"]),
    ],
)
def test_any_blank_component_leaves_the_total_unscored(blank: str, unknown: list[str]) -> None:
    answers = dict(WORST)
    del answers[blank]
    if blank == "ibs-sss-1":
        answers = {k: v for k, v in answers.items() if k not in ("ibs-sss-1a", "ibs-sss-2")}
    if blank == "ibs-sss-3":
        del answers["ibs-sss-3a"]
    result = ibs_sss.score(answers)
    assert (result.total, result.band) == (None, None)
    assert [name for name, value in result.subscales.items() if value is None] == unknown


@pytest.mark.parametrize(
    ("link_id", "bad"),
    [("ibs-sss-1a", 101), ("ibs-sss-2", 11), ("ibs-sss-4", -1), ("ibs-sss-5", True)],
)
def test_it_refuses_out_of_range_values(link_id: str, bad: object) -> None:
    with pytest.raises(InvalidAnswer):
        ibs_sss.score({**WORST, link_id: bad})


def test_yes_no_answers_must_be_booleans() -> None:
    with pytest.raises(InvalidAnswer):
        ibs_sss.score({**WORST, "ibs-sss-1": 1})


# timings never decide a test (they belong in bench/): no deadline, no too-slow check


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pain=st.booleans(),
    severity=st.integers(0, 100),
    days=st.integers(0, 10),
    distension=st.booleans(),
    distension_severity=st.integers(0, 100),
    dissatisfaction=st.integers(0, 100),
    interference=st.integers(0, 100),
)
def test_totals_stay_in_range_and_are_the_sum_of_the_components(
    pain: bool,
    severity: int,
    days: int,
    distension: bool,
    distension_severity: int,
    dissatisfaction: int,
    interference: int,
) -> None:
    answers: dict[str, object] = {
        "ibs-sss-1": pain,
        "ibs-sss-3": distension,
        "ibs-sss-4": dissatisfaction,
        "ibs-sss-5": interference,
    }
    if pain:
        answers |= {"ibs-sss-1a": severity, "ibs-sss-2": days}
    if distension:
        answers["ibs-sss-3a"] = distension_severity
    result = ibs_sss.score(answers)
    expected = (
        (severity + 10 * days if pain else 0)
        + (distension_severity if distension else 0)
        + dissatisfaction
        + interference
    )
    assert result.total == expected
    assert ibs_sss.TOTAL_MIN <= result.total <= ibs_sss.TOTAL_MAX
    assert result.band == ibs_sss.band(expected)
