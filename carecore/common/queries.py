"""Small query helpers for the hot paths."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Lookup, Model, QuerySet
from django.db.models.sql.compiler import SQLCompiler

_Row = TypeVar("_Row", bound=Model)


def by_primary_key(queryset: QuerySet[_Row], pk: object) -> _Row | None:
    """The row of `queryset` with primary key `pk`, or None.

    `.first()` would add `ORDER BY pk` to a query that can match one row at most; compiling that
    ordering was a measurable part of a send, whose access check and lock each read one row."""
    rows = list(queryset.filter(pk=pk).order_by()[:1])
    return rows[0] if rows else None


@contextmanager
def planned_on_every_run(using: str) -> Iterator[None]:
    """Queries on `using`'s connection in this block are planned for their parameters on every
    run: psycopg does not prepare them (settings: `prepare_threshold`).

    A prepared statement soon runs on a generic plan, made for any parameters from average
    statistics. For a key look-up that is the plan anyway. For a page of a list, "one patient's
    or one thread's rows, in order, the first 51", the average group is small, so the generic
    plan reads every row of the group and sorts them: fine for a short thread, a full read of a
    long one on every page (tests/common/test_queries.py). Planned for the parameters, the same
    query reads the page from an index and stops."""
    connection = connections[using]
    connection.ensure_connection()
    driver = connection.connection
    threshold = driver.prepare_threshold
    driver.prepare_threshold = None
    try:
        yield
    finally:
        driver.prepare_threshold = threshold


class AnyOf(Lookup):
    """`column__any=values`: `column = ANY(%s::type[])`, the values as one array parameter.

    `column__in=values` sends one parameter per value, so the statement's text changes with
    their number, and psycopg converts and caches a statement of at most 50 parameters: a staff
    member's inbox filtered by their ~50 patients was re-parsed by psycopg, and each id adapted
    by Django and psycopg apart, on every request (docs/benchmarks.md). PostgreSQL reads
    `= ANY(array)` through the same index as `IN`. Registered on every field (CommonConfig)."""

    lookup_name = "any"

    def get_prep_lookup(self) -> list[Any]:
        prepare = self.lhs.output_field.get_prep_value
        return [prepare(value) for value in self.rhs]

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        column, params = self.process_lhs(compiler, connection)
        # The array's type from the column's: an empty list has no type of its own.
        array_type = self.lhs.output_field.db_type(connection)
        return f"{column} = ANY(%s::{array_type}[])", (*params, list(self.rhs))
