"""The audit table's indexes: every event is an INSERT into each of them (every list page writes
one), so none may be redundant (tests/common/test_redundant_indexes.py)."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _index_definitions(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return [definition for (definition,) in cursor.fetchall()]


def test_the_actor_is_found_by_the_actor_and_time_index_alone():
    definitions = _index_definitions("audit_auditevent")
    assert any("(actor_id, occurred_at DESC)" in definition for definition in definitions)
    assert not any(definition.endswith("(actor_id)") for definition in definitions), definitions


def test_the_patients_of_a_list_of_several_are_found_by_a_gin_index():
    definitions = _index_definitions("audit_auditevent")
    assert any("USING gin (patient_ids)" in definition for definition in definitions), definitions
