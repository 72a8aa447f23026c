"""PSS: Perceived Stress Scale, 10-item (PSS-10) and 4-item (PSS-4) versions, one scorer.

Citation
    Cohen S, Kamarck T, Mermelstein R. A global measure of perceived stress. J Health Soc Behav.
    1983;24(4):385-396. doi:10.2307/2136404
    Cohen S, Williamson G. Perceived stress in a probability sample of the United States.
    In: Spacapan S, Oskamp S, eds. The Social Psychology of Health. Sage; 1988:31-67.

Scoring rules (as published)
    Each item asks how often in the last month; answers are the printed response scores:
    never = 0, almost never = 1, sometimes = 2, fairly often = 3, very often = 4.
    PSS-10 (``pss-10-1`` .. ``pss-10-10``): the positively worded items 4, 5, 7 and 8 are
    reverse-scored (0 = 4, 1 = 3, 2 = 2, 3 = 1, 4 = 0); the total is the sum, 0-40.
    PSS-4 (``pss-4-1`` .. ``pss-4-4``; PSS-10 items 2, 4, 5 and 10): its items 2 and 3 are
    reverse-scored; the total is the sum, 0-16.
    Cohen publishes no cut-offs ("the PSS is not a diagnostic instrument"), so ``band`` is always
    ``None``; the care-plan rules apply their own thresholds (PSS-10 >= 14, PSS-4 >= 8).
    No subscales.

Missing-data rule (our choice; Cohen publishes none)
    The total is scored only when every item is answered; otherwise total is ``None``. Summing
    with blanks would understate stress, and a 4-item scale has no room for imputation.

Licence
    Cohen's laboratory (Carnegie Mellon University) states that the PSS may be used without
    permission for non-profit academic research and education. Commercial use is, to our
    knowledge, licensed through a distributor (Mapi Research Trust / ePROVIDE); a deployer must
    check current terms before use in a commercial clinic. The wording in
    ``intake/definitions/pss-10.json`` and ``pss-4.json`` is our paraphrase.
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import Answers, Band, ScoreResult, link_ids, read_code

ITEM_CODES = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class PerceivedStressScale:
    """One PSS version. It offers the interface every instrument module offers (``SLUG``,
    ``LINK_IDS``, ``ITEM_CODES``, ``TOTAL_MIN``, ``TOTAL_MAX``, ``BANDS``, ``band``, ``score``), so
    the two versions are two instances of one scorer rather than two copied modules."""

    SLUG: str
    item_count: int
    REVERSED_ITEMS: frozenset[int]
    ITEM_CODES: tuple[int, ...] = ITEM_CODES
    TOTAL_MIN: int = 0
    BANDS: tuple[Band, ...] = ()  # no published cut-offs

    # Upper-case like the other instruments' module constants: the interface is shared.
    @property
    def LINK_IDS(self) -> tuple[str, ...]:
        return link_ids(self.SLUG, self.item_count)

    @property
    def TOTAL_MAX(self) -> int:
        return 4 * self.item_count

    def band(self, total: int) -> str | None:
        """Always ``None``: the PSS has no published cut-offs."""
        if not 0 <= total <= self.TOTAL_MAX:
            raise ValueError(f"total {total!r} is outside 0-{self.TOTAL_MAX}")
        return None

    def item_score(self, number: int, response: int) -> int:
        return 4 - response if number in self.REVERSED_ITEMS else response

    def score(self, answers: Answers) -> ScoreResult:
        responses = [read_code(answers, link_id, ITEM_CODES) for link_id in self.LINK_IDS]
        if any(response is None for response in responses):
            return ScoreResult(total=None, band=None)
        total = sum(
            self.item_score(number, response) for number, response in enumerate(responses, start=1)
        )
        return ScoreResult(total=total, band=self.band(total))


# PSS-10: items 4, 5, 7 and 8 (the positively worded ones) are reverse-scored; total 0-40.
pss_10 = PerceivedStressScale("pss-10", 10, frozenset({4, 5, 7, 8}))
# PSS-4 (PSS-10 items 2, 4, 5 and 10): its items 2 and 3 are reverse-scored; total 0-16.
pss_4 = PerceivedStressScale("pss-4", 4, frozenset({2, 3}))
