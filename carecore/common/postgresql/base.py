"""Django's PostgreSQL backend, with DEBUG's query log written only when it is read,
timestamps read by psycopg's C loader and lists of UUIDs sent in binary.

With DEBUG on (`make run`), Django logs every statement it runs, its parameters written into the
SQL (`connection.queries`, the `django.db.backends` logger). Under server-side binding
(settings: `server_side_binding`) the statement went to the server without them, so Django
formats each one again with psycopg's `ClientCursor.mogrify`, for every statement, whether
anyone reads the log or not. That was 7% of a send's CPU in the web process and 15% in the
worker's announcing and delivery, whose bulk INSERTs carry long arrays (docs/benchmarks.md).

Here the log keeps the statement and its parameters, and writes them together the first time
the entry is read: by `connection.queries` (tests' query counts and EXPLAINs, a debugging
session), or by a DEBUG-level `django.db.backends` logger. What it shows is unchanged.

Django reads every `timestamptz` value through a loader of its own, written in Python on top of
psycopg's Python one, to make the result carry its connection's time zone (UTC). psycopg's C
loader (psycopg-binary) already returns UTC datetimes on a connection whose time zone is UTC,
which Django sets on every connection. The care team's inbox reads ~250 timestamps per page:
Django's loader was 9% of its CPU, and the C one reads them ten times faster (docs/benchmarks.md).

A Python list parameter (`id = ANY(%s)`: a page's previews, its patients' names, a staff
member's patients) goes to PostgreSQL as an array. psycopg writes it as text by default, and
checks every element against a regular expression to decide whether to quote it: for the ~150
UUIDs of a care team's inbox page that search was 7% of the request's instructions. A list of
UUIDs never needs quoting, and its binary form (16 bytes an element) needs no search at all: such
a list is sent in binary, with the same type (`uuid[]`); every other list as psycopg sends it.
"""

from __future__ import annotations

import datetime
import functools
from typing import Any
from uuid import UUID

import psycopg
from django.db.backends.postgresql import base, operations
from psycopg import abc
from psycopg.abc import AdaptContext
from psycopg.adapt import AdaptersMap, Loader, PyFormat
from psycopg.postgres import types
from psycopg.pq import Format
from psycopg.types.array import BaseListDumper, ListBinaryDumper, ListDumper

from .pool_check import DEFAULT_IDLE_SECONDS, PooledConnectionCheck

TIMESTAMPTZ_OID = types["timestamptz"].oid
# psycopg's own text loader: the C one when psycopg-binary is installed (our lock file has it).
_native_loader = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
assert _native_loader is not None, "psycopg always has a timestamptz loader"
NATIVE_TIMESTAMPTZ_LOADER: type[abc.Loader] = _native_loader


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
    def pool(self) -> Any:
        """Django's connection pool, checking each connection it hands out with
        `PooledConnectionCheck` (pool_check.py), not with psycopg's empty query."""
        pool = super().pool
        if pool is not None and not isinstance(pool._check, PooledConnectionCheck):
            # psycopg's pool takes its check only when made, and Django makes it passing its own
            # (psycopg's, or none): ours goes in as soon as it is made, before it first opens.
            idle_seconds = self.settings_dict.get("POOL_CHECK_IDLE_SECONDS", DEFAULT_IDLE_SECONDS)
            pool._check = PooledConnectionCheck(idle_seconds=idle_seconds)
        return pool

    @property
    def queries(self) -> list[dict[str, Any]]:
        for entry in self.queries_log:
            if isinstance(entry["sql"], DeferredSQL):
                entry["sql"] = str(entry["sql"])
        return super().queries

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        if "context" in params:
            params["context"] = carecore_adapters(
                params["context"], read_utc_natively=self.timezone is datetime.UTC
            )
        return params


class UTCTimestamptzLoader(Loader):
    """psycopg's native `timestamptz` loader, dressed as the UTC loader Django registers.

    Django compares `timezone` with the connection's (`create_cursor`) and registers a loader of
    its own per cursor when they differ. The C loader class cannot be subclassed, so this class
    carries the attribute and hands out the C loader itself: psycopg's C row reader then takes
    its fast path. On a connection in UTC (Django sets it) the values are the same datetimes,
    `tzinfo=datetime.timezone.utc`, as Django's loader gives (tests/common/
    test_postgresql_backend.py)."""

    timezone = datetime.UTC

    def __new__(cls, oid: int, context: AdaptContext | None = None) -> Any:
        return NATIVE_TIMESTAMPTZ_LOADER(oid, context)

    def load(self, data: abc.Buffer) -> datetime.datetime:
        # psycopg gets the native loader from `__new__` and calls its `load`; an instance of this
        # class made some other way (`object.__new__`) reads the same through it.
        native = NATIVE_TIMESTAMPTZ_LOADER(self.oid, self.connection)
        return native.load(data)


class UUIDListBinaryDumper(ListDumper):
    """psycopg's list dumper for `%s` parameters (its text one), except that a list of UUIDs is
    handed to psycopg's binary list dumper: the same `uuid[]`, without the text form's quoting
    search per element. Empty lists, lists of other types and mixed lists, and any list written
    into SQL as a literal, stay as they were."""

    def upgrade(self, obj: list[Any], format: PyFormat) -> BaseListDumper:
        # Only where psycopg chooses the format (`%s`): a literal written into SQL (the query
        # log's `mogrify`, a client-side cursor) asks for text, and gets it.
        if (
            format is PyFormat.AUTO
            and not self.oid
            and isinstance(self._find_list_element(obj, format), UUID)
        ):
            return ListBinaryDumper(self.cls, self._tx).upgrade(obj, format)
        return super().upgrade(obj, format)


@functools.cache
def carecore_adapters(django_adapters: AdaptersMap, *, read_utc_natively: bool) -> AdaptersMap:
    """Django's adapters (one map per time zone setting, itself cached) with lists of UUIDs sent
    in binary and, on a connection in UTC, the native `timestamptz` loader."""
    adapters = AdaptersMap(django_adapters)
    # Registered last, so it is the one `%s` (PyFormat.AUTO) takes for a list.
    adapters.register_dumper(list, UUIDListBinaryDumper)
    if read_utc_natively:
        adapters.register_loader("timestamptz", UTCTimestamptzLoader)
    return adapters
