"""`/ws/events/`: one user's event feed over a WebSocket.

Handshake: the client offers the subprotocols `carecore.v1` and `ticket.<ticket>` (a ticket from
POST /api/v1/realtime/tickets/; browsers cannot set headers on a WebSocket, and a ticket in the
URL would end up in proxy logs). The server accepts with `carecore.v1` only, then consumes the
ticket. Close codes: 4400 bad request (no `carecore.v1`, a malformed `after`: `_parse_after`),
4401 missing, expired or used ticket, 4410 the replay range is no longer kept (reload, then
reconnect without `after`), 1013 the feed is unavailable for now (Redis down: reconnect later
with `after`).

Order of work on connect, which is what makes the feed lossless: join the user's group first,
then replay from the database after `after`, then pass on live events, dropping the ones
already sent (seq <= last sent) and filling any hole from the database (a live copy lost in
Redis, or published out of order by two processes). A heartbeat re-checks the database too, so
a dropped last event arrives within one heartbeat (docs/realtime.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
from typing import Any
from urllib.parse import parse_qs
from uuid import UUID

import redis
import redis.asyncio
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from carecore.accounts.models import User
from carecore.common.fields import ASCII_DIGITS, BIGINT_MAX
from carecore.common.redis_clients import async_redis_client

from . import selectors
from .services import TICKET_PREFIX, event_payload, user_group

logger = logging.getLogger("carecore.realtime")

PROTOCOL = "carecore.v1"
TICKET_PROTOCOL_PREFIX = "ticket."
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_PRUNED = 4410
CLOSE_TRY_AGAIN_LATER = 1013
REPLAY_BATCH = 500
# channels_redis forgets a group member after `group_expiry` (a day); renew well before that.
GROUP_RENEW_SECONDS = 3600
_TICKET = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


async def ticket_redeem(ticket: str) -> str | None:
    """The user id a ticket was issued to, consuming it (GETDEL: only one caller ever gets it)."""
    if not _TICKET.fullmatch(ticket):
        return None
    client = async_redis_client(
        settings.CARECORE_REALTIME_REDIS_URL, socket_connect_timeout=2, socket_timeout=2
    )
    try:
        value = await client.getdel(f"{TICKET_PREFIX}{ticket}")
    finally:
        await client.aclose()
    if not value:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _active_user_id(user_id: str) -> UUID | None:
    user = User.objects.filter(pk=user_id, is_active=True).values_list("pk", flat=True).first()
    return user


def _parse_after(query_string: bytes) -> tuple[bool, int | None]:
    """(valid, after): `after` is optional and a whole number from 0 written with the digits 0-9,
    at most a bigint (as on the event list). `isdigit()` let "٣" through as 3 and "²" on to
    int(), which raised; an empty `?after=` was dropped by parse_qs and read as "no after"."""
    values = parse_qs(query_string.decode("latin1"), keep_blank_values=True).get("after")
    if not values:
        return True, None
    if not ASCII_DIGITS.fullmatch(values[0]):
        return False, None
    digits = values[0].lstrip("0") or "0"
    # Compared by length first: int() never reads a thousand digits (it refuses over 4300).
    if len(digits) > len(str(BIGINT_MAX)) or int(digits) > BIGINT_MAX:
        return False, None
    return True, int(digits)


class EventFeedConsumer(AsyncWebsocketConsumer):
    user_id: UUID | None = None
    last_seq = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self._lock = asyncio.Lock()
        self._heartbeat: asyncio.Task[None] | None = None
        try:
            await super().__call__(scope, receive, send)
        except redis.RedisError as error:
            # The channel layer lost Redis: end the socket in order; the client reconnects with
            # `after` and the replay covers whatever was published meanwhile.
            logger.warning(
                "real-time feed lost Redis (%s); closing", type(error).__name__, exc_info=True
            )
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})
        finally:
            self._stop_heartbeat()

    # --- handshake -------------------------------------------------------------------------

    async def connect(self) -> None:
        offered = list(self.scope.get("subprotocols") or [])
        if PROTOCOL not in offered:
            await self.accept()
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        await self.accept(subprotocol=PROTOCOL)
        tickets = [p for p in offered if p.startswith(TICKET_PROTOCOL_PREFIX)]
        owner = await ticket_redeem(tickets[0][len(TICKET_PROTOCOL_PREFIX) :]) if tickets else None
        user_id = await database_sync_to_async(_active_user_id)(owner) if owner else None
        if user_id is None:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        valid, after = _parse_after(self.scope.get("query_string", b""))
        if not valid:
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        # Join before reading anything: an event committed from now on reaches us live, one
        # committed before is in the database; both is fine (duplicates are dropped by seq).
        await self.channel_layer.group_add(user_group(user_id), self.channel_name)
        self.user_id = user_id
        async with self._lock:
            if after is None:
                self.last_seq = await database_sync_to_async(selectors.latest_seq)(user_id=user_id)
            elif await database_sync_to_async(selectors.feed_resumable)(
                user_id=user_id, after=after
            ):
                self.last_seq = after
                await self._catch_up()
            else:
                await self.close(code=CLOSE_PRUNED)
                return
            await self._send_json({"type": "ready", "at": _now(), "data": {"seq": self.last_seq}})
        self._heartbeat = asyncio.create_task(self._beat())

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # The feed is one-way; whatever a client sends is ignored.
        return

    async def disconnect(self, code: int) -> None:
        self._stop_heartbeat()
        if self.user_id is not None:
            with contextlib.suppress(redis.RedisError):
                await self.channel_layer.group_discard(user_group(self.user_id), self.channel_name)

    # --- events --------------------------------------------------------------------------

    async def feed_event(self, message: dict[str, Any]) -> None:
        """A live copy from the group: pass it on in order, or fill the hole before it."""
        async with self._lock:
            await self._pass_on(message["event"])

    async def feed_events(self, message: dict[str, Any]) -> None:
        """Several live copies in one group message (a publish's events for this user, in order:
        one Redis round trip for a batch of announced messages)."""
        async with self._lock:
            for event in message["events"]:
                await self._pass_on(event)

    async def _pass_on(self, event: dict[str, Any]) -> None:
        """Send one live copy if it is the next; read the hole from the database if it is
        further ahead (caller holds the lock)."""
        if event["seq"] <= self.last_seq:
            return
        if event["seq"] == self.last_seq + 1:
            await self._send_event(event)
        else:
            await self._catch_up()

    async def _catch_up(self) -> None:
        """Send every committed event after the last one sent (caller holds the lock).

        Each database call goes through database_sync_to_async, which closes (returns to the
        pool) the thread's connection before and after: an idle socket holds no connection.
        """
        assert self.user_id is not None
        while True:
            batch = await database_sync_to_async(selectors.events_after)(
                user_id=self.user_id, after=self.last_seq, limit=REPLAY_BATCH
            )
            for event in batch:
                await self._send_event(event_payload(event))
            if len(batch) < REPLAY_BATCH:
                return

    async def _send_event(self, event: dict[str, Any]) -> None:
        await self._send_json(event)
        self.last_seq = event["seq"]

    async def _send_json(self, payload: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(payload, separators=(",", ":")))

    # --- heartbeat -------------------------------------------------------------------------

    async def _beat(self) -> None:
        """Every few seconds: a heartbeat message (keeps proxies from closing an idle socket and
        lets the client notice a dead one), re-check the database for an event whose copy was
        lost, and now and then renew the group membership (channels_redis expires it)."""
        assert self.user_id is not None
        interval = settings.CARECORE_REALTIME_HEARTBEAT_SECONDS
        loop = asyncio.get_running_loop()
        joined_at = loop.time()
        # A random first beat: sockets that connected together (after a deploy or a Redis
        # outage) must not all hit Redis and the database in the same instant ever after.
        first = interval * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not security
        try:
            await asyncio.sleep(first)
            while True:
                async with self._lock:
                    await self._send_json({"type": "heartbeat", "at": _now(), "data": {}})
                    if loop.time() - joined_at > GROUP_RENEW_SECONDS:
                        await self.channel_layer.group_add(
                            user_group(self.user_id), self.channel_name
                        )
                        joined_at = loop.time()
                    await self._catch_up()
                await asyncio.sleep(interval)
        except redis.RedisError as error:
            logger.warning("real-time heartbeat lost Redis (%s); closing", type(error).__name__)
            with contextlib.suppress(Exception):
                await self.close(code=CLOSE_TRY_AGAIN_LATER)
        except OSError:
            return  # the client went away mid-send; its disconnect ends the consumer

    def _stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None


def _now() -> str:
    return timezone.now().isoformat()
