"""Red-flag phrase screen for patient messages. Plain Python: no Django, no database.

This is a deliberately small, documented, conservative screen, not a diagnosis. A hit makes the
thread urgent, posts the emergency-guidance auto-reply and pages the on-call clinician. Missing a
red flag is worse than a false alarm, so patterns are broad within each topic; only simple
negations immediately before the phrase ("no blood", "not bleeding", "without chest pain",
"denies fever") suppress a hit. The phrase set is listed in docs/messaging.md and each entry is
tested in tests/messaging/test_triage.py with hits and non-hits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class RedFlag:
    code: str
    label: str
    patterns: tuple[str, ...]


# Each pattern is a regular expression matched against lower-cased text with single spaces.
RED_FLAGS: tuple[RedFlag, ...] = (
    RedFlag(
        "gi_bleeding",
        "Blood in stool or rectal bleeding",
        (
            r"blood(?:y)? (?:in|on|with) (?:my |the )?(?:stool|stools|poo|poop|bowel movements?)",
            r"bloody (?:stool|stools|poo|poop|diarrh(?:o)?ea|bowel movements?)",
            r"rectal bleeding",
            r"bleeding from (?:my |the )?(?:rectum|bottom|back passage|anus)",
            r"black,? tarry stools?",
        ),
    ),
    RedFlag(
        "spreading_blisters",
        "Spreading painful blisters",
        (
            r"blisters? (?:\w+ ){0,3}(?:are |is )?spreading",
            r"spreading (?:\w+ ){0,2}blisters?",
            r"painful blisters?",
        ),
    ),
    RedFlag(
        "facial_swelling",
        "Facial, lip or tongue swelling",
        (
            r"(?:face|facial|lips?|tongue|throat|eyelids?) "
            r"(?:is |are |has |have |looks? |feels? )?(?:\w+ )?(?:swell(?:ing|ed|s)?|swollen)",
            r"swell(?:ing|ed|s)? (?:\w+ ){0,2}(?:face|lips?|tongue|throat)",
            r"swollen (?:face|lips?|tongue|throat)",
        ),
    ),
    RedFlag(
        "chest_pain",
        "Chest pain",
        (r"chest (?:pain|pains|tightness|pressure)", r"pain in (?:my |the )?chest"),
    ),
    RedFlag(
        "breathing",
        "Trouble breathing",
        (
            r"(?:trouble|difficulty|hard|struggling|problems?) (?:\w+ )?breath(?:e|ing)",
            r"can(?:no|')?t (?:catch my )?breath(?:e)?",
            r"short(?:ness)? of breath",
            r"wheezing",
        ),
    ),
    RedFlag(
        "fever_with_rash",
        "Fever with a rash",
        (
            r"fever (?:\w+ ){0,6}rash",
            r"rash (?:\w+ ){0,6}fever",
        ),
    ),
    RedFlag(
        "self_harm",
        "Thoughts of self-harm or suicide",
        (
            r"(?:hurt|harm|kill)(?:ing)? myself",
            r"self[- ]?harm",
            r"suicid(?:e|al)",
            r"end (?:my|it) (?:life|all)",
            r"don'?t want to (?:live|be alive)",
        ),
    ),
)

# A negation word within the three words before a match cancels it ("no blood in my stool",
# "I have not had any chest pain"). Deliberately simple: "no ... but now blood in stool" still
# fires because the negation is more than three words away.
_NEGATION = re.compile(
    r"(?:\b(?:no|not|never|without|denies|deny|nor|isn'?t|aren'?t|don'?t|didn'?t|haven'?t|"
    r"hasn'?t|wasn'?t|free of|zero)\b)(?:\s+\S+){0,3}\s*$"
)
_COMPILED = tuple(
    (flag, tuple(re.compile(r"\b" + pattern + r"\b") for pattern in flag.patterns))
    for flag in RED_FLAGS
)


def _normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'")
    return re.sub(r"\s+", " ", text)


def _negated(text: str, start: int) -> bool:
    # Only the words of the same sentence before the match can negate it.
    sentence_start = max(text.rfind(mark, 0, start) for mark in ".!?;\n")
    before = text[sentence_start + 1 : start]
    return bool(_NEGATION.search(before))


def screen(text: str) -> list[RedFlag]:
    """The red flags `text` raises, in RED_FLAGS order; each flag at most once."""
    normalised = _normalise(text)
    hits: list[RedFlag] = []
    for flag, patterns in _COMPILED:
        for pattern in patterns:
            if any(not _negated(normalised, m.start()) for m in pattern.finditer(normalised)):
                hits.append(flag)
                break
    return hits
