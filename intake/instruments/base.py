"""What every instrument scorer shares: the result type, band tables and answer reading.

Pure Python, no Django. A scorer takes the answers of one questionnaire response as a mapping
``{linkId: value}`` (the API's ``answers`` object, already checked by ``intake.engine``) and returns
a :class:`ScoreResult`.

A question counts as *unanswered* when its linkId is absent or its value is ``None``. Scorers do
not guess at bad data: a value outside the instrument's published codes raises
:class:`InvalidAnswer` (a ``ValueError``) instead of being scored. Note that Python's ``True`` is
an ``int``; booleans are never accepted as item scores.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

Answers = Mapping[str, Any]
Number = int | float


class InvalidAnswer(ValueError):
    """An answer that is not one of the instrument's published codes."""

    def __init__(self, link_id: str, value: object, expected: str) -> None:
        super().__init__(f"{link_id}: {value!r} is not a valid answer (expected {expected})")
        self.link_id = link_id
        self.value = value


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """One instrument's score: ``total`` and ``band`` are ``None`` when not scored."""

    total: Number | None
    band: str | None
    subscales: Mapping[str, Number | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The API shape: ``{"total": ..., "band": ..., "subscales": {...}}``."""
        return {"total": self.total, "band": self.band, "subscales": dict(self.subscales)}


@dataclass(frozen=True, slots=True)
class Band:
    """A closed range of totals ``[low, high]`` with its published name."""

    low: Number
    high: Number
    name: str


def band_for(total: Number, bands: tuple[Band, ...]) -> str:
    """The name of the band containing ``total``; ``ValueError`` if none does.

    ``bands`` must be in ascending order and cover the instrument's whole range without gaps,
    which the tests check for every instrument.
    """
    for band in bands:
        if band.low <= total <= band.high:
            return band.name
    raise ValueError(f"total {total!r} is outside every band")


def is_unanswered(value: object) -> bool:
    return value is None


def read_code(answers: Answers, link_id: str, allowed: Collection[object]) -> Any:
    """The answer to ``link_id`` (``None`` if unanswered), checked against ``allowed`` codes.

    Type-strict: ``True`` does not match ``1`` and ``1.0`` does not match ``1``.
    """
    value = answers.get(link_id)
    if value is None:
        return None
    if not any(type(value) is type(code) and value == code for code in allowed):
        raise InvalidAnswer(link_id, value, f"one of {sorted(allowed, key=str)}")
    return value


def read_int(answers: Answers, link_id: str, low: int, high: int) -> int | None:
    """An integer answer in ``[low, high]`` (``None`` if unanswered); booleans are refused."""
    value = answers.get(link_id)
    if value is None:
        return None
    if type(value) is not int or not low <= value <= high:
        raise InvalidAnswer(link_id, value, f"an integer from {low} to {high}")
    return value


def read_bool(answers: Answers, link_id: str) -> bool | None:
    value = answers.get(link_id)
    if value is None:
        return None
    if type(value) is not bool:
        raise InvalidAnswer(link_id, value, "true or false")
    return value


def link_ids(slug: str, count: int) -> tuple[str, ...]:
    """``("<slug>-1", ..., "<slug>-<count>")``: the PRODUCT.md linkId convention."""
    return tuple(f"{slug}-{n}" for n in range(1, count + 1))
