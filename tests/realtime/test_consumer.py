"""`/ws/events/` through Channels' WebsocketCommunicator, against the suite's real Redis (and a
throwaway one for the outage test) and real PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import close_old_connections, transaction
from django.test import override_settings

from carecore.accounts.models import Patient, User
from carecore.realtime.models import EventType, FeedEvent
from carecore.realtime.services import NewEvent, event_payload, event_publish, user_group
from messaging import services as messaging
from tests.local_servers import ThrowawayRedis
from tests.outbox import announce

from .conftest import close_code, connect, events, next_message, quiet_events, ready

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def update(status: str = "open") -> NewEvent:
    return NewEvent(EventType.THREAD_UPDATED, {"thread_id": uuid.uuid4(), "status": status})


@database_sync_to_async
def publish(user: User, count: int = 1) -> None:
    for _ in range(count):
        event_publish(user_ids=[user.id], events=[update()])


# --- the handshake ------------------------------------------------------------------------------


async def test_a_good_ticket_is_accepted_with_the_protocol_and_never_echoed(patient):
    communicator, connected, subprotocol = await connect(patient.user)

    assert connected
    assert subprotocol == "carecore.v1"
    assert await ready(communicator) == []
    await communicator.disconnect()


async def test_a_bad_ticket_is_accepted_then_closed_4401(patient):
    communicator, connected, _ = await connect(None, ticket="not-a-ticket-we-ever-issued-0123")

    assert connected
    assert await close_code(communicator) == 4401


async def test_a_missing_ticket_is_closed_4401(patient):
    communicator, _, _ = await connect(None, subprotocols=["carecore.v1"])

    assert await close_code(communicator) == 4401


async def test_a_used_ticket_is_closed_4401(patient):
    ticket = (await sync_to_async(_ticket)(patient.user)).ticket
    first, _, _ = await connect(patient.user, ticket=ticket)
    await ready(first)

    second, connected, _ = await connect(patient.user, ticket=ticket)

    assert connected
    assert await close_code(second) == 4401
    await first.disconnect()


async def test_an_expired_ticket_is_closed_4401(patient, settings):
    settings.CARECORE_REALTIME_TICKET_SECONDS = 1
    ticket = (await sync_to_async(_ticket)(patient.user)).ticket
    await asyncio.sleep(2.1)  # Redis expires it; nothing in our code has to

    communicator, _, _ = await connect(patient.user, ticket=ticket)

    assert await close_code(communicator) == 4401


async def test_a_deactivated_users_ticket_is_closed_4401(patient):
    ticket = (await sync_to_async(_ticket)(patient.user)).ticket
    await database_sync_to_async(User.objects.filter(pk=patient.user_id).update)(is_active=False)

    communicator, _, _ = await connect(patient.user, ticket=ticket)

    assert await close_code(communicator) == 4401


async def test_without_the_protocol_it_closes_4400(patient):
    ticket = (await sync_to_async(_ticket)(patient.user)).ticket

    communicator, _, _ = await connect(patient.user, subprotocols=[f"ticket.{ticket}"])

    assert await close_code(communicator) == 4400


@pytest.mark.parametrize(
    "after",
    [
        "-3",
        "",  # parse_qs dropped an empty value: it was read as "no after"
        "%D9%A3",  # "٣", an Arabic-Indic three: isdigit() and int() took it as 3
        "%C2%B2",  # "²": isdigit() let it through to int(), which raised
        "%2B1",  # "+1"
        "+1",  # " 1" once the query string is decoded
        "1_0",
        "1.0",
        "abc",
        str(2**63),  # beyond a bigint
        "1" * 5000,  # more digits than int() reads
    ],
    ids=[
        "negative",
        "empty",
        "arabic-indic digit",
        "superscript two",
        "plus sign",
        "space",
        "underscore",
        "decimal",
        "letters",
        "beyond a bigint",
        "5000 digits",
    ],
)
async def test_a_malformed_after_closes_4400(patient, after):
    communicator, _, _ = await connect(patient.user, after=after)

    assert await close_code(communicator) == 4400


async def test_an_after_with_leading_zeros_is_a_number(patient):
    communicator, connected, _ = await connect(patient.user, after="000")

    assert connected
    assert await ready(communicator) == []
    await communicator.disconnect()


@pytest.mark.parametrize("origin", [b"https://evil.example", None])
async def test_a_foreign_or_missing_origin_is_refused_at_the_handshake(patient, origin):
    communicator, connected, _ = await connect(patient.user, origin=origin)

    assert not connected
    await communicator.disconnect()  # the denied consumer ends in this test's loop


def _ticket(user: User) -> Any:
    from carecore.realtime.services import ticket_issue

    return ticket_issue(user=user)


# --- who receives what ----------------------------------------------------------------------------


@database_sync_to_async
def _open_thread(patient: Patient) -> Any:
    thread = messaging.thread_open(
        actor=patient.user, subject="Flare", category="clinical", body="Itchy again."
    ).thread
    announce()  # as the woken worker would (messaging/announcements.py)
    return thread


@database_sync_to_async
def _send(actor: User, thread_id: uuid.UUID, body: str, internal: bool = False) -> Any:
    sent = messaging.message_send(actor=actor, thread_id=thread_id, body=body, internal=internal)
    announce()
    return sent


async def test_a_patient_receives_a_replys_event_and_never_an_internal_note_or_another_patients(
    patient, other_patient, clinician, other_clinician
):
    thread = await _open_thread(patient)
    other_thread = await _open_thread(other_patient)
    communicator, _, _ = await connect(patient.user)
    await ready(communicator)

    note = await _send(clinician.user, thread.id, "Consider a swab.", internal=True)
    await _send(other_clinician.user, other_thread.id, "Your bill is fixed.")
    reply = await _send(clinician.user, thread.id, "Try the cream twice a day.")

    received = await quiet_events(communicator)
    assert [event["type"] for event in received] == [
        "message.created",
        "thread.updated",
        "notification.created",
    ]
    assert received[0]["data"]["message_id"] == str(reply.message.id)
    assert {event["data"].get("thread_id", str(thread.id)) for event in received} == {
        str(thread.id)
    }
    assert str(note.message.id) not in str(received)
    await communicator.disconnect()


async def test_staff_receive_internal_notes(patient, clinician, coordinator):
    thread = await _open_thread(patient)
    communicator, _, _ = await connect(coordinator)
    await ready(communicator)

    note = await _send(clinician.user, thread.id, "Consider a swab.", internal=True)

    (event,) = await events(communicator, 1)
    assert event["type"] == "message.created"
    assert event["data"]["message_id"] == str(note.message.id)
    assert event["data"]["internal"] is True
    await communicator.disconnect()


# --- never losing one -----------------------------------------------------------------------------


async def test_resuming_after_event_2_of_5_replays_exactly_3_4_5(patient):
    communicator, _, _ = await connect(patient.user)
    await ready(communicator)
    await publish(patient.user, 2)
    assert [event["seq"] for event in await events(communicator, 2)] == [1, 2]
    await communicator.disconnect()

    await publish(patient.user, 3)
    resumed, _, _ = await connect(patient.user, after=2)

    assert [event["seq"] for event in await ready(resumed)] == [3, 4, 5]
    await publish(patient.user)
    assert [event["seq"] for event in await events(resumed, 1)] == [6]
    assert await quiet_events(resumed) == []
    await resumed.disconnect()


async def test_resuming_from_a_pruned_range_closes_4410(patient):
    await publish(patient.user, 3)
    await database_sync_to_async(FeedEvent.objects.filter(seq=1).delete)()

    communicator, _, _ = await connect(patient.user, after=0)

    assert await close_code(communicator) == 4410


def _in_thread(target: Callable[..., Any], *args: Any) -> threading.Thread:
    def run() -> None:
        try:
            target(*args)
        finally:
            close_old_connections()

    worker = threading.Thread(target=run)
    worker.start()
    return worker


async def test_two_transactions_that_commit_out_of_order_leave_no_gap(patient, other_patient):
    """The later transaction started first; with an auto-increment id it would have taken the
    lower number and committed after a reader had moved past it. The sequence lock makes the
    second numbering wait for the first commit, so numbers follow commit order."""
    communicator, _, _ = await connect(patient.user)
    await ready(communicator)
    late_started = threading.Event()
    first_numbered = threading.Event()
    first_may_commit = threading.Event()
    log: list[str] = []

    def late() -> None:  # starts first, commits second
        with transaction.atomic():
            Patient.objects.select_for_update().get(pk=other_patient.pk)  # its own change
            late_started.set()
            first_numbered.wait(5)
            event_publish(user_ids=[patient.user_id], events=[update("late")])
            log.append("late numbered")

    def early() -> None:  # starts second, commits first
        late_started.wait(5)
        with transaction.atomic():
            event_publish(user_ids=[patient.user_id], events=[update("early")])
            first_numbered.set()
            first_may_commit.wait(5)
            log.append("early commits")

    workers = [_in_thread(late), _in_thread(early)]
    await asyncio.sleep(0.5)
    assert log == []  # the late one waits on the sequence lock the early one holds
    first_may_commit.set()
    for worker in workers:
        await sync_to_async(worker.join)(10)

    assert log == ["early commits", "late numbered"]
    received = await events(communicator, 2)
    assert [(e["seq"], e["data"]["status"]) for e in received] == [(1, "early"), (2, "late")]
    await communicator.disconnect()


def copies_lost():
    """While active, events still commit but their live copies go to another Redis database,
    where no socket listens: as if Redis had dropped them."""
    from django.conf import settings

    from carecore.settings.redis_urls import redis_database_url

    elsewhere = {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [redis_database_url(settings.REDIS_URL, 13)]},
    }
    return override_settings(CHANNEL_LAYERS={"default": elsewhere})


async def test_a_live_copy_that_arrives_ahead_of_a_lost_one_is_preceded_by_the_lost_one(patient):
    communicator, _, _ = await connect(patient.user)
    await ready(communicator)
    # Both commit while the copies go to another Redis database: the socket misses them.
    with copies_lost():
        await publish(patient.user, 2)
    assert await quiet_events(communicator, timeout=0.3) == []

    # Only event 2's copy arrives: the consumer fills the hole from the database first.
    second = await database_sync_to_async(FeedEvent.objects.get)(user=patient.user, seq=2)
    await get_channel_layer().group_send(
        user_group(patient.user_id), {"type": "feed.event", "event": event_payload(second)}
    )

    assert [event["seq"] for event in await events(communicator, 2)] == [1, 2]
    await communicator.disconnect()


async def test_several_events_in_one_group_message_are_passed_on_in_order_once(patient):
    communicator, _, _ = await connect(patient.user)
    await ready(communicator)
    with copies_lost():
        await publish(patient.user, 3)
    rows = await database_sync_to_async(list)(
        FeedEvent.objects.filter(user=patient.user).order_by("seq")
    )
    first, _, third = (event_payload(row) for row in rows)

    # A publisher's batch for this user (a duplicate and a hole, for the sake of the test).
    await get_channel_layer().group_send(
        user_group(patient.user_id), {"type": "feed.events", "events": [first, first, third]}
    )

    assert [event["seq"] for event in await events(communicator, 3)] == [1, 2, 3]
    assert await quiet_events(communicator, timeout=0.3) == []
    await communicator.disconnect()


async def test_the_heartbeat_pings_and_delivers_an_event_whose_copy_was_lost(patient, settings):
    settings.CARECORE_REALTIME_HEARTBEAT_SECONDS = 0.5
    communicator, _, _ = await connect(patient.user)
    await ready(communicator)
    with copies_lost():
        await publish(patient.user)

    heartbeat = await next_message(communicator)
    assert heartbeat["type"] == "heartbeat"
    assert "seq" not in heartbeat
    assert [event["seq"] for event in await events(communicator, 1)] == [1]
    await communicator.disconnect()


# --- Redis down -----------------------------------------------------------------------------------


@pytest.fixture
def throwaway_redis() -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis()
    server.start()
    layers = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": server.url,
                        "socket_connect_timeout": 1,
                        "retry_on_error": [redis.ConnectionError],
                    }
                ]
            },
        }
    }
    with override_settings(CHANNEL_LAYERS=layers, CARECORE_REALTIME_REDIS_URL=server.url):
        yield server
    server.stop()


async def test_an_event_published_while_redis_is_down_arrives_by_replay_after_reconnecting(
    patient, throwaway_redis
):
    communicator, _, _ = await connect(patient.user)
    await ready(communicator)
    await publish(patient.user)
    assert [event["seq"] for event in await events(communicator, 1)] == [1]

    await sync_to_async(throwaway_redis.stop)()
    # The socket is closed "try again later" once the channel layer loses Redis...
    assert await close_code(communicator, timeout=20) == 1013
    # ...and the change still commits: its copy is lost, its row is not.
    await publish(patient.user)
    assert await database_sync_to_async(FeedEvent.objects.filter(user=patient.user).count)() == 2

    await sync_to_async(throwaway_redis.start)()
    resumed, _, _ = await connect(patient.user, after=1)

    assert [event["seq"] for event in await ready(resumed)] == [2]
    await resumed.disconnect()
