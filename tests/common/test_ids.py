"""Ids as text (carecore/common/ids.py): `uuid_text` is `str()`, remembered within a bound."""

from __future__ import annotations

from uuid import UUID, uuid4

from hypothesis import given
from hypothesis import strategies as st

from carecore.common import ids


@given(st.uuids())
def test_the_text_is_str_of_the_id(value):
    assert ids.uuid_text(value) == str(value)
    assert ids.uuid_text(UUID(int=value.int)) == str(value)  # another object, the same id


def test_the_remembered_texts_stay_within_their_bound(monkeypatch):
    monkeypatch.setattr(ids, "_MOST_TEXTS", 3)
    monkeypatch.setattr(ids, "_TEXTS", {})

    values = [uuid4() for _ in range(7)]
    texts = [ids.uuid_text(value) for value in values]

    assert texts == [str(value) for value in values]
    assert 0 < len(ids._TEXTS) <= 3


def test_an_id_that_is_no_uuid_is_written_as_str_writes_it():
    assert ids.uuid_text("c-2026-03-09-002") == "c-2026-03-09-002"
    assert ids.uuid_text(42) == "42"
