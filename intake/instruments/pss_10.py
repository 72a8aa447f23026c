"""PSS-10: the 10-item Perceived Stress Scale.

Citation
    Cohen S, Williamson G. Perceived stress in a probability sample of the United States.
    In: Spacapan S, Oskamp S, eds. The Social Psychology of Health. Sage; 1988:31-67.

Scoring rules (as published)
    Items 4, 5, 7 and 8 (the positively worded ones) are reverse-scored (4 - response); each
    response 0-4; total 0-40. Cohen publishes no cut-offs, so ``band`` is always ``None``.

Missing-data rule (our choice; none published)
    Not scored (total ``None``) unless every item is answered.

Licence
    Free without permission for non-profit academic research and education (Cohen's
    laboratory); commercial use must be checked by the deployer. Details and the shared
    implementation: :mod:`intake.instruments.pss`.
"""

from __future__ import annotations

from .base import Answers, Band, ScoreResult
from .pss import PSS10

SLUG = PSS10.slug
LINK_IDS = PSS10.link_ids
ITEM_CODES = (0, 1, 2, 3, 4)
REVERSED_ITEMS = PSS10.reversed_items
TOTAL_MIN = 0
TOTAL_MAX = PSS10.total_max
BANDS: tuple[Band, ...] = ()


def band(total: int) -> None:
    return PSS10.band(total)


def score(answers: Answers) -> ScoreResult:
    return PSS10.score(answers)
