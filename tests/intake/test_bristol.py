"""Bristol Stool Form Scale.

Source: Lewis SJ, Heaton KW. Scand J Gastroenterol. 1997;32:920-924 (types 1-7 and their
relation to transit time); bands as PRODUCT.md: hard 1-2, normal 3-5, loose 6-7.
"""

from __future__ import annotations

import pytest

from intake.instruments import bristol
from intake.instruments.base import InvalidAnswer


@pytest.mark.parametrize(
    ("stool_type", "band"),
    [
        (1, "hard"),
        (2, "hard"),
        (3, "normal"),
        (4, "normal"),
        (5, "normal"),
        (6, "loose"),
        (7, "loose"),
    ],
)
def test_each_type_falls_in_its_band(stool_type: int, band: str) -> None:
    assert bristol.score({"bristol-1": stool_type}).as_dict() == {
        "total": stool_type,
        "band": band,
        "subscales": {},
    }


def test_unanswered_is_not_scored() -> None:
    assert bristol.score({}).as_dict() == {"total": None, "band": None, "subscales": {}}


@pytest.mark.parametrize("bad", [0, 8, True, "4", 4.0])
def test_it_refuses_anything_but_a_type(bad: object) -> None:
    with pytest.raises(InvalidAnswer):
        bristol.score({"bristol-1": bad})
