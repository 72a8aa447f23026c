"""Our PostgreSQL backend (carecore/common/postgresql/base.py): DEBUG's query log under
server-side binding, the same text Django would log, written only when the log is read;
timestamps read by psycopg's native loader, the same values as Django's own loader gives; and
lists of UUIDs sent in binary, read back as written."""

from __future__ import annotations

import datetime
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.backends.postgresql.psycopg_any import mogrify, register_tzloader
from django.test.utils import CaptureQueriesContext
from psycopg.adapt import Loader, PyFormat, Transformer
from psycopg.postgres import types
from psycopg.pq import Format

from carecore.accounts.models import User
from carecore.common.postgresql.base import (
    NATIVE_TIMESTAMPTZ_LOADER,
    TIMESTAMPTZ_OID,
    DeferredSQL,
    UTCTimestamptzLoader,
)
from tests.factories import UserFactory

UUID_ARRAY_OID = types["uuid"].array_oid


def test_the_log_shows_the_parameters_written_in(db):
    wanted = uuid4()
    with CaptureQueriesContext(connection) as queries:
        User.objects.filter(id=wanted, email="o'brien@example.com").exists()

    [query] = queries.captured_queries
    assert isinstance(query["sql"], str)
    assert f"'{wanted.hex}'::uuid" in query["sql"]
    assert "'o''brien@example.com'" in query["sql"]


def test_an_entry_is_written_out_only_when_read(db):
    with CaptureQueriesContext(connection):
        User.objects.filter(email="someone@example.com").exists()
        pending = connection.queries_log[-1]["sql"]
        assert isinstance(pending, DeferredSQL)

        read = connection.queries[-1]["sql"]

    assert "'someone@example.com'" in read
    assert connection.queries_log[-1]["sql"] == read  # written once, kept


def test_the_text_is_what_django_itself_writes(db):
    sql = "SELECT %s::uuid, %s::text[], %s::jsonb, %s::timestamptz"
    params: list[Any] = [uuid4(), ["a", "b's"], '{"k": [1, 2]}', "2026-12-01T10:00:00+00:00"]
    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        cursor.execute(sql, params)
    [query] = queries.captured_queries

    assert query["sql"] == mogrify(sql, params, connection)


def test_a_closed_connection_still_reads_as_text():
    entry = DeferredSQL("SELECT %s", ["x"], _closed_driver())
    assert str(entry) == "SELECT %s -- parameters: ['x']"


def _closed_driver():
    class Closed:
        closed = True

    return Closed()


# --- timestamps read by psycopg's native loader ----------------------------------------------


def _django_loader_reading(sql: str) -> list[tuple[Any, ...]]:
    """The rows of `sql` as Django's own UTC loader reads them, on the same connection."""
    with connection.cursor() as cursor:
        register_tzloader(datetime.UTC, cursor.cursor)
        cursor.execute(sql)
        return list(cursor.fetchall())


TIMESTAMPS = """
    SELECT '2026-12-01 19:00:00.123456+00'::timestamptz + make_interval(secs => n),
           '1999-01-01 00:00:00+05:30'::timestamptz,
           '0001-01-01 00:00:00+00'::timestamptz,
           NULL::timestamptz
    FROM generate_series(0, 99) AS n
"""


def test_timestamps_read_the_same_as_with_djangos_loader_in_utc(db):
    with connection.cursor() as cursor:
        cursor.execute(TIMESTAMPS)
        native = list(cursor.fetchall())

    assert native == _django_loader_reading(TIMESTAMPS)
    assert native[0][0] == datetime.datetime(2026, 12, 1, 19, 0, 0, 123456, tzinfo=datetime.UTC)
    assert native[0][1] == datetime.datetime(1998, 12, 31, 18, 30, tzinfo=datetime.UTC)
    for row in native:
        assert row[0].tzinfo is datetime.UTC and row[1].tzinfo is datetime.UTC
        assert row[3] is None


