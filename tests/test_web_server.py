"""The web server as the Procfile starts it (carecore/web_server.py): gunicorn runs
WEB_CONCURRENCY uvicorn processes, each accepting on a listening socket of its own, so the
connections of a burst are spread across the processes instead of landing on whichever woke
first."""

from __future__ import annotations

import http.client
import os
from collections import Counter
from contextlib import ExitStack, closing
from pathlib import Path

import pytest

from tests.servers import running_web

pytestmark = pytest.mark.django_db(transaction=True)

LISTEN = "0A"  # TCP states as /proc/net/tcp writes them
ESTABLISHED = "01"


def _socket_inodes(port: int, state: str) -> set[int]:
    """Inodes of the sockets in `state` whose local port is `port` (the server's side)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == state:
                inodes.add(int(fields[9]))
    return inodes


def _owners(inodes: set[int]) -> dict[int, int]:
    """The process holding each socket: inode -> pid."""
    owners = {}
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            links = [os.readlink(fd) for fd in fd_dir.iterdir()]
        except OSError:  # a process that ended, or one not ours to read
            continue
        for link in links:
            if link.startswith("socket:[") and int(link[8:-1]) in inodes:
                owners[int(link[8:-1])] = int(fd_dir.parent.name)
    return owners


def test_each_web_process_accepts_on_a_socket_of_its_own_and_a_burst_is_spread() -> None:
    with running_web("two-processes", {"WEB_CONCURRENCY": "2"}) as base:
        port = int(base.rsplit(":", 1)[1])
        listeners = _owners(_socket_inodes(port, LISTEN))
        assert len(listeners) == 2
        processes = set(listeners.values())
        assert len(processes) == 2, "one listening socket per process"

        with ExitStack() as stack:
            # 32 keep-alive connections opened at once, as a load balancer's pool or a busy
            # browser session would; each is answered once and stays open.
            connections = [
                stack.enter_context(closing(http.client.HTTPConnection("127.0.0.1", port)))
                for _ in range(32)
            ]
            for connection in connections:
                connection.connect()
            for connection in connections:
                connection.request("GET", "/healthz")
                response = connection.getresponse()
                response.read()
                assert response.status == 200

            served = Counter(_owners(_socket_inodes(port, ESTABLISHED)).values())

    assert set(served) == processes
    assert sum(served.values()) == 32
    # The kernel hashes each connection to one of the two sockets: a split worse than 4/28 has a
    # chance of about 1 in 400,000. The one socket `uvicorn --workers` shares gave 2/30 and 0/32.
    assert min(served.values()) >= 4, served


def test_the_answers_name_no_server_software() -> None:
    with running_web("server-header") as base:
        connection = http.client.HTTPConnection(base.removeprefix("http://"))
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        connection.close()

    assert response.status == 200
    assert response.getheader("Server") is None
