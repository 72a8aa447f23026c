"""The check psycopg's connection pool runs on a connection before handing it out.

psycopg's own check (`ConnectionPool.check_connection`, what Django passes when
CONN_HEALTH_CHECKS is on) sends an empty query and waits for the answer: one more round trip to
PostgreSQL on every request and every Celery task, whose own queries follow at once. Under the
hot-path load benchmark that was one in seven of the inbox's round trips (docs/benchmarks.md,
"Hot paths: a pooled connection checked without a round trip").

A connection the server has dropped (a restart, a failover, pg_terminate_backend,
idle_session_timeout, a proxy closing it) is told so by the server, which sends its last
message and closes the socket: the socket becomes readable, which asking the kernel shows at
once, without the server. So the empty query is sent only when it can tell something the socket
cannot:

- the socket has something to read (a healthy idle connection has nothing to say; whatever it
  is, the empty query reads it, and fails if the connection is gone);
- the connection has not been handed out by this check before (just opened, or opened before
  this process's pool knew it);
- it has been idle longer than `idle_seconds`: a connection lost silently (a firewall forgetting
  an idle connection, a host gone without a word) shows nothing on its socket, and an idle one
  is where that happens.

A connection the server closes between this check and the request's first query fails that
query, as it would after psycopg's check too: no check closes that window.
"""

from __future__ import annotations

import select
import threading
import time
import weakref

from psycopg import Connection
from psycopg_pool import ConnectionPool

# A connection idle longer than this is asked with an empty query (settings:
# DATABASES[...]["POOL_CHECK_IDLE_SECONDS"]).
DEFAULT_IDLE_SECONDS = 1.0


class PooledConnectionCheck:
    """The `check` of psycopg's ConnectionPool (given to Django's pool by our backend, base.py)."""

    def __init__(self, *, idle_seconds: float) -> None:
        self.idle_seconds = idle_seconds
        # When each connection was last handed out by this check. A request holds its connection
        # for far less than `idle_seconds`, so "since handed out" stands in for "since returned"
        # (erring towards checking). Weak: a connection the pool closes is forgotten with it.
        self._handed_out_at: weakref.WeakKeyDictionary[Connection, float] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def __call__(self, connection: Connection) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._handed_out_at.get(connection)
        if last is None or now - last > self.idle_seconds or _has_input(connection):
            # Raises if the connection is broken: the pool then discards it and takes another.
            ConnectionPool.check_connection(connection)
        with self._lock:
            self._handed_out_at[connection] = now


def _has_input(connection: Connection) -> bool:
    """Whether the connection's socket has anything to read, or has been closed or has failed,
    asked of the kernel without waiting."""
    poller = select.poll()
    poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))
