"""PSS-4: the 4-item Perceived Stress Scale.

Citation
    Cohen S, Kamarck T, Mermelstein R. A global measure of perceived stress. J Health Soc
    Behav. 1983;24(4):385-396; Cohen & Williamson 1988 (see :mod:`intake.instruments.pss`).

Scoring rules (as published)
    Items 2 and 3 are reverse-scored (4 - response); each response 0-4; total 0-16.
    Cohen publishes no cut-offs, so ``band`` is always ``None``.

Missing-data rule (our choice; none published)
    Not scored (total ``None``) unless every item is answered.

Licence
    Free without permission for non-profit academic research and education (Cohen's
    laboratory); commercial use must be checked by the deployer. Details and the shared
    implementation: :mod:`intake.instruments.pss`.
"""

from __future__ import annotations

from .base import Answers, Band, ScoreResult
from .pss import PSS4

SLUG = PSS4.slug
LINK_IDS = PSS4.link_ids
ITEM_CODES = (0, 1, 2, 3, 4)
REVERSED_ITEMS = PSS4.reversed_items
TOTAL_MIN = 0
TOTAL_MAX = PSS4.total_max
BANDS: tuple[Band, ...] = ()


def band(total: int) -> None:
    return PSS4.band(total)


def score(answers: Answers) -> ScoreResult:
    return PSS4.score(answers)
