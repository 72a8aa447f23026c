"""GSRS: Gastrointestinal Symptom Rating Scale (self-report version).

Citation
    Svedlund J, Sjödin I, Dotevall G. GSRS - a clinical rating scale for gastrointestinal
    symptoms in patients with irritable bowel syndrome and peptic ulcer disease. Dig Dis Sci.
    1988;33(2):129-134. doi:10.1007/BF01535722
    Self-report version and syndrome structure: Dimenäs E, Glise H, Hallerbäck B, Hernqvist H,
    Svedlund J, Wiklund I. Quality of life in patients with upper gastrointestinal symptoms.
    Scand J Gastroenterol. 1993;28(8):681-687; Revicki DA, Wood M, Wiklund I, Crawley J.
    Reliability and validity of the Gastrointestinal Symptom Rating Scale in patients with
    gastroesophageal reflux disease. Qual Life Res. 1998;7(1):75-83.

Scoring rules (as published)
    Fifteen items about the past week, ``gsrs-1`` .. ``gsrs-15``, each rated on the 7-point
    self-report scale, 1 = no discomfort at all .. 7 = very severe discomfort (the answer is the
    rating). Items in published order: 1 abdominal pain, 2 heartburn, 3 acid regurgitation,
    4 sucking sensation in the epigastrium (hunger pains), 5 nausea and vomiting,
    6 borborygmus (rumbling), 7 abdominal distension (bloating), 8 eructation (burping),
    9 increased flatus, 10 decreased passage of stools, 11 increased passage of stools,
    12 loose stools, 13 hard stools, 14 urgent need for defecation, 15 feeling of incomplete
    evacuation. Five syndrome scores, each the mean of its items (Revicki 1998):
    ``reflux`` 2, 3; ``abdominal_pain`` 1, 4, 5; ``indigestion`` 6, 7, 8, 9; ``diarrhoea`` 11, 12,
    14; ``constipation`` 10, 13, 15. Higher means more discomfort. There are no published
    severity bands, so ``band`` is always ``None``. ``total`` is the mean of the answered items
    (PRODUCT.md, "Contract details").

Missing-data rule (our choice; the published scoring leaves it open)
    A syndrome score is the mean of its answered items and ``None`` when none of them is
    answered; ``total`` is the mean of all answered items and ``None`` when no item is answered.
    Means are rounded to 2 decimals for display. That rounding cannot move a mean across a whole
    number (a mean of n <= 15 integer ratings is k/n, at least 1/15 away from any integer it does
    not equal), so thresholds like the care-plan rule "syndrome mean >= 4" are unaffected.

Licence
    The GSRS is, to our knowledge, copyright AstraZeneca and distributed under licence by the
    Mapi Research Trust (ePROVIDE), which also supplies the validated wording and translations;
    commercial use normally needs a licence and may carry a fee. We have not confirmed current
    terms: a deployer must check with the Mapi Research Trust before use. The wording in
    ``intake/definitions/gsrs.json`` is our paraphrase.
"""

from __future__ import annotations

from .base import Answers, Band, ScoreResult, link_ids, read_code

SLUG = "gsrs"
LINK_IDS = link_ids(SLUG, 15)
ITEM_CODES = (1, 2, 3, 4, 5, 6, 7)
TOTAL_MIN = 1
TOTAL_MAX = 7
BANDS: tuple[Band, ...] = ()  # no published severity bands
SYNDROMES: dict[str, tuple[int, ...]] = {
    "reflux": (2, 3),
    "abdominal_pain": (1, 4, 5),
    "indigestion": (6, 7, 8, 9),
    "diarrhoea": (11, 12, 14),
    "constipation": (10, 13, 15),
}
DECIMALS = 2


def band(total: float) -> str | None:
    """Always ``None``: the GSRS has no published severity bands."""
    if not TOTAL_MIN <= total <= TOTAL_MAX:
        raise ValueError(f"total {total!r} is outside {TOTAL_MIN}-{TOTAL_MAX}")
    return None


def _mean(values: list[int]) -> float | None:
    if not values:
        return None
    return round(sum(values) / len(values), DECIMALS)


def score(answers: Answers) -> ScoreResult:
    ratings = {
        number: read_code(answers, link_id, ITEM_CODES)
        for number, link_id in enumerate(LINK_IDS, start=1)
    }
    answered = [value for value in ratings.values() if value is not None]
    subscales = {
        name: _mean([ratings[n] for n in numbers if ratings[n] is not None])
        for name, numbers in SYNDROMES.items()
    }
    return ScoreResult(total=_mean(answered), band=None, subscales=subscales)
