"""End to end: real uvicorn processes (the server of `make run`) and a real WebSocket client.

The servers are other processes on the suite's test database, so these tests commit their data.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect
from websockets.typing import Origin, Subprotocol

from carecore.accounts.services import token_issue
from carecore.common.redis_clients import redis_client

from ..servers import web_command, web_environment
from ..worker import WorkerProcess, purge_broker, running_worker
from .conftest import open_thread

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def announcing_worker() -> Iterator[WorkerProcess]:
    """A real Celery worker on the urgent queue: a reply's feed events are recorded and published
    by the announcer it runs (messaging/announcements.py), woken by the reply."""
    purge_broker()
    with running_worker(log_name="announcer", queues=("urgent",)) as worker:
        yield worker


def _free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_uvicorn(name: str) -> Iterator[str]:
    """One uvicorn process under gunicorn, started as the Procfile starts the web, on the test
    database; yields host:port once /healthz answers."""
    port = _free_port()
    log_dir = ROOT / "var" / "test-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"uvicorn-{name}-{os.getpid()}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            web_command(port),
            cwd=ROOT,
            env=web_environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    host = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(host):
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        yield host
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def _answers(host: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def api_post(
    host: str, path: str, token: str, body: dict[str, Any] | None = None, *, timeout: float = 30
) -> Any:
    request = urllib.request.Request(
        f"http://{host}{path}",
        data=json.dumps(body or {}).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.loads(response.read())


@contextmanager
def open_feed(host: str, token: str) -> Iterator[ClientConnection]:
    ticket = api_post(host, "/api/v1/realtime/tickets/", token)["ticket"]
    with ws_connect(
        f"ws://{host}/ws/events/",
        subprotocols=[Subprotocol("carecore.v1"), Subprotocol(f"ticket.{ticket}")],
        origin=Origin(f"http://{host}"),
        open_timeout=10,
    ) as feed:
        assert feed.subprotocol == "carecore.v1"  # and only that: the ticket is never echoed
        assert json.loads(feed.recv(timeout=10))["type"] == "ready"
        yield feed


def next_event(feed: ClientConnection) -> dict[str, Any]:
    while True:
        message = json.loads(feed.recv(timeout=10))
        if "seq" in message:
            return message


def test_a_reply_posted_over_http_reaches_the_patients_websocket(
    patient, clinician, announcing_worker
):
    thread = open_thread(patient)
    patient_token, clinician_token = (
        token_issue(user=patient.user),
        token_issue(user=clinician.user),
    )
    with running_uvicorn("single") as host, open_feed(host, patient_token) as feed:
        reply = api_post(
            host, f"/api/v1/threads/{thread.id}/messages/", clinician_token, {"body": "Try this."}
        )

        event = next_event(feed)

    assert event["type"] == "message.created"
    assert event["data"]["message_id"] == reply["id"]
    assert "Try this" not in json.dumps(event)


def _until_message_created(feed: ClientConnection) -> None:
    for _ in range(5):  # a reply also updates its thread
        if next_event(feed)["type"] == "message.created":
            return
    raise AssertionError("no message.created")


def test_replies_over_http_publish_on_long_lived_redis_connections(
    patient, clinician, announcing_worker
):
    # Requests run on the server's thread pool and share one cache backend (the announcer's
    # wake-up); the worker's pool process publishes the events on an event loop of its own.
    # Either way the channel-layer and cache connections stay open: run on a loop of their own
    # (async_to_sync) or a cache backend per thread, each reply opened new connections to Redis.
    thread = open_thread(patient)
    patient_token, clinician_token = (
        token_issue(user=patient.user),
        token_issue(user=clinician.user),
    )
    layer_redis = redis_client(settings.CARECORE_REALTIME_REDIS_URL)
    with running_uvicorn("publish-reuse") as host, open_feed(host, patient_token) as feed:
        reply = f"/api/v1/threads/{thread.id}/messages/"
        api_post(host, reply, clinician_token, {"body": "First."})
        _until_message_created(feed)
        before = layer_redis.info("stats")["total_connections_received"]

        for number in range(10):
            api_post(host, reply, clinician_token, {"body": f"Reply {number}."})
            _until_message_created(feed)

        opened = layer_redis.info("stats")["total_connections_received"] - before
    # Throttle, tickets and the odd pool refill may open one or two; not one per reply.
    assert opened <= 3


def test_an_event_caused_on_one_server_reaches_a_client_of_another(
    patient, clinician, announcing_worker
):
    thread = open_thread(patient)
    patient_token, clinician_token = (
        token_issue(user=patient.user),
        token_issue(user=clinician.user),
    )
    with ExitStack() as stack:
        first = stack.enter_context(running_uvicorn("first"))
        second = stack.enter_context(running_uvicorn("second"))
        feed = stack.enter_context(open_feed(first, patient_token))

        reply = api_post(
            second, f"/api/v1/threads/{thread.id}/messages/", clinician_token, {"body": "Hi."}
        )

        event = next_event(feed)

    assert event["type"] == "message.created"
    assert event["data"]["message_id"] == reply["id"]
