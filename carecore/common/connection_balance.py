"""Keep-alive connections spread evenly over the web processes (docs/architecture.md, "How HTTP
is served").

Each web process listens on a socket of its own on the one port (`SO_REUSEPORT`) and the kernel
hashes each new connection to one of them (carecore/web_server.py). A hash splits 32 connections
20/12 about as often as 16/16, and a keep-alive connection stays with the process it landed on
for as long as it is open. Each process runs its requests' Python on one core (the GIL), so
when both are busy the one holding 20 connections answers each of them about 20/12 = 1.7 times
slower than the other, and its requests make the tail of the latencies.

So every process writes how many connections it holds into a small table in shared memory,
which gunicorn's master makes before it forks them (`create_table`, `claim_row`, `use_row`,
`free_row`, called from carecore/web_server.py's server hooks). A process holding more than its
share (all the processes' connections over the number of processes, rounded up) answers the next
request on one of its connections with `Connection: close`: the client opens a new one, which
the kernel hashes again, until the split is even. A connection is closed only after a complete
answer that says so, which every HTTP client takes as the end of that connection, not an error.

A process outside gunicorn (a test's server, `manage.py runserver`) has no row and never closes.
"""

from __future__ import annotations

import ctypes
import multiprocessing
from collections.abc import Iterable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# A row per web process; gunicorn can be told to add processes while it runs (TTIN), hence room
# for more than it starts with. A process that finds no free row takes no part.
MAX_PROCESSES = 64
_NO_PROCESS = -1

# Shared by gunicorn's master and every web process it forks (an anonymous shared mapping): the
# connections each process holds, or _NO_PROCESS for a free row.
_table: Any = None
# This process's row, its open HTTP connections (a WebSocket feed's is not counted: it costs
# next to nothing while open) and how many of those it has told to close. Only the event loop's
# thread uses them.
_row: int | None = None
_http_connections: set[Any] = set()
_closing = 0


def create_table() -> None:
    """In gunicorn's master, before any process is forked."""
    global _table
    _table = multiprocessing.RawArray(ctypes.c_int32, [_NO_PROCESS] * MAX_PROCESSES)


def claim_row(rows_in_use: Iterable[int | None]) -> int | None:
    """In the master, for a process about to be forked: the first row no running process holds."""
    if _table is None:
        return None
    taken = set(rows_in_use)
    for row in range(MAX_PROCESSES):
        if row not in taken:
            _table[row] = 0
            return row
    return None


def free_row(row: int | None) -> None:
    """In the master, once a process has exited: its connections are gone with it."""
    if _table is not None and row is not None:
        _table[row] = _NO_PROCESS


def use_row(row: int | None) -> None:
    """In a web process, just after the fork."""
    global _row
    _row = row


def publish() -> int:
    """Writes this process's open HTTP connections into its row; returns their number."""
    held = len(_http_connections)
    if _table is not None and _row is not None:
        _table[_row] = held
    return held


def over_share() -> bool:
    """Whether this process holds more HTTP connections than its share, not counting those it
    has already told to close."""
    if _table is None or _row is None:
        return False
    held = publish() - _closing
    counts = [count for count in _table if count != _NO_PROCESS]
    share = -(-sum(counts) // len(counts))  # rounded up: 33 over 2 processes is 17 each
    return held > share


class BalancedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol (httptools) that publishes the process's HTTP connections as they
    open and close, and closes its connection after the answer when the process is over its share.
    It sets the request's `keep_alive` as uvicorn does for a client's `Connection: close`; the
    answer then says so, and uvicorn closes the connection once it is sent."""

    _told_to_close = False

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        _http_connections.add(self)
        publish()

    def connection_lost(self, exc: Exception | None) -> None:
        global _closing
        super().connection_lost(exc)
        _http_connections.discard(self)
        if self._told_to_close:
            _closing -= 1
        publish()

    def handle_websocket_upgrade(self) -> None:
        # The connection now belongs to uvicorn's WebSocket protocol, which this one never hears
        # of again (its connection_lost is not called).
        super().handle_websocket_upgrade()
        _http_connections.discard(self)
        publish()

    def on_headers_complete(self) -> None:
        global _closing
        super().on_headers_complete()
        cycle = self.cycle
        # No new request (a WebSocket upgrade), or one that closes anyway: nothing to do.
        if cycle is None or cycle.scope is not self.scope or not cycle.keep_alive:
            return
        if not self._told_to_close and over_share():
            cycle.keep_alive = False
            self._told_to_close = True
            _closing += 1
