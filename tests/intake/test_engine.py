"""The answer engine: enableWhen, answer validation for every item type, scoring dispatch.

Instrument scoring is tested against its published rules in test_<instrument>.py; here the
sources are PRODUCT.md ("Intake", "Contract details") and the FHIR R4 Questionnaire resource
(enableWhen / enableBehavior semantics).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from intake.engine import (
    NON_FIELD_KEY,
    Definition,
    enabled_link_ids,
    load_definition,
    parse_definition,
    score,
    validate_answers,
)


def definition(*items: dict[str, Any]) -> Definition:
    return parse_definition(
        {
            "slug": "test",
            "title": "Test",
            "version": "1.0.0",
            "url": "https://carecore.example/fhir/Questionnaire/test",
            "instrument": None,
            "items": list(items),
        }
    )


EVERY_TYPE = definition(
    {"linkId": "flag", "text": "Flag?", "type": "boolean", "required": True},
    {"linkId": "count", "text": "How many?", "type": "integer", "min": 0, "max": 10},
    {"linkId": "hours", "text": "Hours?", "type": "decimal", "min": 0, "max": 24},
    {"linkId": "note", "text": "Note", "type": "string", "maxLength": 5},
    {"linkId": "long-note", "text": "Long note", "type": "string"},
    {"linkId": "when", "text": "When?", "type": "date"},
    {
        "linkId": "colour",
        "text": "Colour?",
        "type": "choice",
        "options": [{"code": "red", "display": "Red"}, {"code": 2, "display": "Two"}],
    },
    {
        "linkId": "tags",
        "text": "Tags?",
        "type": "multi-choice",
        "options": [{"code": "a", "display": "A"}, {"code": "b", "display": "B"}],
    },
)


def errors_for(link_id: str, value: Any) -> list[str]:
    return validate_answers(EVERY_TYPE, {link_id: value}, completed=False).get(link_id, [])


class TestItemTypes:
    @pytest.mark.parametrize("value", [True, False])
    def test_booleans_accept_true_and_false(self, value: bool) -> None:
        assert errors_for("flag", value) == []

    @pytest.mark.parametrize("value", [1, 0, "true", "yes", [True]])
    def test_booleans_refuse_anything_else(self, value: Any) -> None:
        assert errors_for("flag", value) == ["Must be true or false."]

    @pytest.mark.parametrize("value", [0, 7, 10])
    def test_integers_accept_whole_numbers_in_range(self, value: int) -> None:
        assert errors_for("count", value) == []

    @pytest.mark.parametrize("value", [True, False, 3.0, 3.5, "3", [3]])
    def test_integers_refuse_booleans_floats_and_strings(self, value: Any) -> None:
        assert errors_for("count", value) == ["Must be a whole number."]

    def test_integers_are_range_checked(self) -> None:
        assert errors_for("count", -1) == ["Must be at least 0."]
        assert errors_for("count", 11) == ["Must be at most 10."]

    @pytest.mark.parametrize("value", [0, 7, 6.5, 24.0])
    def test_decimals_accept_ints_and_floats(self, value: float) -> None:
        assert errors_for("hours", value) == []

    @pytest.mark.parametrize("value", [True, "6.5", float("nan"), float("inf")])
    def test_decimals_refuse_booleans_strings_and_non_finite_numbers(self, value: Any) -> None:
        assert errors_for("hours", value) == ["Must be a number."]

    def test_decimals_are_range_checked(self) -> None:
        assert errors_for("hours", 24.5) == ["Must be at most 24."]
        assert errors_for("hours", -0.5) == ["Must be at least 0."]

    def test_strings_accept_text_up_to_the_cap(self) -> None:
        assert errors_for("note", "abcde") == []
        assert errors_for("note", "abcdef") == ["Must be at most 5 characters."]

    def test_strings_without_a_cap_get_the_default_one(self) -> None:
        assert errors_for("long-note", "x" * 1000) == []
        assert errors_for("long-note", "x" * 1001) == ["Must be at most 1000 characters."]

    @pytest.mark.parametrize("value", ["\x00", "a\x00b", "abc\x00"])
    def test_strings_refuse_the_nul_character_postgresql_cannot_store(self, value: str) -> None:
        assert errors_for("note", value) == ["Null characters are not allowed."]

    @pytest.mark.parametrize("value", [5, True, ["a"]])
    def test_strings_refuse_non_text(self, value: Any) -> None:
        assert errors_for("note", value) == ["Must be text."]

    def test_dates_accept_iso_dates(self) -> None:
        assert errors_for("when", "2024-02-29") == []

    @pytest.mark.parametrize(
        "value", ["2023-02-29", "2024-2-3", "29/02/2024", "2024-02-29T10:00", 20240229]
    )
    def test_dates_refuse_anything_else(self, value: Any) -> None:
        assert errors_for("when", value) == ["Must be a date in the form YYYY-MM-DD."]

    @pytest.mark.parametrize("value", ["red", 2])
    def test_choices_accept_option_codes(self, value: Any) -> None:
        assert errors_for("colour", value) == []

    @pytest.mark.parametrize("value", ["Red", "2", 2.0, True, ["red"]])
    def test_choices_refuse_anything_but_a_code_of_the_right_type(self, value: Any) -> None:
        assert errors_for("colour", value) == ['Must be one of "red", 2.']

    def test_multi_choices_accept_a_list_of_distinct_codes(self) -> None:
        assert errors_for("tags", ["a", "b"]) == []
        assert errors_for("tags", ["b"]) == []

    def test_multi_choices_refuse_unknown_codes_duplicates_and_non_lists(self) -> None:
        assert errors_for("tags", ["a", "c"]) == ['"c" is not one of "a", "b".']
        assert errors_for("tags", ["a", "a"]) == ["Each option may be chosen only once."]
        assert errors_for("tags", "a") == ['Must be a list of codes from "a", "b".']

    def test_unknown_link_ids_are_refused(self) -> None:
        errors = validate_answers(EVERY_TYPE, {"flag": True, "nope": 1}, completed=False)
        assert errors == {"nope": ["Unknown question."]}

    @pytest.mark.parametrize("answers", [[], "x", None, 3])
    def test_answers_must_be_an_object(self, answers: Any) -> None:
        errors = validate_answers(EVERY_TYPE, answers, completed=False)
        assert errors == {NON_FIELD_KEY: ["Answers must be an object keyed by linkId."]}


class TestRequired:
    def test_required_items_may_be_blank_while_in_progress(self) -> None:
        assert validate_answers(EVERY_TYPE, {}, completed=False) == {}

    @pytest.mark.parametrize("blank", [{}, {"flag": None}])
    def test_required_items_must_be_answered_when_completed(self, blank: dict) -> None:
        errors = validate_answers(EVERY_TYPE, blank, completed=True)
        assert errors == {"flag": ["This question is required."]}

    def test_blank_strings_and_empty_lists_count_as_unanswered(self) -> None:
        required = definition(
            {"linkId": "note", "text": "Note", "type": "string", "required": True},
            {
                "linkId": "tags",
                "text": "Tags",
                "type": "multi-choice",
                "required": True,
                "options": [{"code": "a", "display": "A"}],
            },
        )
        errors = validate_answers(required, {"note": "  ", "tags": []}, completed=True)
        assert errors == {
            "note": ["This question is required."],
            "tags": ["This question is required."],
        }

    def test_a_required_item_that_is_not_enabled_is_not_required(self) -> None:
        gated = definition(
            {"linkId": "pain", "text": "Pain?", "type": "boolean"},
            {
                "linkId": "pain-score",
                "text": "How bad?",
                "type": "integer",
                "required": True,
                "enableWhen": [{"question": "pain", "operator": "=", "answer": True}],
            },
        )
        assert validate_answers(gated, {"pain": False}, completed=True) == {}
        assert validate_answers(gated, {"pain": True}, completed=True) == {
            "pain-score": ["This question is required."]
        }


def gated_on(question: dict[str, Any], operator: str, answer: Any) -> Definition:
    return definition(
        question,
        {
            "linkId": "follow-up",
            "text": "Follow-up",
            "type": "string",
            "enableWhen": [
                {"question": question["linkId"], "operator": operator, "answer": answer}
            ],
        },
    )


NUMBER = {"linkId": "n", "text": "N", "type": "integer"}
DATE = {"linkId": "d", "text": "D", "type": "date"}
CHOICE = {
    "linkId": "c",
    "text": "C",
    "type": "choice",
    "options": [{"code": "x", "display": "X"}, {"code": "y", "display": "Y"}],
}
MULTI = {**CHOICE, "type": "multi-choice"}


class TestEnableWhen:
    @pytest.mark.parametrize(
        ("question", "operator", "answer", "value", "enabled"),
        [
            (NUMBER, "exists", True, 0, True),
            (NUMBER, "exists", True, None, False),
            (NUMBER, "exists", False, None, True),
            (NUMBER, "exists", False, 3, False),
            (CHOICE, "=", "x", "x", True),
            (CHOICE, "=", "x", "y", False),
            (CHOICE, "=", "x", None, False),
            (CHOICE, "!=", "x", "y", True),
            (CHOICE, "!=", "x", "x", False),
            (CHOICE, "!=", "x", None, True),
            (MULTI, "=", "x", ["y", "x"], True),
            (MULTI, "=", "x", ["y"], False),
            (MULTI, "!=", "x", ["y"], True),
            (MULTI, "!=", "x", ["x"], False),
            (NUMBER, ">", 5, 6, True),
            (NUMBER, ">", 5, 5, False),
            (NUMBER, ">=", 5, 5, True),
            (NUMBER, ">=", 5, 4, False),
            (NUMBER, "<", 5, 4, True),
            (NUMBER, "<", 5, 5, False),
            (NUMBER, "<=", 5, 5, True),
            (NUMBER, "<=", 5, 6, False),
            (NUMBER, ">", 5, None, False),
            (NUMBER, "<", 5, None, False),
            (DATE, ">=", "2024-01-01", "2024-01-01", True),
            (DATE, ">=", "2024-01-01", "2023-12-31", False),
            (DATE, "<", "2024-01-01", "2023-12-31", True),
        ],
    )
    def test_operators(
        self, question: dict, operator: str, answer: Any, value: Any, enabled: bool
    ) -> None:
        questionnaire = gated_on(question, operator, answer)
        answers = {} if value is None else {question["linkId"]: value}
        assert ("follow-up" in enabled_link_ids(questionnaire, answers)) is enabled

    def test_equality_is_type_strict(self) -> None:
        questionnaire = gated_on({"linkId": "b", "text": "B", "type": "boolean"}, "=", True)
        assert "follow-up" in enabled_link_ids(questionnaire, {"b": True})
        assert "follow-up" not in enabled_link_ids(questionnaire, {"b": 1})

    def _two_conditions(self, behavior: str) -> Definition:
        return definition(
            {"linkId": "a", "text": "A", "type": "boolean"},
            {"linkId": "b", "text": "B", "type": "boolean"},
            {
                "linkId": "c",
                "text": "C",
                "type": "boolean",
                "enableBehavior": behavior,
                "enableWhen": [
                    {"question": "a", "operator": "=", "answer": True},
                    {"question": "b", "operator": "=", "answer": True},
                ],
            },
        )

    @pytest.mark.parametrize(
        ("a", "b", "all_", "any_"),
        [(True, True, True, True), (True, False, False, True), (False, False, False, False)],
    )
    def test_enable_behavior_all_and_any(self, a: bool, b: bool, all_: bool, any_: bool) -> None:
        answers = {"a": a, "b": b}
        assert ("c" in enabled_link_ids(self._two_conditions("all"), answers)) is all_
        assert ("c" in enabled_link_ids(self._two_conditions("any"), answers)) is any_

    def test_disabling_cascades_through_answers_of_disabled_items(self) -> None:
        chain = definition(
            {"linkId": "a", "text": "A", "type": "boolean"},
            {
                "linkId": "b",
                "text": "B",
                "type": "boolean",
                "enableWhen": [{"question": "a", "operator": "=", "answer": True}],
            },
            {
                "linkId": "c",
                "text": "C",
                "type": "boolean",
                "enableWhen": [{"question": "b", "operator": "=", "answer": True}],
            },
        )
        assert enabled_link_ids(chain, {"a": True, "b": True}) == {"a", "b", "c"}
        assert enabled_link_ids(chain, {"a": False, "b": True}) == {"a"}
        errors = validate_answers(chain, {"a": False, "b": True, "c": True}, completed=False)
        assert set(errors) == {"b", "c"}


class TestDisabledItemsInTheShippedDefinitions:
    @pytest.mark.parametrize("first_part", ["yes", "not_relevant", None])
    def test_dlqi_7a_is_refused_unless_dlqi_7_is_no(self, first_part: str | None) -> None:
        errors = validate_answers(
            load_definition("dlqi"), {"dlqi-7": first_part, "dlqi-7a": 1}, completed=False
        )
        assert list(errors) == ["dlqi-7a"]
        assert "dlqi-7a is not enabled" in errors["dlqi-7a"][0]
        assert 'dlqi-7 = "no"' in errors["dlqi-7a"][0]

    def test_dlqi_7a_is_accepted_after_no(self) -> None:
        answers = {"dlqi-7": "no", "dlqi-7a": 1}
        assert validate_answers(load_definition("dlqi"), answers, completed=True) == {}

    @pytest.mark.parametrize("pain", [False, None])
    def test_ibs_sss_pain_details_are_refused_unless_there_is_pain(self, pain: bool | None) -> None:
        answers = {"ibs-sss-1": pain, "ibs-sss-1a": 40, "ibs-sss-2": 3}
        errors = validate_answers(load_definition("ibs-sss"), answers, completed=False)
        assert set(errors) == {"ibs-sss-1a", "ibs-sss-2"}

    def test_ibs_sss_distension_severity_is_refused_without_distension(self) -> None:
        answers = {"ibs-sss-3": False, "ibs-sss-3a": 40}
        errors = validate_answers(load_definition("ibs-sss"), answers, completed=False)
        assert list(errors) == ["ibs-sss-3a"]

    def test_a_completed_poem_with_two_blanks_is_accepted_and_not_scored(self) -> None:
        poem = load_definition("poem")
        answers = {f"poem-{n}": 3 for n in range(1, 6)}
        assert validate_answers(poem, answers, completed=True) == {}
        assert score(poem, answers) == {"poem": {"total": None, "band": None, "subscales": {}}}

    def test_dlqi_not_relevant_is_kept_distinct_from_not_at_all(self) -> None:
        dlqi = load_definition("dlqi")
        assert validate_answers(dlqi, {"dlqi-3": "not_relevant"}, completed=False) == {}
        assert validate_answers(dlqi, {"dlqi-1": "not_relevant"}, completed=False) == {
            "dlqi-1": ["Must be one of 3, 2, 1, 0."]
        }


class TestScore:
    def test_it_scores_an_instrument_under_its_slug(self) -> None:
        answers = {f"isi-{n}": 3 for n in range(1, 8)}
        assert score(load_definition("isi"), answers) == {
            "isi": {"total": 21, "band": "moderate", "subscales": {}}
        }

    def test_the_intake_has_no_scores(self) -> None:
        assert score(load_definition("gut-skin-intake"), {"stress-level": 3}) == {}

    def test_blank_answers_are_scored_as_unanswered(self) -> None:
        answers = {"poem-1": None, **{f"poem-{n}": 4 for n in range(2, 8)}}
        assert score(load_definition("poem"), answers)["poem"]["total"] == 24


def test_the_pure_intake_modules_never_import_django() -> None:
    # CONVENTIONS: scoring and red-flag rules are plain Python, testable without Django.
    code = (
        "import sys, intake.engine, intake.red_flags, intake.instruments; "
        "sys.exit('django' in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
