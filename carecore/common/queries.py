"""Small query helpers for the hot paths."""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, QuerySet

_Row = TypeVar("_Row", bound=Model)


def by_primary_key(queryset: QuerySet[_Row], pk: object) -> _Row | None:
    """The row of `queryset` with primary key `pk`, or None.

    `.first()` would add `ORDER BY pk` to a query that can match one row at most; compiling that
    ordering was a measurable part of a send, whose access check and lock each read one row."""
    rows = list(queryset.filter(pk=pk).order_by()[:1])
    return rows[0] if rows else None
