"""Migrations that drop an index another one covers (docs/architecture.md, "No index another
covers"). Used by migrations: what a function here writes must never change."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import migrations
from django.db.migrations.operations.base import Operation


def drop_covered_indexes(
    *, indexes: Sequence[tuple[str, str, str]], state_operations: Sequence[Operation]
) -> migrations.SeparateDatabaseAndState:
    """Drop each `(index, table, column)` (recreated when the migration is reversed) while the
    model state takes `state_operations` (the fields' `db_index=False`).

    Only the indexes go: for a foreign key, Django's AlterField would also drop and re-add the
    key, re-checking every row of the table under a lock that stops writes. On a partitioned
    table, dropping or creating the parent's index does the same on every partition."""
    return migrations.SeparateDatabaseAndState(
        database_operations=[
            migrations.RunSQL(
                f'DROP INDEX IF EXISTS "{index}"',
                reverse_sql=f'CREATE INDEX "{index}" ON "{table}" ("{column}")',
            )
            for index, table, column in indexes
        ],
        state_operations=list(state_operations),
    )
