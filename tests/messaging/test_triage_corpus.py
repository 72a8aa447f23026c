"""Triage against the labelled corpus of patient messages (tests/messaging/triage_corpus.jsonl).

Every must-flag message is caught at its labelled severity or worse; fewer than 5% of routine
messages raise any flag. Per-category figures: `bench/triage_corpus.py` (docs/benchmarks.md).
The corpus was written for this project; an independent set kept outside it measures the same.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from messaging import triage, triage_rules

CORPUS = Path(__file__).with_name("triage_corpus.jsonl")
ROWS = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]
SEVERITY = {category.code: category.severity for category in triage_rules.CATEGORIES}
MUST_FLAG = [row for row in ROWS if row["expected"]]
ROUTINE = [row for row in ROWS if not row["expected"]]


def test_the_corpus_covers_every_category_in_many_phrasings():
    assert len(ROWS) >= 450
    per_category = Counter(row["expected"] for row in MUST_FLAG)
    assert set(per_category) == set(SEVERITY)
    assert min(per_category.values()) >= 8
    tags = Counter(row["tag"] for row in ROWS)
    for tag in ("slang", "typo", "caps", "buried", "long", "everyday"):
        assert tags[tag] >= 15, tag
    for tag in ("negated", "family", "hypothetical", "resolved", "idiom"):
        assert tags[tag] >= 15, tag


def test_every_must_flag_message_is_caught_at_its_severity_or_worse():
    missed = []
    for row in MUST_FLAG:
        got = triage.screen_message(body=row["text"]).severity
        if got is None or got.rank < SEVERITY[row["expected"]].rank:
            missed.append((row["expected"], row["text"]))
    assert missed == []


def test_false_alarms_stay_under_five_percent():
    alarms = [row["text"] for row in ROUTINE if triage.screen_message(body=row["text"]).hits]
    assert len(alarms) / len(ROUTINE) < 0.05, alarms


@pytest.mark.parametrize("tag", ["negated", "family", "hypothetical", "resolved", "idiom"])
def test_no_kind_of_routine_message_is_mostly_flagged(tag):
    rows = [row for row in ROUTINE if row["tag"] == tag]
    alarms = [row["text"] for row in rows if triage.screen_message(body=row["text"]).hits]
    assert len(alarms) <= len(rows) // 5, alarms


def test_the_anchor_prefilter_never_changes_a_result():
    """Skipping sentences without an anchor word worth analysing is only an optimisation:
    running every sentence through medspaCy raises the same flags for the whole corpus."""
    for row in ROWS:
        parts = {"body": row["text"]}
        with_filter = triage.categorise(triage.find_mentions(parts)).hits
        without = triage.categorise(triage.find_mentions(parts, prefilter=False)).hits
        assert with_filter == without, row["text"]


def test_the_per_concept_matchers_find_what_one_matcher_with_every_rule_finds():
    """`ConceptTargets` runs only the matchers of concepts a sentence has an anchor of; one
    medspaCy TargetMatcher holding every rule finds the same mentions in every corpus sentence."""
    from medspacy.target_matcher import TargetMatcher, TargetRule

    nlp = triage.pipeline()
    everything = TargetMatcher(nlp, name="every_rule", result_type=None, prune=False)
    everything.add(
        [
            TargetRule(phrase, concept.code, pattern=pattern)
            for concept in triage_rules.CONCEPTS
            for phrase in concept.phrases
            for pattern in triage.spacy_patterns(phrase)
        ]
    )
    sentences = {piece for row in ROWS for _, piece in triage.rough_sentences(row["text"])}
    for doc in nlp.pipe(sorted(sentences), disable=[triage.PYRUSH, triage.CONTEXT]):
        found = everything(doc)
        assert isinstance(found, list)
        assert sorted((s.start, s.end, s.label_) for s in found) == sorted(
            (s.start, s.end, s.label_) for s in doc.spans.get(triage.SPAN_GROUP, [])
        ), doc.text
