"""Writes for the real-time feed: recording events (`event_publish`), tickets, pruning.

Apps call `event_publish` / `event_publish_for_patient` from their own services, INSIDE the
transaction of the change the event announces (one call per place). Each recipient's events are
numbered under that user's `EventSequence` row lock, so a number is only handed out once the
previous one committed: a reader that has seen seq n has seen every seq below it. After commit
the rows are copied to each user's channel-layer group; if Redis is down the copy is lost and the
socket's replay from the database delivers the event instead (docs/realtime.md).

Locking: `event_publish` takes the sequence row locks of its recipients, in user-id order, and
they are held until the caller's transaction ends. Call it late in the transaction, and with the
widest audience first when one transaction announces to several audiences, so later calls only
re-take locks the transaction already holds (no lock-order deadlocks).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from uuid import UUID

import redis
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from carecore.accounts.models import Patient, User
from carecore.accounts.selectors import care_team_user_ids
from carecore.common.redis_clients import redis_client
from carecore.common.server_loop import run_on_server_loop

from .models import EventSequence, EventType, FeedEvent

logger = logging.getLogger("carecore.realtime")

# What each event type may carry: ids, numbers, booleans and status words, nothing else.
EVENT_FIELDS: dict[str, frozenset[str]] = {
    EventType.MESSAGE_CREATED: frozenset(
        {"thread_id", "message_id", "patient_id", "sender_kind", "internal"}
    ),
    EventType.MESSAGE_READ: frozenset({"thread_id", "patient_id", "reader_kind"}),
    EventType.THREAD_UPDATED: frozenset(
        {"thread_id", "patient_id", "status", "priority", "assignee_id"}
    ),
    EventType.NOTIFICATION_CREATED: frozenset({"notification_id", "event", "urgent"}),
    EventType.APPOINTMENT_UPDATED: frozenset(
        {"appointment_id", "patient_id", "clinician_id", "status", "change"}
    ),
    EventType.REVIEW_CREATED: frozenset({"review_id", "response_id", "patient_id", "urgent"}),
    EventType.CARE_PLAN_PUBLISHED: frozenset({"care_plan_id", "patient_id", "supersedes_id"}),
}
# A status word or an id: lowercase, no spaces, so free text cannot slip through.
_WORD = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,63}$")


def _clean(key: str, value: object) -> object:
    # The message names the field, never the value: a caller's bug could have put text in it.
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, str) and _WORD.fullmatch(value):
        return value
    raise ValueError(f"event field {key!r} must be an id, a number, a boolean or a status word")


@dataclass(frozen=True)
class NewEvent:
    """An event about to be recorded: its type and its data (checked on construction)."""

    type: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        allowed = EVENT_FIELDS.get(self.type)
        if allowed is None:
            raise ValueError("unknown event type")
        unknown = set(self.data) - allowed
        if unknown:
            raise ValueError(f"event fields not allowed for {self.type}: {sorted(unknown)}")
        object.__setattr__(
            self, "data", {key: _clean(key, value) for key, value in self.data.items()}
        )


def user_group(user_id: UUID | str) -> str:
    """The channel-layer group of one user's sockets."""
    return f"feed.user.{UUID(str(user_id)).hex}"


def event_payload(event: FeedEvent) -> dict[str, Any]:
    """The wire shape of an event (WebSocket and GET /api/v1/events/)."""
    return {"seq": event.seq, "type": event.type, "at": event.at.isoformat(), "data": event.data}


# --- recording -------------------------------------------------------------------------------

_NEXT_NUMBERS = f"""
    INSERT INTO {EventSequence._meta.db_table} AS seq (user_id, last_seq)
    SELECT wanted.user_id, wanted.count
    FROM unnest(%s::uuid[], %s::bigint[]) AS wanted(user_id, count)
    ORDER BY wanted.user_id
    ON CONFLICT (user_id) DO UPDATE SET last_seq = seq.last_seq + EXCLUDED.last_seq
    RETURNING user_id, last_seq, clock_timestamp()
"""  # noqa: S608 - the table name is ours, every value is a parameter


def _take_numbers(counts: Mapping[UUID, int]) -> dict[UUID, tuple[int, datetime]]:
    """Reserve `count` numbers for each user; returns (last number, database time) per user.

    One statement: an upsert of each user's sequence row, `last_seq = last_seq + count ...
    RETURNING`, in user-id order. A row already locked by another open transaction makes us wait
    until it commits or rolls back, which is what keeps the numbers gapless in commit order.
    """
    users = sorted(counts, key=str)
    with connection.cursor() as cursor:
        cursor.execute(_NEXT_NUMBERS, [users, [counts[user] for user in users]])
        return {UUID(str(row[0])): (row[1], row[2]) for row in cursor.fetchall()}


def _record(events_by_user: Mapping[UUID, Sequence[NewEvent]]) -> list[FeedEvent]:
    wanted = {user: events for user, events in events_by_user.items() if events}
    if not wanted:
        return []
    numbers = _take_numbers({user: len(events) for user, events in wanted.items()})
    rows: list[FeedEvent] = []
    for user, events in wanted.items():
        last, at = numbers[user]
        first = last - len(events) + 1
        rows.extend(
            FeedEvent(user_id=user, seq=first + offset, type=event.type, data=event.data, at=at)
            for offset, event in enumerate(events)
        )
    FeedEvent.objects.bulk_create(rows)
    payloads = [(row.user_id, event_payload(row)) for row in rows]
    transaction.on_commit(lambda: broadcast(payloads), robust=True)
    return rows


