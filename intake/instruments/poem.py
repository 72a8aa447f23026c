"""POEM: Patient-Oriented Eczema Measure.

Citation
    Charman CR, Venn AJ, Williams HC. The Patient-Oriented Eczema Measure: development and
    initial validation of a new tool for measuring atopic eczema severity from the patients'
    perspective. Arch Dermatol. 2004;140(12):1513-1519. doi:10.1001/archderm.140.12.1513
    Bands: Charman CR, Venn AJ, Ravenscroft JC, Williams HC. Translating Patient-Oriented Eczema
    Measure (POEM) scores into clinical practice by suggesting severity strata derived using
    anchor-based methods. Br J Dermatol. 2013;169(6):1326-1332. doi:10.1111/bjd.12590

Scoring rules (as published)
    Seven questions about the last week, ``poem-1`` .. ``poem-7``, each scored 0-4:
    no days = 0, 1-2 days = 1, 3-4 days = 2, 5-6 days = 3, every day = 4. The total is the sum,
    0-28. Answers are submitted as the item score (0-4).
    Bands (Charman 2013): 0-2 ``clear`` (clear or almost clear), 3-7 ``mild``, 8-16 ``moderate``,
    17-24 ``severe``, 25-28 ``very_severe``. No subscales.

Missing-data rule (as published on the POEM scoring sheet)
    If one question is left unanswered it scores 0 and the total is summed as usual out of 28.
    If two or more questions are unanswered the questionnaire is not scored: total and band are
    ``None``.

Licence
    POEM is © The University of Nottingham (2004). It is free to use, but the University asks
    users to register / obtain permission (Centre of Evidence Based Dermatology, University of
    Nottingham) and the copyright line must appear on every copy. The item wording in
    ``intake/definitions/poem.json`` is our paraphrase; a deployer must register, and should
    substitute the published wording, before clinical use.
"""

from __future__ import annotations

from .base import Answers, Band, ScoreResult, band_for, link_ids, read_code

SLUG = "poem"
LINK_IDS = link_ids(SLUG, 7)
ITEM_CODES = (0, 1, 2, 3, 4)
TOTAL_MIN = 0
TOTAL_MAX = 28
BANDS = (
    Band(0, 2, "clear"),
    Band(3, 7, "mild"),
    Band(8, 16, "moderate"),
    Band(17, 24, "severe"),
    Band(25, 28, "very_severe"),
)
MAX_UNANSWERED = 1


def band(total: float) -> str:
    return band_for(total, BANDS)


def score(answers: Answers) -> ScoreResult:
    values = [read_code(answers, link_id, ITEM_CODES) for link_id in LINK_IDS]
    if sum(value is None for value in values) > MAX_UNANSWERED:
        return ScoreResult(total=None, band=None)
    total = sum(value or 0 for value in values)
    return ScoreResult(total=total, band=band(total))