def test_models_read_back_the_instant_they_wrote(db):
    written = datetime.datetime(2026, 7, 1, 14, 30, 15, 987654, tzinfo=ZoneInfo("Europe/London"))
    user = UserFactory()
    User.objects.filter(pk=user.pk).update(last_login=written)

    read = User.objects.get(pk=user.pk).last_login

    assert read == written
    assert read is not None and read.tzinfo is datetime.UTC


def test_the_connection_and_its_cursors_use_the_native_loader(db):
    connection.ensure_connection()
    with connection.cursor() as cursor:
        loader_class = cursor.cursor.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)

    # Django keeps the connection's loader (its `timezone` matches) instead of registering its
    # own per cursor, and what psycopg instantiates is its C loader.
    assert loader_class is UTCTimestamptzLoader
    native = loader_class(TIMESTAMPTZ_OID, connection.connection)
    assert type(native) is NATIVE_TIMESTAMPTZ_LOADER
    assert type(native).__module__.startswith("psycopg_binary")


def test_the_dressed_loader_reads_like_the_native_one_if_ever_made_itself(db):
    connection.ensure_connection()
    dressed = object.__new__(UTCTimestamptzLoader)
    Loader.__init__(dressed, TIMESTAMPTZ_OID, connection.connection)
    native = NATIVE_TIMESTAMPTZ_LOADER(TIMESTAMPTZ_OID, connection.connection)

    text = b"2026-12-01 19:00:00.123456+00"
    assert dressed.load(text) == native.load(text)
    assert dressed.load(text).tzinfo is datetime.UTC


# --- lists of UUIDs sent in binary ---------------------------------------------------------------


def _dumped(value: Any) -> tuple[Format, int]:
    """How the connection sends `value` as a `%s` parameter: (wire format, type oid)."""
    connection.ensure_connection()
    dumper = Transformer(connection.connection).get_dumper(value, PyFormat.AUTO)
    return dumper.format, dumper.oid


def test_a_list_of_uuids_goes_binary_as_uuid_array(db):
    assert _dumped([uuid4(), None, uuid4()]) == (Format.BINARY, UUID_ARRAY_OID)
    assert _dumped([[uuid4()], [uuid4()]]) == (Format.BINARY, UUID_ARRAY_OID)


def test_other_lists_go_as_psycopg_sends_them(db):
    assert _dumped(["a", "b"])[0] == Format.TEXT
    assert _dumped([1, 2])[0] == Format.TEXT
    assert _dumped([]) == (Format.TEXT, 0)  # unknown: PostgreSQL takes the type from the query
    assert _dumped([None])[0] == Format.TEXT


def test_lists_of_uuids_are_read_as_written(db):
    first, second = uuid4(), uuid4()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::uuid[], %s = ANY(%s), %s::uuid[], %s::uuid[]",
            [[first, None, second], second, [first, second], [[first], [second]], []],
        )
        row = cursor.fetchone()

    assert row == ([first, None, second], True, [[first], [second]], [])


def test_the_orm_finds_rows_by_a_list_of_uuids(db):
    users = UserFactory.create_batch(3)
    wanted = [users[0].pk, users[2].pk, uuid4()]

    found = User.objects.filter(pk__in=wanted).values_list("pk", flat=True)
    found_by_array = User.objects.extra(where=["id = ANY(%s)"], params=[wanted])

    assert set(found) == {users[0].pk, users[2].pk}
    assert {user.pk for user in found_by_array} == {users[0].pk, users[2].pk}


def test_the_query_log_writes_a_uuid_list_out_as_before(db):
    wanted = [uuid4(), uuid4()]
    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        cursor.execute("SELECT 1 WHERE %s::uuid = ANY(%s)", [wanted[0], wanted])
    [query] = queries.captured_queries

    assert query["sql"] == mogrify(
        "SELECT 1 WHERE %s::uuid = ANY(%s)", [wanted[0], wanted], connection
    )
    assert wanted[1].hex in query["sql"]
