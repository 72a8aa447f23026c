"""Real-time fixtures: a clean Redis database for tickets and the channel layer, a thread of the
patient's, and helpers to open `/ws/events/` with WebsocketCommunicator.

WebSocket tests are async and commit their data (`django_db(transaction=True)`): the consumer
reads the database from other threads, through its own connections.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from asgiref.sync import sync_to_async
from django.conf import settings

from carecore.accounts.models import Patient, User
from carecore.realtime.routing import websocket_application
from carecore.realtime.services import ticket_issue
from messaging import services as messaging
from messaging.models import Thread

from ..outbox import announce
from .communicator import WebsocketCommunicator

ORIGIN = b"http://testserver"


@pytest.fixture(autouse=True)
def _clean_realtime_redis() -> Iterator[None]:
    redis.Redis.from_url(settings.CARECORE_REALTIME_REDIS_URL).flushdb()
    yield


def open_thread(patient: Patient) -> Thread:
    thread = messaging.thread_open(
        actor=patient.user, subject="Flare on my arms", category="clinical", body="Itchy again."
    ).thread
    announce()  # as the worker would (messaging/announcements.py)
    return thread


@pytest.fixture
def thread(patient: Patient) -> Thread:
    return open_thread(patient)


async def connect(
    user: User | None,
    *,
    after: int | str | None = None,
    ticket: str | None = None,
    subprotocols: list[str] | None = None,
    origin: bytes | None = ORIGIN,
) -> tuple[WebsocketCommunicator, bool, Any]:
    """Open the feed as `user` (with a fresh ticket unless one is given)."""
    if ticket is None and user is not None:
        ticket = (await sync_to_async(ticket_issue)(user=user)).ticket
    if subprotocols is None:
        subprotocols = ["carecore.v1", f"ticket.{ticket}"]
    path = "/ws/events/" + (f"?after={after}" if after is not None else "")
    headers = [(b"host", b"testserver")] + ([(b"origin", origin)] if origin else [])
    communicator = WebsocketCommunicator(
        websocket_application, path, headers=headers, subprotocols=subprotocols
    )
    connected, detail = await communicator.connect(timeout=5)
    return communicator, connected, detail


async def next_message(communicator: WebsocketCommunicator, timeout: float = 5) -> dict[str, Any]:
    output = await communicator.receive_output(timeout)
    assert output["type"] == "websocket.send", output
    return json.loads(output["text"])


async def ready(communicator: WebsocketCommunicator) -> list[dict[str, Any]]:
    """Events replayed before the `ready` message (which must come)."""
    replayed = []
    while (message := await next_message(communicator))["type"] != "ready":
        replayed.append(message)
    return replayed


async def events(communicator: WebsocketCommunicator, count: int) -> list[dict[str, Any]]:
    """The next `count` events (heartbeats skipped)."""
    received: list[dict[str, Any]] = []
    while len(received) < count:
        message = await next_message(communicator)
        if "seq" in message:
            received.append(message)
    return received


async def quiet_events(
    communicator: WebsocketCommunicator, timeout: float = 0.5
) -> list[dict[str, Any]]:
    """Every event that arrives until nothing has come for `timeout` seconds."""
    received = []
    while not await communicator.receive_nothing(timeout=timeout):
        message = await next_message(communicator)
        if "seq" in message:
            received.append(message)
    return received


async def close_code(communicator: WebsocketCommunicator, timeout: float = 5) -> int:
    output = await communicator.receive_output(timeout)
    assert output["type"] == "websocket.close", output
    # The client goes too, as a browser would: the consumer ends inside this test's event loop
    # instead of being left waiting for it, to be cancelled when the loop closes.
    await communicator.disconnect()
    return int(output.get("code", 1000))
