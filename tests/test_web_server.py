"""The web server as the Procfile starts it (carecore/web_server.py): gunicorn runs
WEB_CONCURRENCY uvicorn processes, each accepting on a listening socket of its own, so the
connections of a burst are spread across the processes instead of landing on whichever woke
first; a process holding more than its share closes some after their answers, until the split
is even (carecore/common/connection_balance.py)."""

from __future__ import annotations

import http.client
import os
import re
from collections import Counter
from contextlib import ExitStack, closing
from pathlib import Path

import pytest

from carecore.accounts.services import token_issue
from tests.realtime.test_uvicorn import open_feed
from tests.servers import running_web, status_of
from tests.worker import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

LISTEN = "0A"  # TCP states as /proc/net/tcp writes them
ESTABLISHED = "01"


def _socket_inodes(port: int, state: str, *, client_port: int | None = None) -> set[int]:
    """Inodes of the sockets in `state` whose local port is `port` (the server's side), only
    the one of the client's `client_port` if given."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == state and client_port in (None, remote_port):
                inodes.add(int(fields[9]))
    return inodes


def _owners(inodes: set[int]) -> dict[int, int]:
    """The process holding each socket: inode -> pid."""
    owners = {}
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            fds = list(fd_dir.iterdir())
        except OSError:  # a process that ended, or one not ours to read
            continue
        for fd in fds:
            try:
                link = os.readlink(fd)
            except OSError:  # closed since listed: a busy server opens and closes files
                continue
            if link.startswith("socket:[") and int(link[8:-1]) in inodes:
                owners[int(link[8:-1])] = int(fd_dir.parent.name)
    return owners


def _serve_rounds(port: int, rounds: int) -> tuple[Counter[int], int, int]:
    """32 keep-alive connections, opened at once as a load balancer's pool or a load test
    opens them, each asking once a round, for up to `rounds` rounds or until a round in which
    no answer closed its connection; a connection told to close (`Connection: close`) is opened
    again for its next request, as every HTTP client does. Returns how many connections each
    process holds at the end, how many answers closed theirs, and the rounds it took."""
    closed = rounds_served = 0
    with ExitStack() as stack:
        connections = [
            stack.enter_context(closing(http.client.HTTPConnection("127.0.0.1", port)))
            for _ in range(32)
        ]
        for connection in connections:
            connection.connect()
        while rounds_served < rounds:
            rounds_served += 1
            closed_this_round = 0
            for connection in connections:
                connection.request("GET", "/healthz")
                response = connection.getresponse()
                response.read()
                assert response.status == 200
                closed_this_round += response.getheader("Connection") == "close"
            closed += closed_this_round
            if not closed_this_round:
                break
        held = Counter(_owners(_socket_inodes(port, ESTABLISHED)).values())
    return held, closed, rounds_served


def test_each_web_process_accepts_on_a_socket_of_its_own_and_connections_are_spread_evenly() -> (
    None
):
    with running_web("two-processes", {"WEB_CONCURRENCY": "2"}) as base:
        port = int(base.rsplit(":", 1)[1])
        listeners = _owners(_socket_inodes(port, LISTEN))
        assert len(listeners) == 2
        processes = set(listeners.values())
        assert len(processes) == 2, "one listening socket per process"

        held, closed, rounds = _serve_rounds(port, rounds=10)

    # The kernel hashes each connection to one of the two sockets (20/12 is as likely as
    # 16/16); a process over its share closed some of its connections after their answers
    # and the clients' new ones were hashed again, until each process held 16 and a whole
    # round closed nothing.
    assert set(held) == processes
    assert sorted(held.values()) == [16, 16], held
    assert rounds < 10, f"still closing connections after {rounds} rounds ({closed} closes)"


def test_websocket_feeds_do_not_count_towards_a_process_share(patient) -> None:
    """A feed costs next to nothing while open: a process holding more of them than the other
    must still take its half of the HTTP connections."""
    token = token_issue(user=patient.user)
    with running_web("feeds", {"WEB_CONCURRENCY": "2"}) as base, ExitStack() as feeds:
        port = int(base.rsplit(":", 1)[1])
        feeds_held = _feeds_on_one_process(base, port, token, feeds, count=4)

        held, _, rounds = _serve_rounds(port, rounds=10)

    http_held = sorted(held[process] - feeds_held[process] for process in held)
    assert http_held == [16, 16], (held, feeds_held)
    assert rounds < 10


def _feeds_on_one_process(
    base: str, port: int, token: str, feeds: ExitStack, *, count: int
) -> Counter[int]:
    """`count` open feeds, all on the process the first landed on: a feed that the kernel
    hashed to the other process is closed again (waiting for a hash to split them unevenly by
    chance once took 40 feeds and still gave 20/20). Returns the feeds each process holds."""
    kept: Counter[int] = Counter()
    for _ in range(10 * count):
        with ExitStack() as this_feed:
            feed = this_feed.enter_context(open_feed(base.removeprefix("http://"), token))
            client_port = feed.local_address[1]
            (process,) = _owners(
                _socket_inodes(port, ESTABLISHED, client_port=client_port)
            ).values()
            if not kept or process in kept:
                kept[process] += 1
                feeds.enter_context(this_feed.pop_all())
        if kept and next(iter(kept.values())) == count:
            return kept
    pytest.fail(f"{10 * count} feeds and still not {count} on one process: {kept}")


def test_a_single_web_process_keeps_every_connection_open() -> None:
    with running_web("one-process", {"WEB_CONCURRENCY": "1"}) as base:
        held, closed, _ = _serve_rounds(int(base.rsplit(":", 1)[1]), rounds=3)

    assert closed == 0
    assert sum(held.values()) == 32


def test_the_answers_name_no_server_software() -> None:
    with running_web("server-header") as base:
        connection = http.client.HTTPConnection(base.removeprefix("http://"))
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        connection.close()

    assert response.status == 200
    assert response.getheader("Server") is None


def test_a_request_line_has_its_time_and_no_query_string(tmp_path: Path) -> None:
    """`make run` writes one line per request to a file (the Procfile's --access-logfile), not
    through honcho; a query string may carry what someone typed (a patient's name), so no
    request line keeps one, on stdout or in a file."""
    request_log = tmp_path / "web-access.log"
    with running_web("request-log", options=("--access-logfile", str(request_log))) as base:
        assert status_of(f"{base}/healthz?q=Jane+Roe") == 200
        assert wait_until(lambda: bool(_healthz_lines(request_log)))

    # running_web's own polls, then the one asked here
    for line in _healthz_lines(request_log):
        assert re.fullmatch(REQUEST_LINE, line), line
    assert "Jane" not in request_log.read_text()


REQUEST_LINE = (
    r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] "  # its time
    r'127\.0\.0\.1:\d+ - "GET /healthz HTTP/1\.1" 200'
)


def _lines_of(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def _healthz_lines(path: Path) -> list[str]:
    return [line for line in _lines_of(path).splitlines() if "/healthz" in line]
