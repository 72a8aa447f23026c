"""The pool's check (carecore/common/postgresql/pool_check.py): a connection the server dropped is
never handed out, and a healthy one in steady use is handed out without a round trip.

Each test runs a psycopg pool of its own against the suite's PostgreSQL, with the check the
settings give Django's pool, and reads what a connection sent to the server from libpq's own
protocol trace."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
from django.conf import settings
from django.db import connection, connections
from psycopg_pool import ConnectionPool

from carecore.common.postgresql.pool_check import PooledConnectionCheck

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def make_pool() -> Iterator[Callable[[PooledConnectionCheck], ConnectionPool]]:
    pools: list[ConnectionPool] = []
    params = connection.get_connection_params()
    params["autocommit"] = True

    def make(check: PooledConnectionCheck) -> ConnectionPool:
        pool = ConnectionPool(kwargs=params, min_size=1, max_size=1, check=check, open=True)
        pool.wait()
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


def _django_pool() -> ConnectionPool:
    pool = connections["default"].pool  # type: ignore[attr-defined]  # PostgreSQL's wrapper has one
    assert isinstance(pool, ConnectionPool)
    return pool


def _sent_by_check(check: PooledConnectionCheck, conn: psycopg.Connection) -> str:
    """libpq's trace of what the check sent the server."""
    with tempfile.TemporaryFile("w+") as trace:
        conn.pgconn.trace(trace.fileno())
        try:
            check(conn)
        finally:
            conn.pgconn.untrace()
        trace.seek(0)
        return trace.read()


def _terminate(backend_pid: int) -> None:
    # With a timeout, pg_terminate_backend returns once the backend has exited (its end of the
    # socket closed); without, as soon as it is signalled, and the check could run before the
    # backend had gone (seen once in the suite: the dropped connection handed out again).
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s::int, 10000)", [backend_pid])
        assert cursor.fetchone() == (True,)


def test_djangos_pool_checks_with_this_check_and_not_psycopgs_own():
    connection.ensure_connection()
    check = _django_pool()._check
    assert isinstance(check, PooledConnectionCheck)
    assert check.idle_seconds == settings.DATABASES["default"]["POOL_CHECK_IDLE_SECONDS"] == 1.0
    # Django would otherwise hand psycopg's pool psycopg's own check, the empty query.
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is False


@pytest.fixture
def conn() -> Iterator[psycopg.Connection]:
    with psycopg.Connection.connect(**connection.get_connection_params(), autocommit=True) as conn:
        yield conn


def test_a_connection_in_steady_use_is_handed_out_without_a_round_trip(conn):
    check = PooledConnectionCheck(idle_seconds=60)
    first = _sent_by_check(check, conn)
    again = _sent_by_check(check, conn)
    assert "Query" in first  # never handed out by this check before: asked
    assert again == ""  # handed out a moment ago, nothing on its socket: nothing sent


def test_a_connection_idle_longer_than_the_limit_is_asked(conn):
    check = PooledConnectionCheck(idle_seconds=0)
    _sent_by_check(check, conn)
    assert "Query" in _sent_by_check(check, conn)


def test_a_connection_with_something_to_read_is_asked(conn):
    check = PooledConnectionCheck(idle_seconds=60)
    check(conn)
    conn.execute("LISTEN pool_check_test")
    with psycopg.Connection.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("NOTIFY pool_check_test")
    time.sleep(0.2)  # the notification reaches the socket
    assert "Query" in _sent_by_check(check, conn)
    assert _sent_by_check(check, conn) == ""  # read by the empty query: quiet again


def test_a_connection_the_server_dropped_a_moment_ago_is_replaced(make_pool):
    check = PooledConnectionCheck(idle_seconds=60)
    pool = make_pool(check)
    with pool.connection() as conn:
        dropped = conn.info.backend_pid
    _terminate(dropped)  # as a restart or a failover would, right after a request

    with pool.connection() as conn:  # the check sees the closed socket and asks: refused
        assert conn.info.backend_pid != dropped
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert pool.get_stats().get("connections_lost", 0) == 1


def test_a_dropped_connection_fails_the_check_itself(conn):
    check = PooledConnectionCheck(idle_seconds=60)
    check(conn)  # handed out once: remembered
    _terminate(conn.info.backend_pid)
    with pytest.raises(psycopg.OperationalError):
        check(conn)


def test_djangos_pool_replaces_a_connection_dropped_between_two_requests(django_user_model):
    """Through Django's own pool, as the web threads and Celery tasks use it: the connection of
    one request is killed after it went back to the pool, and the next query runs on another."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        dropped = cursor.fetchone()[0]
    connection.close()  # back to the pool, as at the end of a request
    with psycopg.Connection.connect(**connection.get_connection_params()) as other:
        other.execute("SELECT pg_terminate_backend(%s::int, 10000)", [dropped])  # as _terminate

    assert django_user_model.objects.count() >= 0  # no error: not run on the dropped one
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != dropped
