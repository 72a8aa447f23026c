"""DEBUG's query log under server-side binding (carecore/common/postgresql/base.py): the same
text Django would log, written only when the log is read."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from django.db import connection
from django.db.backends.postgresql.psycopg_any import mogrify
from django.test.utils import CaptureQueriesContext

from carecore.accounts.models import User
from carecore.common.postgresql.base import DeferredSQL


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
