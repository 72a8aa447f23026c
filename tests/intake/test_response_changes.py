"""`intake.selectors.response_changes`: what changed between a patient's previous response to a
questionnaire and this one, answers matched by linkId across definition versions, scores with
their previous value and change. Pure: the responses here are never saved."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from intake.models import QuestionnaireResponse, QuestionnaireVersion
from intake.selectors import AnswerChangeKind, response_changes

SKIN: dict[str, Any] = {
    "linkId": "skin",
    "text": "Which skin concerns?",
    "type": "multi-choice",
    "options": [
        {"code": "eczema", "display": "Eczema"},
        {"code": "acne", "display": "Acne"},
        {"code": "dryness", "display": "Dry skin"},
    ],
}
STOOL: dict[str, Any] = {
    "linkId": "stool",
    "text": "Usual stool?",
    "type": "choice",
    "options": [{"code": 3, "display": "Type 3"}, {"code": 4, "display": "Type 4"}],
}
ITCH: dict[str, Any] = {"linkId": "itch", "text": "Does it itch?", "type": "boolean"}
SLEEP: dict[str, Any] = {"linkId": "sleep", "text": "Hours of sleep?", "type": "decimal"}
NOTES: dict[str, Any] = {"linkId": "notes", "text": "Anything else?", "type": "string"}
ITEMS = [SKIN, STOOL, ITCH, SLEEP, NOTES]


def version(items: list[dict[str, Any]], number: str = "1.0.0") -> QuestionnaireVersion:
    return QuestionnaireVersion(version=number, definition={"items": items})


def response(
    answers: dict[str, Any],
    *,
    of: QuestionnaireVersion | None = None,
    scores: dict[str, Any] | None = None,
) -> QuestionnaireResponse:
    return QuestionnaireResponse(
        id=uuid.uuid4(),
        version=of or version(ITEMS),
        answers=answers,
        scores=scores or {},
        completed_at=datetime(2026, 11, 1, 9, tzinfo=UTC),
    )


def test_a_first_response_has_nothing_to_compare_but_lists_its_scores() -> None:
    changes = response_changes(
        response({}, scores={"poem": {"total": 9, "band": "moderate"}}), None
    )

    assert changes.first_response
    assert changes.answers == ()
    (score,) = changes.scores
    assert (score.total, score.band, score.previous_total, score.change) == (
        9,
        "moderate",
        None,
        None,
    )


def test_it_lists_changed_new_and_no_longer_given_answers_in_the_patients_words() -> None:
    before = response({"skin": ["eczema"], "stool": 3, "itch": True})
    after = response({"skin": ["eczema", "dryness"], "stool": 3, "sleep": 6.5})

    changes = response_changes(after, before)

    assert not changes.first_response
    assert changes.previous_response_id == before.id
    assert [(c.link_id, c.kind) for c in changes.answers] == [
        ("skin", AnswerChangeKind.CHANGED),
        ("sleep", AnswerChangeKind.NEW),
        ("itch", AnswerChangeKind.NO_LONGER_GIVEN),
    ]
    skin, sleep, itch = changes.answers
    assert (skin.question, skin.before.text, skin.after.text) == (  # type: ignore[union-attr]
        "Which skin concerns?",
        "Eczema",
        "Eczema, Dry skin",
    )
    assert (sleep.before, sleep.after.text) == (None, "6.5")  # type: ignore[union-attr]
    assert (itch.before.text, itch.after) == ("Yes", None)  # type: ignore[union-attr]
    assert not any(c.question_is_new or c.question_is_gone for c in changes.answers)


def test_reordered_options_spaces_and_seven_against_seven_point_oh_are_no_change() -> None:
    before = response({"skin": ["acne", "eczema"], "notes": "itchy at night", "sleep": 7})
    after = response({"skin": ["eczema", "acne"], "notes": " itchy at night ", "sleep": 7.0})

    assert response_changes(after, before).answers == ()


def test_true_is_not_one_and_blank_answers_count_as_not_given() -> None:
    before = response({"itch": True, "notes": "", "skin": []})
    after = response({"itch": False, "notes": None})

    changes = response_changes(after, before)

    assert [(c.link_id, c.kind, c.before.text, c.after.text) for c in changes.answers] == [  # type: ignore[union-attr]
        ("itch", AnswerChangeKind.CHANGED, "Yes", "No")
    ]


def test_across_versions_answers_match_by_link_id_and_new_or_dropped_questions_are_marked() -> None:
    reworded_stool = STOOL | {"text": "Which stool type is usual for you?"}
    old = version([SKIN, STOOL, ITCH], "1.0.0")
    new = version([SKIN, reworded_stool, SLEEP], "1.1.0")
    before = response({"skin": ["acne"], "stool": 3, "itch": True}, of=old)
    after = response({"skin": ["acne"], "stool": 4, "sleep": 8}, of=new)

    changes = response_changes(after, before)

    assert changes.previous_questionnaire_version == "1.0.0"
    stool, sleep, itch = changes.answers
    # A question in both versions: this version's wording.
    assert (stool.question, stool.before.text, stool.after.text) == (  # type: ignore[union-attr]
        "Which stool type is usual for you?",
        "Type 3",
        "Type 4",
    )
    # New in this version: a new answer, marked; dropped from it: no longer given, marked,
    # under the wording the patient was asked last time.
    assert (sleep.kind, sleep.question_is_new, sleep.question_is_gone) == ("new", True, False)
    assert (itch.kind, itch.question, itch.question_is_gone) == (
        "no_longer_given",
        "Does it itch?",
        True,
    )


def test_scores_show_the_previous_value_band_and_change_for_every_instrument() -> None:
    before = response({}, scores={"poem": {"total": 14, "band": "moderate"}, "isi": {"total": 9}})
    after = response(
        {},
        scores={
            "poem": {"total": 7, "band": "mild"},
            "dlqi": {"total": 3.5, "band": "small_effect"},
        },
    )

    scores = {s.instrument: s for s in response_changes(after, before).scores}

    assert list(scores) == ["dlqi", "isi", "poem"]
    poem = scores["poem"]
    assert (poem.total, poem.band, poem.previous_total, poem.previous_band, poem.change) == (
        7,
        "mild",
        14,
        "moderate",
        -7,
    )
    assert (scores["dlqi"].previous_total, scores["dlqi"].change) == (None, None)
    assert (scores["isi"].total, scores["isi"].previous_total) == (None, 9)


# --- properties -------------------------------------------------------------------------------

ANSWER_VALUES = {
    "skin": st.lists(st.sampled_from(["eczema", "acne", "dryness"]), unique=True),
    "stool": st.sampled_from([3, 4]),
    "itch": st.booleans(),
    "sleep": st.one_of(st.integers(0, 12), st.floats(0, 12, allow_nan=False)),
    "notes": st.text(max_size=20),
}
answer_sets = st.fixed_dictionaries({}, optional=ANSWER_VALUES)


@given(answer_sets)
def test_a_response_against_the_same_answers_changes_nothing(answers: dict[str, Any]) -> None:
    reordered = {
        key: list(reversed(value)) if isinstance(value, list) else value
        for key, value in answers.items()
    }

    assert response_changes(response(reordered), response(answers)).answers == ()


@given(answer_sets, answer_sets)
def test_each_kind_matches_which_side_gave_an_answer(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    changes = response_changes(response(after), response(before))

    for change in changes.answers:
        given_before, given_after = change.before is not None, change.after is not None
        expected = {
            (True, True): AnswerChangeKind.CHANGED,
            (False, True): AnswerChangeKind.NEW,
            (True, False): AnswerChangeKind.NO_LONGER_GIVEN,
        }[(given_before, given_after)]
        assert change.kind == expected
    assert len({change.link_id for change in changes.answers}) == len(changes.answers)


@given(answer_sets, answer_sets)
def test_swapping_the_responses_swaps_new_and_no_longer_given(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    forward = response_changes(response(after), response(before))
    backward = response_changes(response(before), response(after))

    swap = {"new": "no_longer_given", "no_longer_given": "new", "changed": "changed"}
    assert {(c.link_id, swap[c.kind]) for c in forward.answers} == {
        (c.link_id, c.kind) for c in backward.answers
    }
