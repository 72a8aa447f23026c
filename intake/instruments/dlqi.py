"""DLQI: Dermatology Life Quality Index.

Citation
    Finlay AY, Khan GK. Dermatology Life Quality Index (DLQI): a simple practical measure for
    routine clinical use. Clin Exp Dermatol. 1994;19(3):210-216.
    doi:10.1111/j.1365-2230.1994.tb01167.x
    Bands: Hongbo Y, Thomas CL, Harrison MA, Salek MS, Finlay AY. Translating the science of
    quality of life into practice: what do Dermatology Life Quality Index scores mean?
    J Invest Dermatol. 2005;125(4):659-664. doi:10.1111/j.0022-202X.2005.23621.x
    Scoring and missing-data rules: "DLQI Instructions for use and scoring", Department of
    Dermatology, Cardiff University (www.dermatology.org.uk).

Scoring rules (as published)
    Ten questions about the last week. ``dlqi-1`` .. ``dlqi-10`` are answered with the item
    score: very much = 3, a lot = 2, a little = 1, not at all = 0. Items 3-10 also offer
    ``"not_relevant"``, which scores 0 but is stored as given (kept distinct from "not at all").
    Question 7 is two-part: ``dlqi-7`` is ``"yes"`` (prevented work or study, scores 3), ``"no"``
    or ``"not_relevant"`` (scores 0); when ``dlqi-7`` is ``"no"``, ``dlqi-7a`` (a lot = 2,
    a little = 1, not at all = 0) gives the score of question 7. The total is the sum, 0-30.
    Bands (Hongbo 2005): 0-1 ``no_effect``, 2-5 ``small``, 6-10 ``moderate``, 11-20
    ``very_large``, 21-30 ``extremely_large``.
    Subscales (Cardiff instructions): ``symptoms_and_feelings`` Q1-2 (0-6), ``daily_activities``
    Q3-4 (0-6), ``leisure`` Q5-6 (0-6), ``work_and_school`` Q7 (0-3), ``personal_relationships``
    Q8-9 (0-6), ``treatment`` Q10 (0-3).

Missing-data rule (as published in the Cardiff instructions)
    "If one question is left unanswered this is scored 0 and the scores are summed and expressed
    as usual out of a maximum of 30. If two or more questions are left unanswered the
    questionnaire is not scored." A not-scored questionnaire has total, band and every subscale
    ``None``; with one question unanswered, that question contributes 0 to its subscale too.
    Question 7 is unanswered when ``dlqi-7`` is. ``dlqi-7`` = ``"no"`` with ``dlqi-7a`` blank is
    an answered question scoring 0: the instructions add points for question 7 only for "yes"
    or for "a lot"/"a little" in its second part.
    The paper form lets "not relevant" be followed by a second-part tick (the instructions then
    score that tick); our form enables ``dlqi-7a`` only after ``"no"`` (PRODUCT.md), so that
    combination cannot be submitted and is refused here.

Licence
    © Dermatology Life Quality Index. A Y Finlay, G K Khan, April 1992. Routine clinical use by
    clinicians is free without specific permission, but every copy must reprint that copyright
    statement; research, commercial and other uses need permission from Cardiff University
    (Department of Dermatology) and may carry a fee. The wording is copyright and may only be
    reprinted with permission, so ``intake/definitions/dlqi.json`` carries our paraphrase: a
    deployer must obtain permission (and a licence for commercial use) and use the published
    wording before clinical use.
"""

from __future__ import annotations

from .base import Answers, Band, InvalidAnswer, ScoreResult, band_for, link_ids, read_code

SLUG = "dlqi"
QUESTIONS = link_ids(SLUG, 10)
Q7, Q7A = "dlqi-7", "dlqi-7a"
LINK_IDS = (*QUESTIONS[:7], Q7A, *QUESTIONS[7:])
NOT_RELEVANT = "not_relevant"
SCORE_CODES = (0, 1, 2, 3)
Q7_CODES = ("yes", "no", NOT_RELEVANT)
Q7A_CODES = (0, 1, 2)
TOTAL_MIN = 0
TOTAL_MAX = 30
BANDS = (
    Band(0, 1, "no_effect"),
    Band(2, 5, "small"),
    Band(6, 10, "moderate"),
    Band(11, 20, "very_large"),
    Band(21, 30, "extremely_large"),
)
SUBSCALES: dict[str, tuple[int, ...]] = {
    "symptoms_and_feelings": (1, 2),
    "daily_activities": (3, 4),
    "leisure": (5, 6),
    "work_and_school": (7,),
    "personal_relationships": (8, 9),
    "treatment": (10,),
}
MAX_UNANSWERED = 1


def band(total: float) -> str:
    return band_for(total, BANDS)


def _question_7(answers: Answers) -> int | None:
    prevented = read_code(answers, Q7, Q7_CODES)
    second_part = read_code(answers, Q7A, Q7A_CODES)
    if second_part is not None and prevented != "no":
        raise InvalidAnswer(Q7A, second_part, f"no answer unless {Q7} is 'no'")
    if prevented is None:
        return None
    if prevented == "yes":
        return 3
    if prevented == "no":
        return second_part or 0
    return 0  # not relevant


def item_scores(answers: Answers) -> dict[int, int | None]:
    """Score of each question 1-10 (``None`` when unanswered)."""
    scores: dict[int, int | None] = {}
    for number, link_id in enumerate(QUESTIONS, start=1):
        if number == 7:
            scores[7] = _question_7(answers)
            continue
        allowed = SCORE_CODES if number <= 2 else (*SCORE_CODES, NOT_RELEVANT)
        value = read_code(answers, link_id, allowed)
        scores[number] = 0 if value == NOT_RELEVANT else value
    return scores


def score(answers: Answers) -> ScoreResult:
    scores = item_scores(answers)
    if sum(value is None for value in scores.values()) > MAX_UNANSWERED:
        return ScoreResult(total=None, band=None, subscales=dict.fromkeys(SUBSCALES))
    subscales = {
        name: sum(scores[number] or 0 for number in numbers) for name, numbers in SUBSCALES.items()
    }
    total = sum(subscales.values())
    return ScoreResult(total=total, band=band(total), subscales=subscales)
