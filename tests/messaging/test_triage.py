"""The red-flag phrase screen (messaging/triage.py): every flag fires, simple negations don't."""

from __future__ import annotations

import pytest

from messaging.triage import RED_FLAGS, screen


def codes(text: str) -> list[str]:
    return [flag.code for flag in screen(text)]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("There was blood in my stool this morning", "gi_bleeding"),
        ("I've had rectal bleeding since Sunday", "gi_bleeding"),
        ("bloody diarrhea twice today", "gi_bleeding"),
        ("The blisters on my eczema are spreading fast and hurt", "spreading_blisters"),
        ("painful blisters all over my hands", "spreading_blisters"),
        ("My lips are swelling after the new cream", "facial_swelling"),
        ("my face is swollen", "facial_swelling"),
        ("Swollen tongue after lunch", "facial_swelling"),
        ("I have chest pain when I walk", "chest_pain"),
        ("pain in my chest", "chest_pain"),
        ("I'm having trouble breathing", "breathing"),
        ("I can't breathe properly", "breathing"),
        ("short of breath since this morning", "breathing"),
        ("I have a fever and a new rash on my back", "fever_with_rash"),
        ("The rash came with a high fever", "fever_with_rash"),
        ("I keep having thoughts of hurting myself", "self_harm"),
        ("I feel suicidal", "self_harm"),
        ("Sometimes I don't want to live anymore", "self_harm"),
    ],
)
def test_it_flags_red_flag_phrases(text, code):
    assert code in codes(text)


@pytest.mark.parametrize(
    "text",
    [
        "No blood in my stool, just cramps",
        "There is not any rectal bleeding",
        "I'm not bleeding from my bottom any more",
        "No chest pain, only a rash",
        "I don't have trouble breathing",
        "no fever, but the rash is itchy",
        "My eczema is itchy again and my gut is bloated",
        "Can I book a follow-up for next week?",
        "The blister on my heel from new shoes is healing",
        "I denies chest pain",
        "",
    ],
)
def test_it_does_not_flag_ordinary_or_negated_messages(text):
    assert codes(text) == []


def test_a_negation_in_another_sentence_does_not_cancel_a_flag():
    assert codes("No fever today. But there was blood in my stool.") == ["gi_bleeding"]


def test_it_is_case_and_whitespace_insensitive_and_reports_each_flag_once():
    text = "CHEST   PAIN and chest pain again, and\nTROUBLE breathing"
    assert codes(text) == ["chest_pain", "breathing"]


def test_every_flag_has_a_code_a_label_and_patterns():
    assert len({flag.code for flag in RED_FLAGS}) == len(RED_FLAGS) == 7
    assert all(flag.label and flag.patterns for flag in RED_FLAGS)
