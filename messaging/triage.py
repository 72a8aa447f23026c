"""Red-flag triage of patient messages with medspaCy on a blank spaCy English pipeline.

Plain Python: no Django, no database. The rules (what patients write, and what changes its
meaning) are data in `messaging/triage_rules.py`; this module builds the pipeline once per
process and runs it. See docs/triage.md.

How a message is screened, in time linear in its length:
1. A cheap pass cuts the text into rough sentences (at most `MAX_SEGMENT_CHARS` each) and keeps
   only those containing an anchor word of some target phrase (a word every match of that phrase
   must contain). Most of a long message is everyday text and stops here; this is what keeps a
   100 KB body far below 50 ms, because PyRuSH is pure Python and costs about 0.1 ms per char.
2. Each kept sentence goes through medspaCy: the medspaCy tokenizer, our lemmas, PyRuSH
   sentence splitting, the TargetMatcher (concept mentions) and ConText (negation, historical,
   resolved, hypothetical, family, uncertainty, idiom). ConText's scope is the sentence, cut
   further at clause breaks ("I'm not OK, I'm suicidal": the "not" stops at the comma).
3. A category is raised when every concept of one of its triggers has a mention that no
   suppressing modifier touches (uncertainty is recorded but never suppresses).

Nothing here logs: the text is patient data. PyRuSH logs every token through loguru at DEBUG;
`_silence_library_logging` turns that off when the pipeline is built.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carecore.clinical.severity import Severity, worst

from . import triage_rules as rules

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span

# A rough sentence longer than this is cut at whitespace: PyRuSH and ConText then never see more
# than this much text at once, so their cost per sentence is bounded and the total is linear.
MAX_SEGMENT_CHARS = 600
# How many matched words a hit keeps for the clinician.
MAX_WORDS_PER_HIT = 5
SPAN_GROUP = "triage_mentions"
TARGETS = "carecore_concept_targets"
PYRUSH = "medspacy_pyrush"
CONTEXT = "medspacy_context"
# PyRuSH rules for patient prose (see the file's header for why not medspaCy's defaults).
SENTENCE_RULES = Path(__file__).with_name("triage_sentence_rules.tsv")

_ROUGH_SENTENCE_END = re.compile(r"[.!?]\s+|\n+")
# Words as the anchor check sees them: runs of letters or of digits, so "vision's" gives
# "vision" and "8kg" gives "8" and "kg", as the tokenizer splits them.
_WORD = re.compile(r"[^\W\d_]+|\d+")
_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Mention:
    """One concept mention found by the TargetMatcher, with the ConText modifiers touching it."""

    concept: str
    words: str
    modifiers: tuple[str, ...]
    source: str
    position: int

    @property
    def asserted(self) -> bool:
        return not rules.SUPPRESSING.intersection(self.modifiers)


@dataclass(frozen=True)
class Hit:
    """A raised red flag: what the clinician sees next to the message."""

    code: str
    label: str
    severity: Severity
    words: tuple[str, ...]
    modifiers: tuple[str, ...]
    sources: tuple[str, ...]
    position: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "label": self.label,
            "severity": self.severity.value,
            "words": list(self.words),
            "modifiers": list(self.modifiers),
            "sources": list(self.sources),
        }


@dataclass(frozen=True)
class Screening:
    hits: tuple[Hit, ...] = ()
    # Mentions a modifier discounted (negated, family, hypothetical, ...), for the clinician.
    discounted: tuple[Mention, ...] = field(default=())

    @property
    def severity(self) -> Severity | None:
        return worst([hit.severity for hit in self.hits])

    @property
    def codes(self) -> list[str]:
        return [hit.code for hit in self.hits]

    def hits_json(self) -> list[dict[str, Any]]:
        return [hit.as_json() for hit in self.hits]

    def discounted_json(self) -> list[dict[str, Any]]:
        return [
            {
                "concept": mention.concept,
                "words": mention.words,
                "modifiers": list(mention.modifiers),
                "source": mention.source,
            }
            for mention in self.discounted
        ]


def screen(text: str) -> list[Hit]:
    """The red flags `text` raises, in the order they first appear; each at most once."""
    return list(screen_message(body=text).hits)


def screen_message(*, body: str, subject: str = "") -> Screening:
    """Screen a patient message's subject and body together (one trigger can combine a rash in
    the subject with a fever in the body)."""
    mentions = find_mentions({"subject": subject, "body": body})
    return categorise(mentions)


# --- step 1: rough sentences and anchors ------------------------------------------------------


def _separators(text: str) -> list[tuple[int, int]]:
    """(start, end) of every sentence separator: the white space after `. ! ?`, or newlines.
    The pattern starts with the mark itself rather than looking behind for it, which lets the
    regular-expression engine skip ahead to candidate characters (about 5x faster on 100 KB)."""
    separators = []
    for match in _ROUGH_SENTENCE_END.finditer(text):
        start = match.start()
        separators.append((start + 1 if text[start] in ".!?" else start, match.end()))
    return separators


def rough_sentences(text: str) -> Iterator[tuple[int, str]]:
    """(offset, sentence) pieces of `text`, each at most MAX_SEGMENT_CHARS long. Linear."""
    start = 0
    for separator_start, separator_end in _separators(text):
        yield from _capped(start, text[start:separator_start])
        start = separator_end
    yield from _capped(start, text[start:])


def _capped(offset: int, piece: str) -> Iterator[tuple[int, str]]:
    while len(piece) > MAX_SEGMENT_CHARS:
        cut = piece.rfind(" ", 0, MAX_SEGMENT_CHARS)
        cut = cut if cut > 0 else MAX_SEGMENT_CHARS
        yield offset, piece[:cut]
        offset, piece = offset + cut, piece[cut:]
    if piece.strip():
        yield offset, piece


# Never anchors: a slot containing one of these is too common to tell sentences apart.
_COMMON = frozenset(
    [
        "i",
        "be",
        "have",
        "not",
        "my",
        "to",
        "a",
        "the",
        "can",
        "in",
        "on",
        "of",
        "up",
        "do",
        "will",
        "it",
        "and",
        "all",
        "go",
        "me",
        "out",
        "off",
        "over",
        "down",
        "like",
        "so",
        "too",
        "very",
        "really",
        "when",
        "from",
        "for",
        "with",
        "at",
        "by",
        "this",
        "that",
    ]
)


def _anchors() -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """Per concept, (lemmas, exact words): for every phrase of the concept, the alternatives of
    one required slot, so any match of the phrase contains one of them and a sentence with none
    cannot match. Of the eligible slots, the one with the fewest everyday words, so routine
    sentences rarely reach medspaCy ("$severe ~4 stomach" anchors on "severe", "worst", ...
    rather than on "stomach")."""
    everyday = {rules.lemma(word) for word in rules.EVERYDAY}
    anchors: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    for concept in rules.CONCEPTS:
        lemmas: set[str] = set()
        exact: set[str] = set()
        for phrase in concept.phrases:
            slots = [
                {
                    word if word.startswith(rules.EXACT) else rules.lemma(word)
                    for word in rules.expand_groups(slot)
                }
                for slot in phrase.split()
                if not slot.endswith(rules.OPTIONAL)
                and not slot.startswith((rules.GAP, "!"))
                and not set(rules.NUMBERS) & set(slot.split("|"))
            ]
            eligible = [slot for slot in slots if not slot & _COMMON]
            if not eligible:
                raise ValueError(f"Phrase {phrase!r} has no uncommon required word to anchor on.")
            best = min(eligible, key=lambda slot: (len(slot & everyday), len(slot)))
            exact |= {word[1:] for word in best if word.startswith(rules.EXACT)}
            lemmas |= {word for word in best if not word.startswith(rules.EXACT)}
        anchors[concept.code] = (frozenset(lemmas), frozenset(exact))
    return anchors


_ANCHORS = _anchors()
_lemma_memo: dict[str, str] = {}


def _lemma(word: str) -> str:
    known = _lemma_memo.get(word)
    if known is None:
        known = rules.lemma(word)
        if len(_lemma_memo) < 100_000:  # bounded: the distinct words of all messages seen
            _lemma_memo[word] = known
    return known


def _concepts_anchored(words: set[str]) -> dict[str, set[str]]:
    """For each concept with an anchor among `words`, those words."""
    found: dict[str, set[str]] = {}
    for word in words:
        lemma = _lemma(word)
        for concept, (lemmas, exact) in _ANCHORS.items():
            if lemma in lemmas or word in exact:
                found.setdefault(concept, set()).add(word)
    return found


def _words_worth_analysing(words: set[str]) -> set[str]:
    """The anchor words of the concepts that can still raise a flag: a concept that only counts
    together with another (a rash with a fever) is not worth a sentence's analysis unless the
    message also has an anchor of its partner."""
    anchored = _concepts_anchored(words)
    wanted: set[str] = set()
    for category in rules.CATEGORIES:
        for trigger in category.triggers:
            if all(concept in anchored for concept in trigger):
                for concept in trigger:
                    wanted |= anchored[concept]
    return wanted


def _words(lowered: str) -> set[str]:
    """The distinct words of `lowered` in the sense of `_WORD`. Splitting at white space first
    and running the word pattern once per distinct piece is several times faster than running
    it over the whole text (long messages repeat most of their words); `_WORD` never matches
    white space, so the result is the same."""
    words: set[str] = set()
    for piece in set(lowered.split()):
        words.update(_WORD.findall(piece))
    return words


def _occurrences(lowered: str, words: Iterable[str]) -> list[int]:
    """Where each of `words` occurs in `lowered` as a whole word in the sense of `_WORD`
    (letters and digits apart), sorted. `str.find` per word: a handful of anchor words, each
    found at C speed; one regular expression of alternatives would be tried at every position."""
    found = []
    for word in words:
        kind = _DIGIT if word.isdigit() else _LETTER
        at = lowered.find(word)
        while at != -1:
            end = at + len(word)
            if not (at and kind.match(lowered, at - 1)) and not kind.match(lowered, end):
                found.append(at)
            at = lowered.find(word, end)
    found.sort()
    return found


def candidate_sentences(text: str) -> list[tuple[int, str]]:
    """The rough sentences of `text` that contain an anchor word worth analysing, with their
    offsets: those of `rough_sentences(text)` that may contribute to a flag. The words are
    found at C speed (splitting, `str.find`); Python loops only over the anchor hits."""
    lowered = text.lower()
    present = _words_worth_analysing(_words(lowered))
    if not present:
        return []
    ends = _separators(text)
    separator_starts = [start for start, _ in ends]
    pieces: dict[int, str] = {}
    covered_until = -1
    for hit in _occurrences(lowered, present):
        if hit < covered_until:
            continue  # another anchor of a sentence already kept
        index = bisect.bisect_right(separator_starts, hit)
        start = ends[index - 1][1] if index else 0
        stop = ends[index][0] if index < len(ends) else len(text)
        for offset, piece in _capped(start, text[start:stop]):
            if offset <= hit < offset + len(piece):
                pieces[offset] = piece
                covered_until = offset + len(piece)
    return sorted(pieces.items())


# --- step 2: medspaCy ------------------------------------------------------------------------


def find_mentions(parts: dict[str, str], *, prefilter: bool = True) -> list[Mention]:
    """Concept mentions in each named part of a message, with their ConText modifiers.
    `prefilter=False` runs every sentence through medspaCy (tests prove both agree)."""
    nlp = pipeline()
    pieces: list[tuple[str, int, str]] = []
    for part_index, (source, text) in enumerate(parts.items()):
        sentences = candidate_sentences(text) if prefilter else list(rough_sentences(text))
        # Subject mentions sort before body ones; within a part, by where they are.
        base = part_index * 10**9
        pieces.extend((source, base + offset, sentence) for offset, sentence in sentences)
    # Repeated sentences (pasted twice, a signature, a long message's boilerplate) are analysed
    # once, and their mentions read once.
    unique = list(dict.fromkeys(sentence for _, _, sentence in pieces))
    found = {
        sentence: [(span.start_char, _mention(span, source="", position=0)) for span in spans]
        for sentence, doc in zip(unique, _analyse(nlp, unique), strict=True)
        if (spans := doc.spans.get(SPAN_GROUP))
    }
    return [
        replace(mention, source=source, position=position + start)
        for source, position, sentence in pieces
        for start, mention in found.get(sentence, ())
    ]


def _analyse(nlp: Language, sentences: list[str]) -> Iterator[Doc]:
    """Tokens, lemmas and target mentions for every sentence; sentence splitting and ConText
    only where a target was found (most sentences with an anchor word have none, and PyRuSH
    is the slowest step)."""
    sentencizer = nlp.get_pipe(PYRUSH)
    context = nlp.get_pipe(CONTEXT)
    for doc in nlp.pipe(sentences, disable=[PYRUSH, CONTEXT]):
        if doc.spans.get(SPAN_GROUP):
            doc = context(sentencizer(doc))
        yield doc


def _mention(span: Span, *, source: str, position: int) -> Mention:
    # medspaCy only skips a modifier that overlaps a target's edge; one inside the target ("ca
    # n't breathe", "won't stop bleeding") is part of the symptom, not a modifier of it.
    modifiers = tuple(
        sorted(
            {
                modifier.category
                for modifier in span._.modifiers
                if not _inside(modifier.modifier_span, (span.start, span.end))
            }
        )
    )
    return Mention(
        concept=span.label_,
        words=span.text,
        modifiers=modifiers,
        source=source,
        position=position,
    )


def _inside(inner: tuple[int, int], outer: tuple[int, int]) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1]


# --- step 3: categories ----------------------------------------------------------------------


def categorise(mentions: list[Mention]) -> Screening:
    asserted: dict[str, list[Mention]] = {}
    for mention in mentions:
        if mention.asserted:
            asserted.setdefault(mention.concept, []).append(mention)
    hits = [hit for category in rules.CATEGORIES if (hit := _raise(category, asserted))]
    hits.sort(key=lambda hit: hit.position)
    discounted = tuple(mention for mention in _unique(mentions) if not mention.asserted)
    return Screening(hits=tuple(hits), discounted=discounted)


def _raise(category: rules.Category, asserted: dict[str, list[Mention]]) -> Hit | None:
    for trigger in category.triggers:
        if all(concept in asserted for concept in trigger):
            found = [mention for concept in trigger for mention in asserted[concept]]
            return Hit(
                code=category.code,
                label=category.label,
                severity=category.severity,
                words=_distinct_words(found),
                modifiers=tuple(sorted({mod for m in found for mod in m.modifiers})),
                sources=tuple(dict.fromkeys(m.source for m in found)),
                position=min(m.position for m in found),
            )
    return None


def _distinct_words(mentions: list[Mention]) -> tuple[str, ...]:
    """The matched words, without those inside a longer match ("chest pain" in "bad chest
    pain"), at most MAX_WORDS_PER_HIT."""
    words = sorted({m.words for m in mentions}, key=len, reverse=True)
    kept: list[str] = []
    for word in words:
        if not any(word in longer for longer in kept):
            kept.append(word)
    return tuple(kept[:MAX_WORDS_PER_HIT])


def _unique(mentions: Iterable[Mention]) -> list[Mention]:
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    kept = []
    for mention in mentions:
        key = (mention.concept, mention.words, mention.modifiers)
        if key not in seen:
            seen.add(key)
            kept.append(mention)
    return kept


# --- the pipeline, built once per process -----------------------------------------------------

_pipeline: Language | None = None
_pipeline_lock = threading.Lock()


def pipeline() -> Language:
    """The medspaCy pipeline, built on first use (a few seconds) and shared by all threads:
    the components keep no state between calls (each Doc carries its own results), and
    `_analyse` disables components per call instead of changing the pipeline."""
    global _pipeline
    if _pipeline is None:
        with _pipeline_lock:
            if _pipeline is None:
                _pipeline = _build_pipeline()
    return _pipeline


def _silence_library_logging() -> None:
    """PyRuSH (and PyFastNER) log each token's text through loguru at DEBUG, to stderr by
    default: patient text in the logs. Disable those loggers for the whole process."""
    from loguru import logger

    for library in ("PyRuSH", "PyFastNER", "medspacy", "quickumls"):
        logger.disable(library)


def _build_pipeline() -> Language:
    _silence_library_logging()
    import medspacy
    from medspacy.context import ConText, ConTextRule
    from spacy.language import Language

    if not Language.has_factory("carecore_patient_lemmas"):
        Language.component("carecore_patient_lemmas", func=_set_lemmas)
    nlp: Language = medspacy.load(medspacy_enable=["medspacy_tokenizer"])
    _add_upper_case_exceptions(nlp)
    nlp.add_pipe("carecore_patient_lemmas")
    if not Language.has_factory(TARGETS):
        Language.factory(TARGETS, func=_concept_targets)
    nlp.add_pipe(TARGETS)
    nlp.add_pipe(PYRUSH, config={"rules_path": str(SENTENCE_RULES)})
    context: ConText = nlp.add_pipe(
        CONTEXT,
        config={
            "rules": None,
            "input_span_type": "group",
            "span_group_name": SPAN_GROUP,
            # We read each mention's modifiers ourselves (see _mention), not the is_* flags.
            "span_attrs": None,
        },
    )
    context.add(
        [
            ConTextRule(
                phrase,
                modifier.category,
                pattern=pattern,
                direction=modifier.direction,
                max_scope=modifier.max_scope,
                allowed_types=set(modifier.allowed) if modifier.allowed else None,
                excluded_types=set(modifier.excluded) if modifier.excluded else None,
                # Set per rule: ConText's `terminating_types` config reaches only the first rule
                # of each category (spaCy hands the lists over as one-shot iterators).
                terminated_by=set(rules.TERMINATED_BY.get(modifier.category, ())),
            )
            for modifier in rules.MODIFIERS
            for phrase in modifier.phrases
            for pattern in spacy_patterns(phrase)
        ]
    )
    return nlp


class ConceptTargets:
    """medspaCy's TargetMatcher, one per concept, run only for the concepts a sentence has an
    anchor of (see `_anchors`: every match of a concept contains one of its anchor words). One
    matcher holding every rule costs about 2 ms a sentence, most of it in patterns that start
    with a gap or an optional word and so begin at every token; the anchored matchers of a
    typical sentence cost a tenth of that, with the same matches. Results go to the span group
    ConText reads, in document order."""

    def __init__(self, nlp: Language, name: str) -> None:
        from medspacy.target_matcher import TargetMatcher, TargetRule

        self.matchers: dict[str, TargetMatcher] = {}
        for concept in rules.CONCEPTS:
            matcher = TargetMatcher(
                nlp, name=f"{name}_{concept.code}", result_type=None, prune=False
            )
            matcher.add(
                [
                    TargetRule(phrase, concept.code, pattern=pattern)
                    for phrase in concept.phrases
                    for pattern in spacy_patterns(phrase)
                ]
            )
            self.matchers[concept.code] = matcher

    def __call__(self, doc: Doc) -> Doc:
        lemmas = {token.lemma_ for token in doc}
        lowers = {token.lower_ for token in doc}
        spans: list[Span] = []
        for concept, (anchor_lemmas, anchor_words) in _ANCHORS.items():
            if lemmas.isdisjoint(anchor_lemmas) and lowers.isdisjoint(anchor_words):
                continue
            found = self.matchers[concept](doc)
            assert isinstance(found, list)  # result_type=None: the matcher returns the spans
            spans.extend(found)
        spans.sort(key=lambda span: (span.start, span.end, span.label_))
        doc.spans[SPAN_GROUP] = spans
        return doc


def _concept_targets(nlp: Any, name: str) -> ConceptTargets:
    # spaCy validates a factory's arguments from its annotations (with pydantic), which must
    # resolve at run time: `Language` is imported for type checking only, hence `Any`.
    return ConceptTargets(nlp, name)


def _add_upper_case_exceptions(nlp: Language) -> None:
    """spaCy splits "can't", "cant" and "Can't" into "ca" + "n't", but not "CAN'T" or "CANT":
    add the upper-case form of every lower-case exception, so messages in capitals tokenize
    (and match) like the rest."""
    from spacy.symbols import ORTH
    from spacy.tokenizer import Tokenizer

    tokenizer = nlp.tokenizer
    assert isinstance(tokenizer, Tokenizer)  # medspaCy's tokenizer is a spaCy Tokenizer
    for text, pieces in list(tokenizer.rules.items()):
        if text.islower() and text.upper() not in tokenizer.rules:
            upper = [{ORTH: piece[ORTH].upper()} for piece in pieces]
            if "".join(piece[ORTH] for piece in upper) == text.upper():
                tokenizer.add_special_case(text.upper(), upper)


def _set_lemmas(doc: Doc) -> Doc:
    for token in doc:
        token.lemma_ = rules.lemma(token.lower_)
    return doc


def spacy_patterns(phrase: str) -> list[list[dict[str, Any]]]:
    """spaCy Matcher patterns for one phrase of the rule syntax (see triage_rules)."""
    per_slot: list[list[dict[str, Any]]] = []
    for slot in phrase.split():
        optional = slot.endswith(rules.OPTIONAL) and len(slot) > 1
        slot = slot.rstrip(rules.OPTIONAL) if optional else slot
        if slot.startswith(rules.GAP):
            # A gap never swallows a negation: "the rash is not spreading" is not "rash ...
            # spreading" with a modifier inside it.
            gap: dict[str, Any] = {
                "LEMMA": {"NOT_IN": ["not", "no"]},
                "OP": f"{{0,{int(slot[1:])}}}",
            }
            per_slot.append([gap])
            continue
        if slot.startswith("!"):
            words = sorted({rules.lemma(w) for w in rules.expand_groups(slot[1:])})
            per_slot.append([{"LEMMA": {"NOT_IN": words}}])
            continue
        alternatives = rules.expand_groups(slot)
        choices: list[dict[str, Any]] = []
        if rules.NUMBER in alternatives:
            choices.append({"LIKE_NUM": True})
        if rules.MANY in alternatives:
            choices.append({"LIKE_NUM": True, "LOWER": {"NOT_IN": list(rules.FEW)}})
        exact = sorted(w[1:] for w in alternatives if w.startswith(rules.EXACT))
        if exact:
            choices.append({"LOWER": {"IN": exact}})
        words = sorted(
            {
                rules.lemma(w)
                for w in alternatives
                if w not in rules.NUMBERS and w[:1] != rules.EXACT
            }
        )
        if words:
            choices.append({"LEMMA": {"IN": words}})
        if optional:
            for choice in choices:
                choice["OP"] = "?"
        per_slot.append(choices)
    return [list(combination) for combination in product(*per_slot)]
