"""Message triage (messaging/triage.py, rules in messaging/triage_rules.py): the medspaCy
pipeline, its categories and severities, ConText modifiers and clause breaks, and what it keeps
out of the logs. No database; the labelled corpus is in test_triage_corpus.py."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from loguru import logger

from carecore.clinical.severity import Severity
from messaging import triage, triage_rules
from messaging.triage import screen, screen_message


def codes(text: str) -> list[str]:
    return [flag.code for flag in screen(text)]


def severity(text: str) -> Severity | None:
    return screen_message(body=text).severity


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("There was blood in my stool this morning", "rectal_bleeding"),
        ("I've had rectal bleeding since Sunday", "rectal_bleeding"),
        ("bloody diarrhea twice today", "rectal_bleeding"),
        ("The blisters on my eczema are spreading fast and hurt", "eczema_herpeticum"),
        ("painful blisters all over my hands", "eczema_herpeticum"),
        ("My lips are swelling after the new cream", "anaphylaxis"),
        ("my face is swollen", "anaphylaxis"),
        ("Swollen tongue after lunch", "anaphylaxis"),
        ("I have chest pain when I walk", "chest_pain"),
        ("pain in my chest", "chest_pain"),
        ("I'm having trouble breathing", "breathing"),
        ("I can't breathe properly", "breathing"),
        ("short of breath since this morning", "breathing"),
        ("I have a fever and a new rash on my back", "nonblanching_rash_fever"),
        ("The rash came with a high fever", "nonblanching_rash_fever"),
        ("I keep having thoughts of hurting myself", "self_harm"),
        ("I feel suicidal", "suicidal"),
        ("Sometimes I don't want to live anymore", "suicidal"),
    ],
)
def test_it_flags_red_flag_phrases(text, code):
    assert code in codes(text)


# The messages issue #10 quotes as missed by the old phrase list, with the severity they need.
@pytest.mark.parametrize(
    ("text", "code", "level"),
    [
        ("my poo has gone black and tarry", "black_stool", Severity.EMERGENCY),
        ("I threw up blood", "vomiting_blood", Severity.EMERGENCY),
        ("I want to die", "suicidal", Severity.CRISIS),
        ("I've taken an overdose", "overdose", Severity.CRISIS),
        ("my throat feels like it's closing up", "anaphylaxis", Severity.EMERGENCY),
        (
            "my eczema has come up in little blisters and I have a temperature",
            "eczema_herpeticum",
            Severity.URGENT,
        ),
        (
            "my skin is peeling off and my mouth is full of sores",
            "sjs_ten",
            Severity.EMERGENCY,
        ),
        ("the red patch is hot, spreading and I have chills", "skin_infection", Severity.URGENT),
        ("severe stomach pain, worst ever", "severe_abdominal_pain", Severity.URGENT),
        ("I can't keep water down", "persistent_vomiting", Severity.URGENT),
        ("food gets stuck when I swallow", "dysphagia", Severity.URGENT),
        ("I've lost 8 kilos without trying", "weight_loss", Severity.SOON),
        ("I'm not OK, I'm suicidal", "suicidal", Severity.CRISIS),
        ("Not sleeping, chest pain all night", "chest_pain", Severity.EMERGENCY),
    ],
)
def test_it_catches_what_the_phrase_list_missed(text, code, level):
    screening = screen_message(body=text)

    assert code in screening.codes
    assert screening.severity is not None and screening.severity.rank >= level.rank


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


@pytest.mark.parametrize(
    ("text", "modifier"),
    [
        ("my dad had rectal bleeding", triage_rules.FAMILY),
        ("what should I do if I ever see blood in my poo?", triage_rules.HYPOTHETICAL),
        ("I had chest pain last year, fine now", triage_rules.HISTORICAL),
        ("the swelling in my lips went away after an hour", triage_rules.RESOLVED),
        ("I've lost 5 kilos on my diet, so pleased", triage_rules.INTENTIONAL),
    ],
)
def test_family_hypothetical_and_resolved_mentions_stay_routine_but_are_kept(text, modifier):
    screening = screen_message(body=text)

    assert screening.hits == ()
    assert any(modifier in mention.modifiers for mention in screening.discounted)


@pytest.mark.parametrize(
    "text",
    [
        "this itch is killing me",
        "dying to try it",
        "I could kill for a coffee",
        "I'd die of embarrassment if anyone saw my arms",
        "I'm sick of this rash honestly",
    ],
)
def test_idioms_stay_routine(text):
    assert codes(text) == []


def test_a_negation_stops_at_a_clause_break():
    assert codes("I'm not OK, I'm suicidal") == ["suicidal"]
    assert codes("No fever, but there is blood in my poo") == ["rectal_bleeding"]
    assert codes("No fever today. But there was blood in my stool.") == ["rectal_bleeding"]


def test_a_family_mention_stops_where_the_patient_speaks_of_themself():
    assert codes("My husband found me collapsed on the floor") == ["collapse"]
    assert codes("my mum says my eyes look yellow") == ["jaundice"]


def test_a_bare_condition_never_hides_a_crisis():
    assert codes("it would be easier if I just ended it all") == ["suicidal"]
    assert codes("everyone would be happier if I was gone") == ["suicidal"]
    assert codes("I don't care if I live or die") == ["suicidal"]
    assert codes("What should I do if I've taken too many pills?") == ["overdose"]
    # A condition on something else, then what the patient will do: the crisis is now.
    assert codes("If this rash doesn't go I'll end it all") == ["suicidal"]
    assert codes("if I have to live like this I'd rather be dead") == ["suicidal"]


@pytest.mark.parametrize(
    "text",
    [
        "if I ever felt suicidal, who do I call?",
        "What should I do if I feel suicidal?",
        "In case I ever feel like hurting myself, who do I contact?",
        "Who do I call if someone in my family feels suicidal?",
        "Hypothetically, if someone wanted to end it all, what would you do?",
        "What happens if I start feeling suicidal on isotretinoin?",
        "If I feel like harming myself again, is it ok to message here or should I call 988?",
    ],
)
def test_a_question_about_one_day_or_someone_else_stays_routine(text):
    screening = screen_message(body=text)

    assert screening.hits == ()
    assert any(
        triage_rules.HYPOTHETICAL in mention.modifiers or triage_rules.FAMILY in mention.modifiers
        for mention in screening.discounted
    )


def test_saying_it_now_and_then_asking_what_to_do_flags():
    assert codes("I feel suicidal, what should I do") == ["suicidal"]
    assert codes("I feel suicidal. What should I do if it gets worse?") == ["suicidal"]


@pytest.mark.parametrize(
    "text",
    [
        "I can't do this anymore, I want out",
        "I don't want to be here anymore",
        "everyone would be better off without me",
        "I wish I could go to sleep and not wake up",
        "what's the point of going on",
        "my kids would be better off without me",
        "I don't see the point in anything anymore",
        "I can't go on like this",
        "I'm such a burden to everyone",
        "I've got nothing left to live for",
    ],
)
def test_passive_suicidal_wording_flags_crisis(text):
    assert severity(text) is Severity.CRISIS


@pytest.mark.parametrize(
    "text",
    [
        "I want out of this contract",
        "I can't do this homework anymore",
        "I can't go on holiday with my skin like this",
        "I can't keep going to the loo every hour",
        "I'm ready to give up dairy",
        "I don't want to be here at the clinic all day",
        "what's the point of the cream if it stings",
    ],
)
def test_the_same_words_with_an_everyday_object_stay_routine(text):
    assert codes(text) == []


def test_uncertainty_is_recorded_but_still_flags():
    (hit,) = screen("I think I might be having a heart attack")

    assert hit.code == "chest_pain"
    assert triage_rules.UNCERTAIN in hit.modifiers
    assert "heart attack" in " ".join(hit.words)


def test_it_is_case_and_whitespace_insensitive_and_reports_each_flag_once():
    text = "CHEST   PAIN and chest pain again, and\nTROUBLE breathing"
    assert codes(text) == ["chest_pain", "breathing"]


@pytest.mark.parametrize(
    "text",
    ["I CANT BREATHE", "cant breath", "I DONT WANT TO BE ALIVE ANYMORE", "i feel sucidal"],
)
def test_capitals_slang_and_misspellings_flag(text):
    assert codes(text)


def test_each_hit_records_category_severity_words_modifiers_and_source():
    screening = screen_message(subject="Chest pain", body="Since this morning, on and off.")

    assert screening.hits_json() == [
        {
            "code": "chest_pain",
            "label": "Chest pain",
            "severity": "emergency",
            "words": ["Chest pain"],
            "modifiers": [],
            "sources": ["subject"],
        }
    ]


def test_the_subject_and_the_body_are_screened_together():
    screening = screen_message(subject="New rash on my legs", body="and a high temperature")

    assert screening.codes == ["nonblanching_rash_fever"]
    assert screening.hits[0].sources == ("subject", "body")


def test_the_worst_severity_wins():
    screening = screen_message(body="I took an overdose and now I can't breathe")

    assert set(screening.codes) == {"overdose", "breathing"}
    assert screening.severity is Severity.EMERGENCY


def test_rough_sentences_are_capped_so_each_costs_a_bounded_time():
    text = "word " * 40_000  # 200 KB, no punctuation at all
    pieces = list(triage.rough_sentences(text))

    assert all(len(piece) <= triage.MAX_SEGMENT_CHARS for _, piece in pieces)
    assert "".join(piece for _, piece in pieces).split() == text.split()


def test_a_red_flag_buried_in_a_long_message_is_found():
    filler = "My eczema is a bit better with the new cream and I have been sleeping well. " * 1300
    text = f"{filler}Today there was blood in my poo. {filler}"

    assert len(text) > 100_000
    assert codes(text) == ["rectal_bleeding"]


def test_the_pipeline_is_built_once_per_process():
    assert triage.pipeline() is triage.pipeline()
    assert triage.pipeline().pipe_names == [
        "carecore_patient_lemmas",
        "carecore_concept_targets",
        "medspacy_pyrush",
        "medspacy_context",
    ]


def test_lemmas_cover_inflections_spellings_and_slang():
    lemma = triage_rules.lemma
    assert lemma("vomitting") == lemma("vomited") == lemma("vomit") == "vomit"
    assert lemma("diarrhea") == lemma("diarrhoea")
    assert lemma("bleeding") == lemma("bled") == "bleed"
    assert lemma("poop") == lemma("bm") == lemma("stools") == "poo"
    assert lemma("breath") == lemma("breathing") == "breathe"


def test_every_category_has_a_severity_and_triggers_made_of_known_concepts():
    concepts = {concept.code for concept in triage_rules.CONCEPTS}
    categories = triage_rules.CATEGORIES
    assert len({category.code for category in categories}) == len(categories)
    used = set()
    for category in categories:
        assert category.label and isinstance(category.severity, Severity) and category.triggers
        for trigger in category.triggers:
            assert set(trigger) <= concepts
            used |= set(trigger)
    assert used == concepts
    assert {category.severity for category in categories} == set(Severity)


def test_the_rules_module_imports_neither_django_nor_spacy():
    # The `carecore` package itself loads the Celery app (and with it Django's settings); the
    # rules must add nothing of Django or spaCy on top.
    script = (
        "import sys, carecore; before = set(sys.modules); import messaging.triage_rules; "
        "added = {name.split('.')[0] for name in set(sys.modules) - before}; "
        "assert not {'django', 'spacy', 'medspacy'} & added, added"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


# --- no patient text in any log ------------------------------------------------------------

CANARY = "Zanzibarquux"


def test_screening_writes_no_patient_words_to_any_log(caplog, capfd):
    """PyRuSH logs each token's text through loguru at DEBUG (to stderr by default). The
    pipeline disables those loggers; this catches any library that logs what it reads."""
    triage.pipeline()
    loguru_lines: list[str] = []
    sink = logger.add(loguru_lines.append, level="TRACE")
    caplog.set_level(logging.DEBUG)
    try:
        screen_message(
            subject=f"{CANARY} chest pain",
            body=f"No fever. {CANARY} says I was throwing up blood. My dad {CANARY} had a rash.",
        )
    finally:
        logger.remove(sink)
    out, err = capfd.readouterr()

    assert CANARY not in out + err
    assert not [line for line in loguru_lines if CANARY in line]
    assert CANARY not in caplog.text
