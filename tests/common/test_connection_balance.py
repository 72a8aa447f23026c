"""The table of connections per web process (carecore/common/connection_balance.py), and
gunicorn's hooks that keep a row per running process (carecore/web_server.py). The web server
itself, balancing real connections, is in tests/test_web_server.py."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from carecore import web_server
from carecore.common import connection_balance


@pytest.fixture(autouse=True)
def fresh_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The module's state as in a process gunicorn has not forked yet; put back afterwards.
    monkeypatch.setattr(connection_balance, "_table", None)
    monkeypatch.setattr(connection_balance, "_row", None)
    monkeypatch.setattr(connection_balance, "_http_connections", set())
    monkeypatch.setattr(connection_balance, "_closing", 0)
    yield


def _process_holding(row: int | None, connections: int) -> None:
    """Act as the web process of `row` holding `connections` open HTTP connections (the fixture
    puts the module's own set back afterwards)."""
    connection_balance.use_row(row)
    connection_balance._http_connections = {object() for _ in range(connections)}
    connection_balance.publish()


def test_outside_gunicorn_a_process_never_counts_itself_over_its_share() -> None:
    _process_holding(None, 30)

    assert connection_balance.over_share() is False


def test_a_process_over_its_share_and_one_at_it() -> None:
    connection_balance.create_table()
    busy = connection_balance.claim_row([])
    quiet = connection_balance.claim_row([busy])
    _process_holding(quiet, 12)
    _process_holding(busy, 20)

    assert connection_balance.over_share() is True

    _process_holding(quiet, 16)
    _process_holding(busy, 16)
    assert connection_balance.over_share() is False


def test_the_share_is_rounded_up() -> None:
    connection_balance.create_table()
    first = connection_balance.claim_row([])
    second = connection_balance.claim_row([first])
    _process_holding(second, 16)
    _process_holding(first, 17)

    assert connection_balance.over_share() is False  # 33 over 2 processes: 17 each


def test_a_process_that_has_just_started_counts_towards_the_share() -> None:
    connection_balance.create_table()
    old = connection_balance.claim_row([])
    connection_balance.claim_row([old])  # forked, no connection yet
    _process_holding(old, 32)

    assert connection_balance.over_share() is True


def test_connections_already_told_to_close_are_not_counted_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connection_balance.create_table()
    busy = connection_balance.claim_row([])
    quiet = connection_balance.claim_row([busy])
    _process_holding(quiet, 14)
    _process_holding(busy, 18)
    monkeypatch.setattr(connection_balance, "_closing", 2)

    assert connection_balance.over_share() is False


def test_rows_are_claimed_once_and_freed_when_their_process_exits() -> None:
    connection_balance.create_table()
    first = connection_balance.claim_row([])
    second = connection_balance.claim_row([first])
    assert (first, second) == (0, 1)

    connection_balance.free_row(first)
    _process_holding(second, 10)
    # The exited process's connections are gone: the one left holds all of them, its share.
    assert connection_balance.over_share() is False
    assert connection_balance.claim_row([second]) == 0


def test_a_process_beyond_the_tables_rows_takes_no_part() -> None:
    connection_balance.create_table()
    taken = range(connection_balance.MAX_PROCESSES)

    assert connection_balance.claim_row(taken) is None


def test_gunicorns_hooks_keep_a_row_per_running_process() -> None:
    server = SimpleNamespace(WORKERS={})
    web_server.on_starting(server)
    first, second = SimpleNamespace(), SimpleNamespace()
    web_server.pre_fork(server, first)
    server.WORKERS[101] = first
    web_server.pre_fork(server, second)
    server.WORKERS[102] = second
    assert (first.connection_row, second.connection_row) == (0, 1)

    web_server.post_fork(server, second)
    assert connection_balance._row == 1

    # The first process exits and gunicorn forks its replacement into the row it left.
    del server.WORKERS[101]
    web_server.child_exit(server, first)
    replacement = SimpleNamespace()
    web_server.pre_fork(server, replacement)
    assert replacement.connection_row == 0
