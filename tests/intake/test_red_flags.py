"""Red-flag rules over the gut-skin intake, hits and non-hits, and the severity of each.

Sources: NICE NG12 (suspected cancer), NICE CG61 (IBS red flags), Rome IV alarm features
(Lacy BE et al. Gastroenterology. 2016;150:1393-1407); dermatology emergencies as in
intake/red_flags.py; PRODUCT.md: "Age at symptom onset over 50 counts as a GI alarm feature."
Severities: issue #10 and carecore/clinical/severity.py (emergency: airway swelling, SJS/TEN;
crisis: self-harm; urgent: rectal bleeding, eczema herpeticum, spreading skin infection with
fever, persistent vomiting, new trouble swallowing, eye pain or vision loss; soon: weight loss,
nocturnal symptoms, family history, onset after 50 and the other NG12/CG61/Rome IV features).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from carecore.clinical.severity import Severity
from intake.engine import load_definition, validate_answers
from intake.red_flags import CODES, SEVERITY_BY_CODE, RedFlag, age_on, red_flags, worst_severity

TODAY = date(2026, 11, 24)
YOUNG = date(1990, 6, 1)  # 36 today
OLDER = date(1960, 1, 15)  # 66 today

QUESTION_FLAGS = {
    "rf-rectal-bleeding": "gi_rectal_bleeding",
    "rf-weight-loss": "gi_weight_loss",
    "rf-nocturnal-symptoms": "gi_nocturnal_symptoms",
    "rf-family-history-gi": "gi_family_history",
    "rf-family-history-ovarian": "gi_family_history_ovarian",
    "rf-iron-deficiency-anaemia": "gi_iron_deficiency_anaemia",
    "rf-fever": "gi_fever",
    "rf-trouble-swallowing": "gi_dysphagia",
    "rf-persistent-vomiting": "gi_persistent_vomiting",
    "rf-angioedema": "derm_angioedema",
    "rf-mucosal-sores": "derm_mucosal_sores",
    "rf-eczema-infected": "derm_infected_eczema",
    "rf-eczema-spreading-blisters": "derm_eczema_herpeticum",
    "rf-widespread-redness": "derm_erythroderma",
    "rf-rosacea-eye-symptoms": "derm_ocular_rosacea",
    "rf-self-harm-thoughts": "mh_self_harm",
}
ALL_CLEAR = dict.fromkeys(QUESTION_FLAGS, False) | {
    "gut-symptoms": False,
    "rf-bowel-habit-change": False,
    "rf-skin-blistering": False,
}
# Each pair raises one flag or the other, never both (intake/red_flags.py).
ALTERNATIVES = {
    "derm_mucosal_sores": "derm_sjs_ten",
    "derm_infected_eczema": "derm_infected_eczema_fever",
}


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
    everything = dict.fromkeys(ALL_CLEAR, True) | {"symptom-onset-age": 55}
    flags = red_flags(everything, date_of_birth=OLDER, today=TODAY)
    assert [flag.code for flag in flags] == [code for code in CODES if code not in ALTERNATIVES]
    assert len(set(CODES)) == 20
    assert flags[0].as_dict() == {
        "code": "gi_rectal_bleeding",
        "label": "Rectal bleeding or blood in the stool",
        "severity": "urgent",
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
    assert set(ALL_CLEAR) <= set(intake.items_by_link_id)
    # rf-skin-blistering is asked only after a yes to rf-mucosal-sores.
    answers = {**ALL_CLEAR, "gut-symptoms": True, "symptom-onset-age": 52}
    del answers["rf-skin-blistering"]
    assert validate_answers(intake, answers, completed=False) == {}
    sores = {**answers, "rf-mucosal-sores": True}
    assert validate_answers(intake, sores, completed=True)["rf-skin-blistering"] == [
        "This question is required."
    ]
    answered = validate_answers(intake, {**sores, "rf-skin-blistering": False}, completed=True)
    assert "rf-skin-blistering" not in answered
    assert red_flags(answers, date_of_birth=YOUNG, today=TODAY) == [
        RedFlag("gi_onset_after_50", "Gut symptoms that began at age 50 or over", Severity.SOON)
    ]


# --- severities ------------------------------------------------------------------------------

EXPECTED_SEVERITY = {
    "derm_angioedema": Severity.EMERGENCY,
    "derm_sjs_ten": Severity.EMERGENCY,
    "mh_self_harm": Severity.CRISIS,
    "gi_rectal_bleeding": Severity.URGENT,
    "gi_dysphagia": Severity.URGENT,
    "gi_persistent_vomiting": Severity.URGENT,
    "derm_mucosal_sores": Severity.URGENT,
    "derm_eczema_herpeticum": Severity.URGENT,
    "derm_infected_eczema_fever": Severity.URGENT,
    "derm_erythroderma": Severity.URGENT,
    "derm_ocular_rosacea": Severity.URGENT,
    "gi_weight_loss": Severity.SOON,
    "gi_nocturnal_symptoms": Severity.SOON,
    "gi_family_history": Severity.SOON,
    "gi_family_history_ovarian": Severity.SOON,
    "gi_iron_deficiency_anaemia": Severity.SOON,
    "gi_bowel_habit_change_over_60": Severity.SOON,
    "gi_fever": Severity.SOON,
    "gi_onset_after_50": Severity.SOON,
    "derm_infected_eczema": Severity.SOON,
}


def test_every_flag_has_the_severity_of_its_triage_category() -> None:
    assert SEVERITY_BY_CODE == EXPECTED_SEVERITY


def test_soon_flags_never_page_and_the_others_always_do() -> None:
    paging = {code for code, severity in SEVERITY_BY_CODE.items() if severity.pages_on_call}
    assert paging == {code for code, s in EXPECTED_SEVERITY.items() if s is not Severity.SOON}


def test_the_worst_stored_flag_decides() -> None:
    flags = [
        {"code": "gi_weight_loss", "label": "x", "severity": "soon"},
        {"code": "mh_self_harm", "label": "y", "severity": "crisis"},
        {"code": "gi_rectal_bleeding", "label": "z", "severity": "urgent"},
    ]
    assert worst_severity(flags) is Severity.CRISIS
    assert worst_severity([]) is None


class TestMucosalSores:
    """SJS/TEN: mucosal erosions with blistering or sloughing skin (BAD guidelines 2016)."""

    def test_sores_alone_are_urgent(self) -> None:
        assert codes({**ALL_CLEAR, "rf-mucosal-sores": True}) == ["derm_mucosal_sores"]

    def test_sores_with_blistering_skin_are_the_sjs_ten_emergency(self) -> None:
        answers = {**ALL_CLEAR, "rf-mucosal-sores": True, "rf-skin-blistering": True}
        assert codes(answers) == ["derm_sjs_ten"]

    def test_sores_with_peeling_over_the_whole_body_are_sjs_ten_and_erythroderma(self) -> None:
        answers = {**ALL_CLEAR, "rf-mucosal-sores": True, "rf-widespread-redness": True}
        assert codes(answers) == ["derm_sjs_ten", "derm_erythroderma"]

    def test_blistering_without_sores_is_not_sjs_ten(self) -> None:
        assert codes({**ALL_CLEAR, "rf-skin-blistering": True}) == []


class TestInfectedEczema:
    """NICE NG190: infected eczema; with fever or systemic illness, urgent."""

    def test_with_a_fever_it_is_urgent(self) -> None:
        answers = {**ALL_CLEAR, "rf-eczema-infected": True, "rf-fever": True}
        assert codes(answers) == ["gi_fever", "derm_infected_eczema_fever"]

    def test_without_a_fever_it_is_soon(self) -> None:
        assert codes({**ALL_CLEAR, "rf-eczema-infected": True}) == ["derm_infected_eczema"]


class TestBowelHabitChangeAfter60:
    """NICE NG12 1.3 / CG61 1.1.1: a change in bowel habit at age 60 or over."""

    ANSWERS = {**ALL_CLEAR, "gut-symptoms": True, "rf-bowel-habit-change": True}

    @pytest.mark.parametrize(
        ("date_of_birth", "flagged"),
        [(date(1966, 11, 25), False), (date(1966, 11, 24), True), (date(1950, 1, 1), True)],
    )
    def test_the_60th_birthday_is_the_edge(self, date_of_birth: date, flagged: bool) -> None:
        assert (codes(self.ANSWERS, date_of_birth) == ["gi_bowel_habit_change_over_60"]) is (
            flagged
        )

    def test_no_change_raises_nothing_at_any_age(self) -> None:
        assert codes({**self.ANSWERS, "rf-bowel-habit-change": False}, OLDER) == []
