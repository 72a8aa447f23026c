"""IBS-SSS: Irritable Bowel Syndrome Severity Scoring System.

Citation
    Francis CY, Morris J, Whorwell PJ. The irritable bowel severity scoring system: a simple
    method of monitoring irritable bowel syndrome and its progress. Aliment Pharmacol Ther.
    1997;11(2):395-402. doi:10.1046/j.1365-2036.1997.142318000.x

Scoring rules (as published)
    Five components, each 0-100, summed to a total of 0-500:
    1. severity of abdominal pain: ``ibs-sss-1`` (do you have abdominal pain? true/false), then
       ``ibs-sss-1a`` (how severe, 0-100 visual analogue scale);
    2. frequency of abdominal pain: ``ibs-sss-2`` (days with pain out of every 10, 0-10) x 10;
    3. severity of abdominal distension: ``ibs-sss-3`` (true/false), then ``ibs-sss-3a`` (0-100);
    4. dissatisfaction with bowel habit: ``ibs-sss-4`` (0-100);
    5. interference with life in general: ``ibs-sss-5`` (0-100).
    ``ibs-sss-1a`` and ``ibs-sss-2`` apply only when ``ibs-sss-1`` is true, ``ibs-sss-3a`` only when
    ``ibs-sss-3`` is true; a "no" scores 0 for the components it gates.
    Bands: Francis 1997 gives mild 75-175, moderate 175-300, severe > 300 and treats < 75 as
    normal / remission; the shared edges are resolved as in PRODUCT.md: < 75 ``remission``,
    75-174 ``mild``, 175-299 ``moderate``, >= 300 ``severe``.
    Subscales are the five components: ``pain_severity``, ``pain_frequency``,
    ``distension_severity``, ``bowel_dissatisfaction``, ``life_interference`` (each 0-100).

Missing-data rule (our choice; Francis 1997 publishes none)
    A component is ``None`` when the answers needed for it are missing (e.g. ``ibs-sss-1`` is true
    but ``ibs-sss-1a`` is blank, or ``ibs-sss-1`` itself is blank). The total is scored only when
    all five components are known; otherwise total and band are ``None``. Summing a partial
    questionnaire would understate severity by up to 100 points per blank, enough to drop a
    band, so we do not.

Licence
    Published in the journal article above; we know of no formal licensing scheme, but the
    questionnaire is copyright of its authors / the University of Manchester. A deployer must
    check with the authors before commercial use. The wording in
    ``intake/definitions/ibs-sss.json`` is our paraphrase.
"""

from __future__ import annotations

from .base import Answers, Band, InvalidAnswer, ScoreResult, band_for, read_bool, read_int

SLUG = "ibs-sss"
PAIN, PAIN_SEVERITY, PAIN_DAYS = "ibs-sss-1", "ibs-sss-1a", "ibs-sss-2"
DISTENSION, DISTENSION_SEVERITY = "ibs-sss-3", "ibs-sss-3a"
DISSATISFACTION, INTERFERENCE = "ibs-sss-4", "ibs-sss-5"
LINK_IDS = (
    PAIN,
    PAIN_SEVERITY,
    PAIN_DAYS,
    DISTENSION,
    DISTENSION_SEVERITY,
    DISSATISFACTION,
    INTERFERENCE,
)
TOTAL_MIN = 0
TOTAL_MAX = 500
BANDS = (
    Band(0, 74, "remission"),
    Band(75, 174, "mild"),
    Band(175, 299, "moderate"),
    Band(300, 500, "severe"),
)


def band(total: int) -> str:
    return band_for(total, BANDS)


def _gated(
    answers: Answers, gate: str, dependants: dict[str, tuple[int, int, int]]
) -> dict[str, int | None]:
    """Component values gated by a yes/no question: 0 after "no", ``None`` while unknown.

    ``dependants`` maps a linkId to (low, high, multiplier).
    """
    present = read_bool(answers, gate)
    values = {
        link_id: read_int(answers, link_id, low, high)
        for link_id, (low, high, _) in dependants.items()
    }
    if present is not True:
        for link_id, value in values.items():
            if value is not None:
                raise InvalidAnswer(link_id, value, f"no answer unless {gate} is true")
    if present is None:
        return dict.fromkeys(dependants)
    if present is False:
        return dict.fromkeys(dependants, 0)
    return {
        link_id: None if (value := values[link_id]) is None else value * multiplier
        for link_id, (_, _, multiplier) in dependants.items()
    }


def score(answers: Answers) -> ScoreResult:
    pain = _gated(answers, PAIN, {PAIN_SEVERITY: (0, 100, 1), PAIN_DAYS: (0, 10, 10)})
    distension = _gated(answers, DISTENSION, {DISTENSION_SEVERITY: (0, 100, 1)})
    subscales: dict[str, int | None] = {
        "pain_severity": pain[PAIN_SEVERITY],
        "pain_frequency": pain[PAIN_DAYS],
        "distension_severity": distension[DISTENSION_SEVERITY],
        "bowel_dissatisfaction": read_int(answers, DISSATISFACTION, 0, 100),
        "life_interference": read_int(answers, INTERFERENCE, 0, 100),
    }
    if any(value is None for value in subscales.values()):
        return ScoreResult(total=None, band=None, subscales=subscales)
    total = sum(value for value in subscales.values() if value is not None)
    return ScoreResult(total=total, band=band(total), subscales=subscales)
