"""Standard instruments, scored exactly as published (see docs/instruments.md).

Each instrument is a plain module (or, for the two PSS versions, an instance of one scorer)
exposing ``SLUG``, ``LINK_IDS``, ``TOTAL_MIN``, ``TOTAL_MAX``, ``BANDS``, ``band(total)`` and
``score(answers) -> ScoreResult``. ``SCORERS`` maps a slug to its
module; ``score_instrument(slug, answers)`` is the one entry point the engine uses.
"""

from __future__ import annotations

from typing import Any

from . import bristol, dlqi, gsrs, ibs_sss, isi, poem
from .base import Answers, InvalidAnswer, ScoreResult
from .pss import pss_4, pss_10

# Modules and PSS instances alike; they share the interface described above.
INSTRUMENTS: dict[str, Any] = {
    module.SLUG: module for module in (poem, dlqi, gsrs, ibs_sss, pss_10, pss_4, isi, bristol)
}


def score_instrument(slug: str, answers: Answers) -> ScoreResult:
    """Score ``answers`` with the instrument ``slug``; ``KeyError`` for an unknown slug."""
    result: ScoreResult = INSTRUMENTS[slug].score(answers)
    return result


__all__ = ["INSTRUMENTS", "Answers", "InvalidAnswer", "ScoreResult", "score_instrument"]
