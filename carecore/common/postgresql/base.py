"""Django's PostgreSQL backend, with DEBUG's query log written only when it is read.

With DEBUG on (`make run`), Django logs every statement it runs, its parameters written into the
SQL (`connection.queries`, the `django.db.backends` logger). Under server-side binding
(settings: `server_side_binding`) the statement went to the server without them, so Django
formats each one again with psycopg's `ClientCursor.mogrify`, for every statement, whether
anyone reads the log or not. That was 7% of a send's CPU in the web process and 15% in the
worker's announcing and delivery, whose bulk INSERTs carry long arrays (docs/benchmarks.md).

Here the log keeps the statement and its parameters, and writes them together the first time
the entry is read: by `connection.queries` (tests' query counts and EXPLAINs, a debugging
session), or by a DEBUG-level `django.db.backends` logger. What it shows is unchanged.
"""

from __future__ import annotations

from typing import Any

import psycopg
from django.db.backends.postgresql import base, operations


class DeferredSQL:
    """A statement as Django's query log shows it, its parameters written in on first read."""

    __slots__ = ("_driver", "_params", "_sql", "_text")

    def __init__(self, sql: str, params: Any, driver: psycopg.Connection[Any]) -> None:
        self._sql = sql
        self._params = params
        self._driver = driver
        self._text: str | None = None

    def __str__(self) -> str:
        if self._text is None:
            self._text = self._written_out()
            self._params = self._driver = None  # type: ignore[assignment]
        return self._text

    def _written_out(self) -> str:
        if self._driver.closed:
            # Read after its connection went away: the statement and its parameters apart.
            return f"{self._sql} -- parameters: {self._params!r}"
        try:
            return psycopg.ClientCursor(self._driver).mogrify(self._sql, self._params)
        except psycopg.errors.DataError:
            return self._sql  # as Django logs a statement it cannot write out (None there)


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> Any:
        if not self.connection.features.uses_server_side_binding:
            return super().last_executed_query(cursor, sql, params)
        return DeferredSQL(sql, params, cursor.connection)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    @property
    def queries(self) -> list[dict[str, Any]]:
        for entry in self.queries_log:
            if isinstance(entry["sql"], DeferredSQL):
                entry["sql"] = str(entry["sql"])
        return super().queries
