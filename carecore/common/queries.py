"""Small query helpers for the hot paths."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.db import connections
from django.db.models import Model, QuerySet

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
