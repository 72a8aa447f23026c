"""Red-flag rules over the gut-skin intake, hits and non-hits.

Sources: NICE NG12 (suspected cancer), NICE CG61 (IBS red flags), Rome IV alarm features
(Lacy BE et al. Gastroenterology. 2016;150:1393-1407); dermatology emergencies as in
intake/red_flags.py; PRODUCT.md: "Age at symptom onset over 50 counts as a GI alarm feature."
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from intake.engine import load_definition, validate_answers
from intake.red_flags import CODES, RedFlag, age_on, red_flags

TODAY = date(2026, 11, 24)
YOUNG = date(1990, 6, 1)  # 36 today
OLDER = date(1960, 1, 15)  # 66 today

QUESTION_FLAGS = {
    "rf-rectal-bleeding": "gi_rectal_bleeding",
    "rf-weight-loss": "gi_weight_loss",
    "rf-nocturnal-symptoms": "gi_nocturnal_symptoms",
    "rf-family-history-gi": "gi_family_history",
    "rf-fever": "gi_fever",
    "rf-trouble-swallowing": "gi_dysphagia",
    "rf-persistent-vomiting": "gi_persistent_vomiting",
    "rf-eczema-spreading-blisters": "derm_eczema_herpeticum",
    "rf-widespread-redness": "derm_erythroderma",
    "rf-rosacea-eye-symptoms": "derm_ocular_rosacea",
    "rf-self-harm-thoughts": "mh_self_harm",
}
ALL_CLEAR = dict.fromkeys(QUESTION_FLAGS, False) | {"gut-symptoms": False}


def codes(answers: dict[str, Any], date_of_birth: date = YOUNG) -> list[str]:
    return [flag.code for flag in red_flags(answers, date_of_birth=date_of_birth, today=TODAY)]


def test_a_clear_intake_raises_nothing() -> None:
    assert codes(ALL_CLEAR, OLDER) == []


def test_an_empty_intake_raises_nothing() -> None:
    assert codes({}, OLDER) == []


@pytest.mark.parametrize(("link_id", "code"), QUESTION_FLAGS.items())
def test_each_red_flag_question_raises_its_flag(link_id: str, code: str) -> None:
    assert codes({**ALL_CLEAR, link_id: True}) == [code]


@pytest.mark.parametrize("link_id", QUESTION_FLAGS)
@pytest.mark.parametrize("value", [False, None, "yes", 1])
def test_anything_but_true_raises_nothing(link_id: str, value: Any) -> None:
    assert codes({**ALL_CLEAR, link_id: value}) == []


@pytest.mark.parametrize("link_id", QUESTION_FLAGS)
def test_a_missing_answer_raises_nothing(link_id: str) -> None:
    answers = dict(ALL_CLEAR)
    del answers[link_id]
    assert codes(answers) == []


def test_flags_come_in_a_fixed_order_with_plain_labels() -> None:
    everything = dict.fromkeys(QUESTION_FLAGS, True) | {"symptom-onset-age": 55}
    flags = red_flags(everything, date_of_birth=OLDER, today=TODAY)
    assert [flag.code for flag in flags] == list(CODES)
    assert len(set(CODES)) == 12
    assert flags[0].as_dict() == {
        "code": "gi_rectal_bleeding",
        "label": "Rectal bleeding or blood in the stool",
    }
    herpeticum = next(f for f in flags if f.code == "derm_eczema_herpeticum")
    assert "eczema herpeticum" in herpeticum.label


class TestOnsetAfter50:
    @pytest.mark.parametrize(("onset", "flagged"), [(49, False), (50, True), (51, True)])
    def test_the_onset_age_answer_decides(self, onset: int, flagged: bool) -> None:
        answers = {**ALL_CLEAR, "gut-symptoms": True, "symptom-onset-age": onset}
        assert (codes(answers, YOUNG) == ["gi_onset_after_50"]) is flagged

    def test_an_early_onset_is_not_overridden_by_the_current_age(self) -> None:
        answers = {
            **ALL_CLEAR,
            "gut-symptoms": True,
            "symptom-onset-age": 30,
            "gut-symptoms-new": True,
        }
        assert codes(answers, OLDER) == []

    def test_without_an_onset_age_new_symptoms_at_50_or_over_are_flagged(self) -> None:
        answers = {**ALL_CLEAR, "gut-symptoms": True, "gut-symptoms-new": True}
        assert codes(answers, OLDER) == ["gi_onset_after_50"]

    def test_without_an_onset_age_new_symptoms_under_50_are_not(self) -> None:
        answers = {**ALL_CLEAR, "gut-symptoms": True, "gut-symptoms-new": True}
        assert codes(answers, YOUNG) == []

    def test_without_an_onset_age_long_standing_symptoms_are_not(self) -> None:
        answers = {**ALL_CLEAR, "gut-symptoms": True, "gut-symptoms-new": False}
        assert codes(answers, OLDER) == []

    @pytest.mark.parametrize(
        ("date_of_birth", "flagged"),
        [(date(1976, 11, 25), False), (date(1976, 11, 24), True), (date(1976, 11, 23), True)],
    )
    def test_the_50th_birthday_is_the_edge(self, date_of_birth: date, flagged: bool) -> None:
        answers = {**ALL_CLEAR, "gut-symptoms": True, "gut-symptoms-new": True}
        assert (codes(answers, date_of_birth) == ["gi_onset_after_50"]) is flagged


@pytest.mark.parametrize(
    ("date_of_birth", "day", "age"),
    [
        (date(2000, 2, 29), date(2026, 2, 28), 25),
        (date(2000, 2, 29), date(2026, 3, 1), 26),
        (date(1976, 11, 24), date(2026, 11, 24), 50),
        (date(1976, 11, 24), date(2026, 11, 23), 49),
    ],
)
def test_age_is_in_completed_years(date_of_birth: date, day: date, age: int) -> None:
    assert age_on(date_of_birth, day) == age


def test_every_red_flag_question_exists_in_the_intake_and_a_full_answer_validates() -> None:
    intake = load_definition("gut-skin-intake")
    assert set(QUESTION_FLAGS) <= set(intake.items_by_link_id)
    answers = {**ALL_CLEAR, "gut-symptoms": True, "symptom-onset-age": 52}
    assert validate_answers(intake, answers, completed=False) == {}
    assert red_flags(answers, date_of_birth=YOUNG, today=TODAY) == [
        RedFlag("gi_onset_after_50", "Gut symptoms that began at age 50 or over")
    ]
