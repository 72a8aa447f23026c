"""The hot tables carry no index that another covers: an index on (a) finds nothing that one on
(a, b) does not, and every INSERT (and every UPDATE of an indexed column) writes into each
index, and the planner weighs each one on every page it plans (docs/benchmarks.md)."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

# Written on every send, page view or inbox read.
HOT_TABLES = [
    "audit_auditevent",
    "messaging_message",
    "messaging_thread",
    "messaging_threadreadstate",
    "realtime_feedevent",
]


def _indexes(table: str) -> list[tuple[str, bool, bool, list[str]]]:
    """(name, unique, partial, columns) of each index of `table` (a partitioned table's own)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT index_class.relname, ix.indisunique, ix.indpred IS NOT NULL,
                   array(SELECT a.attname
                         FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, n)
                         JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum
                         ORDER BY k.n)
            FROM pg_index ix
            JOIN pg_class index_class ON index_class.oid = ix.indexrelid
            JOIN pg_class table_class ON table_class.oid = ix.indrelid
            WHERE table_class.relname = %s
            """,
            [table],
        )
        return [(name, unique, partial, list(columns)) for name, unique, partial, columns in cursor]


@pytest.mark.parametrize("table", HOT_TABLES)
def test_no_index_is_covered_by_another(table):
    indexes = _indexes(table)
    assert indexes, table
    covered = [
        (name, columns, other)
        for name, unique, partial, columns in indexes
        if not unique and not partial  # a unique index enforces something; a partial one differs
        for other, _, other_partial, other_columns in indexes
        if other != name
        and not other_partial
        and len(other_columns) > len(columns)
        and other_columns[: len(columns)] == columns
    ]
    assert covered == []
