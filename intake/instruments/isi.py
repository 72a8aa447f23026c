"""ISI: Insomnia Severity Index.

Citation
    Bastien CH, Vallières A, Morin CM. Validation of the Insomnia Severity Index as an outcome
    measure for insomnia research. Sleep Med. 2001;2(4):297-307.
    doi:10.1016/S1389-9457(00)00065-4 (instrument: Morin CM. Insomnia: Psychological Assessment
    and Management. Guilford Press; 1993).

Scoring rules (as published)
    Seven items, ``isi-1`` .. ``isi-7``, each 0-4 (the answer is the item score): severity of
    difficulty falling asleep, staying asleep and waking too early (none = 0 .. very severe = 4),
    satisfaction with current sleep (very satisfied = 0 .. very dissatisfied = 4), how noticeable
    the problem is to others, worry / distress about it, and interference with daily
    functioning (not at all = 0 .. very much = 4). Total 0-28.
    Bands (Bastien 2001): 0-7 ``none`` (no clinically significant insomnia), 8-14
    ``subthreshold``, 15-21 ``moderate`` (clinical insomnia, moderate), 22-28 ``severe``
    (clinical insomnia, severe). No subscales.

Missing-data rule (our choice; Bastien 2001 publishes none)
    The total is scored only when all seven items are answered; otherwise total and band are
    ``None``. A blank scored as 0 could move a patient below the 8 and 15 cut-offs.

Licence
    The ISI is © Charles M. Morin (1993, 2000) and, to our knowledge, licensed through the Mapi
    Research Trust (ePROVIDE); use outside non-funded academic research or individual clinical
    practice (for example in commercial software) needs a licence and may carry a fee. A deployer
    must check with the Mapi Research Trust. The wording in ``intake/definitions/isi.json`` is our
    paraphrase.
"""

from __future__ import annotations

from .base import Answers, Band, ScoreResult, band_for, link_ids, read_code

SLUG = "isi"
LINK_IDS = link_ids(SLUG, 7)
ITEM_CODES = (0, 1, 2, 3, 4)
TOTAL_MIN = 0
TOTAL_MAX = 28
BANDS = (
    Band(0, 7, "none"),
    Band(8, 14, "subthreshold"),
    Band(15, 21, "moderate"),
    Band(22, 28, "severe"),
)


def band(total: float) -> str:
    return band_for(total, BANDS)


def score(answers: Answers) -> ScoreResult:
    values = [read_code(answers, link_id, ITEM_CODES) for link_id in LINK_IDS]
    if any(value is None for value in values):
        return ScoreResult(total=None, band=None)
    total = sum(values)
    return ScoreResult(total=total, band=band(total))
