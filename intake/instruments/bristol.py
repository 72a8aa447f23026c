"""Bristol Stool Form Scale.

Citation
    Lewis SJ, Heaton KW. Stool form scale as a useful guide to intestinal transit time.
    Scand J Gastroenterol. 1997;32(9):920-924. doi:10.3109/00365529709011203
    (first described in Heaton KW, et al. Gut. 1992;33(6):818-824).

Scoring rules (as published)
    One item, ``bristol-1``: the stool type 1-7 (1 separate hard lumps .. 7 entirely liquid).
    ``total`` is the type. Bands: types 1-2 ``hard`` (slow transit / constipation), 3-5
    ``normal``, 6-7 ``loose`` (fast transit / diarrhoea); the grouping follows Lewis & Heaton's
    association of types with transit time and is the one PRODUCT.md asks for (some sources
    count type 5 as tending to loose; we keep 3-5 normal as specified). No subscales.

Missing-data rule
    Unanswered: total and band ``None``.

Licence
    The scale's descriptions are published in the journal literature and widely reproduced in
    clinical practice; the familiar illustrated chart is © Norgine / Dr K W Heaton and needs
    permission to reproduce. ``intake/definitions/bristol.json`` uses our own words and no images.
"""

from __future__ import annotations

from .base import Answers, Band, ScoreResult, band_for, read_code

SLUG = "bristol"
LINK_IDS = ("bristol-1",)
ITEM_CODES = (1, 2, 3, 4, 5, 6, 7)
TOTAL_MIN = 1
TOTAL_MAX = 7
BANDS = (
    Band(1, 2, "hard"),
    Band(3, 5, "normal"),
    Band(6, 7, "loose"),
)


def band(total: int) -> str:
    return band_for(total, BANDS)


def score(answers: Answers) -> ScoreResult:
    stool_type = read_code(answers, LINK_IDS[0], ITEM_CODES)
    if stool_type is None:
        return ScoreResult(total=None, band=None)
    return ScoreResult(total=stool_type, band=band(stool_type))