# atomic without a savepoint: inside the caller's transaction it adds no queries; called on its
# own, the numbers and the rows still commit (or roll back) together, so no number is lost.
@transaction.atomic(savepoint=False)
def event_publish(*, user_ids: Iterable[UUID | str], events: Sequence[NewEvent]) -> list[FeedEvent]:
    """Record `events` for every user in `user_ids` (each user numbers them in order) and send
    them to those users' sockets once the caller's transaction commits. Returns the rows."""
    users = {UUID(str(user_id)) for user_id in user_ids}
    return _record(dict.fromkeys(users, events))


@transaction.atomic(savepoint=False)
def event_publish_each(*, events_by_user: Mapping[UUID, Sequence[NewEvent]]) -> list[FeedEvent]:
    """Like `event_publish`, with different events for each user (e.g. their own notification)."""
    return _record({UUID(str(user)): events for user, events in events_by_user.items()})


def patient_audience(*, patient: Patient, patient_sees: bool = True) -> list[UUID]:
    """Who is told about a patient's things: the active members of their care team and, unless
    `patient_sees` is off (internal notes, staff-only work), the patient. Break-glass readers
    are not members, so nothing is pushed to them."""
    audience = set(care_team_user_ids(patient_id=patient.id))
    if patient_sees:
        audience.add(patient.user_id)
    return sorted(audience, key=str)


def event_publish_for_patient(
    *, patient: Patient, events: Sequence[NewEvent], patient_sees: bool = True
) -> list[FeedEvent]:
    """`event_publish` to `patient_audience` (one query for the care team)."""
    return event_publish(
        user_ids=patient_audience(patient=patient, patient_sees=patient_sees), events=events
    )


# --- publishing after commit ------------------------------------------------------------------

PUBLISH_CONCURRENCY = 16


async def _group_send_all(payloads: list[tuple[UUID, dict[str, Any]]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    # One user's events go out together, in order; different users' in parallel.
    by_user: dict[UUID, list[dict[str, Any]]] = {}
    for user, payload in payloads:
        by_user.setdefault(user, []).append(payload)

    # A few at a time: a wide audience must not take more Redis connections than the pool has.
    slots = asyncio.Semaphore(PUBLISH_CONCURRENCY)

    async def send_in_order(user: UUID, items: list[dict[str, Any]]) -> None:
        # One group message per user, its events in order (the consumer's `feed_events`).
        async with slots:
            await layer.group_send(user_group(user), {"type": "feed.events", "events": items})

    await asyncio.wait_for(
        asyncio.gather(*(send_in_order(user, items) for user, items in by_user.items())),
        timeout=settings.CARECORE_REALTIME_PUBLISH_TIMEOUT_SECONDS,
    )


def broadcast(payloads: list[tuple[UUID, dict[str, Any]]]) -> None:
    """Copy committed events to their users' groups. Best effort by design: the rows are
    committed, and a socket that misses the copy gets the event by replay."""
    try:
        # A moment more than the publish's own timeout, which cancels it first.
        run_on_server_loop(
            _group_send_all,
            payloads,
            timeout=settings.CARECORE_REALTIME_PUBLISH_TIMEOUT_SECONDS + 1,
        )
    except Exception as error:
        logger.warning(
            "real-time publish failed (%s); %d event(s) left to replay",
            type(error).__name__,
            len(payloads),
        )


# --- tickets ------------------------------------------------------------------------------------

TICKET_PREFIX = "realtime:ticket:"


@dataclass(frozen=True)
class Ticket:
    ticket: str
    expires_at: datetime


@lru_cache(maxsize=4)
def _redis(url: str) -> redis.Redis:
    return redis_client(
        url, socket_connect_timeout=2, socket_timeout=2, retry_on_error=[redis.ConnectionError]
    )


def ticket_redis() -> redis.Redis:
    return _redis(settings.CARECORE_REALTIME_REDIS_URL)


def ticket_issue(*, user: User) -> Ticket:
    """A random, single-use ticket to open one WebSocket as `user`, valid for a few seconds.

    Only the user id is stored, under the ticket, with Redis expiring it; the socket consumes it
    with GETDEL, so it works once even when two connections race with it.
    """
    ticket = secrets.token_urlsafe(32)
    lifetime = settings.CARECORE_REALTIME_TICKET_SECONDS
    ticket_redis().set(f"{TICKET_PREFIX}{ticket}", str(user.id), ex=lifetime)
    return Ticket(ticket=ticket, expires_at=timezone.now() + timedelta(seconds=lifetime))


# --- retention ------------------------------------------------------------------------------

_PRUNE_BATCH = f"""
    DELETE FROM {FeedEvent._meta.db_table}
    WHERE id IN (
        SELECT id FROM {FeedEvent._meta.db_table} WHERE at < %s ORDER BY at LIMIT %s
    )
"""  # noqa: S608 - the table name is ours, every value is a parameter


def events_prune(*, now: datetime | None = None, max_batches: int = 1000) -> int:
    """Delete events older than the retention, in short transactions of a batch each (so the
    sockets and writers never wait on one long delete); returns how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.CARECORE_REALTIME_RETENTION_DAYS)
    batch = settings.CARECORE_REALTIME_PRUNE_BATCH
    deleted = 0
    for _ in range(max_batches):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_PRUNE_BATCH, [cutoff, batch])
            count = cursor.rowcount
        deleted += count
        if count < batch:
            break
    return deleted
