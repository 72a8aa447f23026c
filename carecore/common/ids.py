"""Ids as text, the way every response and audit row writes them."""

from __future__ import annotations

from uuid import UUID

# Texts of the ids seen lately, by the id's number. The same ids come back on every request (a
# care team's inbox shows the same threads, patients and messages each time it is polled), and
# `str(UUID)` formats in Python: some 6,000 instructions an id, 300 ids an inbox page (10% of
# its instructions; docs/benchmarks.md). Bounded: emptied when full.
_TEXTS: dict[int, str] = {}
_MOST_TEXTS = 65_536


def uuid_text(value: object) -> str:
    """`str(value)`, remembered for UUIDs, the ids a process sees again and again. Anything
    else (an id already text, a number) is simply `str()`."""
    if type(value) is not UUID:
        return str(value)
    number = value.int
    text = _TEXTS.get(number)
    if text is None:
        if len(_TEXTS) >= _MOST_TEXTS:
            _TEXTS.clear()
        text = _TEXTS[number] = str(value)
    return text
