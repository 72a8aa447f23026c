"""Telling people of a sent message, in a worker: the outbox rows and the feed events.

A send (services.message_send) writes one `Announcement` row under the thread's lock, in its own
transaction, and wakes the worker once it commits. The worker (`announcements_deliver`, Celery
task `messaging.announce_messages` on the urgent queue) takes the waiting rows in batches and, in
one transaction per batch, finds everyone to tell (the care teams, the patients, on-call for a
red flag, with their preferences and quiet hours), writes the outbox rows, records the feed
events and deletes the rows. So:

- exactly once: a batch's outbox rows, events and deletion commit together, and a worker killed
  mid-batch leaves the rows for the next run (the outbox's own idempotency keys, the message id,
  hold if a batch is ever repeated);
- nothing lost: a lost wake-up (broker or Redis down) is caught by beat's sweep every
  `CARECORE_MESSAGING_ANNOUNCE_SWEEP_SECONDS`; a rolled-back send wrote no row;
- one order: batches run one at a time (an advisory lock) in the order the rows were written, so
  each user's feed numbers a thread's messages in the order they were sent;
- a send costs one INSERT instead of the fan-out (about half of its work, docs/benchmarks.md),
  and a batch costs the same dozen queries whether it announces one message or hundreds.

Ids and status words only, as everywhere in notifications and events (docs/messaging.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from celery import current_app
from django.conf import settings
from django.db import connection, transaction

from carecore.accounts.models import CareTeamMember, User
from carecore.accounts.selectors import on_call_user_ids
from carecore.common.shared_cache import shared_cache
from carecore.notifications import links
from carecore.notifications.models import Event, Notification
from carecore.notifications.services import (
    Recipient,
    in_app_events,
    notification_recipients,
    notification_rows,
    outbox_insert,
)
from carecore.realtime.services import NewEvent, event_publish_each

from .models import Announcement, Notify, Thread

logger = logging.getLogger("carecore.messaging")

# The Celery task that runs `announcements_deliver` (tasks.announce_messages).
ANNOUNCE_TASK = "messaging.announce_messages"
# Set while a wake-up is queued or an announcer runs, so a burst of sends queues one task, not
# one each. It expires on its own, so a lost task never silences later wake-ups for longer.
WAKE_KEY = "messaging:announce:wake"
WAKE_KEY_SECONDS = 5
# One announcing batch at a time (in the order the rows were written); a second announcer
# does not wait for the lock but leaves the work to the one that holds it.
_ANNOUNCER_LOCK = "SELECT pg_try_advisory_xact_lock(hashtextextended('messaging.announce', 0))"
# How long one task announces before it hands over to a new one (well inside the time limits).
RUN_SECONDS = 20.0


def announcement_record(
    *,
    thread: Thread,
    message_id: UUID,
    notify: Notify,
    page_on_call: bool,
    feed_events: Sequence[tuple[NewEvent, bool]],
) -> None:
    """Record, in the send's transaction, that a message is to be announced: `feed_events` are
    (event, whether the patient is told too) in order. The worker is woken once it commits."""
    Announcement.objects.create(
        thread=thread,
        message_id=message_id,
        notify=notify,
        page_on_call=page_on_call,
        feed_events=[
            {"type": event.type, "data": dict(event.data), "patient_sees": patient_sees}
            for event, patient_sees in feed_events
        ],
    )
    transaction.on_commit(announcements_wake, robust=True)


def announcements_wake() -> None:
    """Queue the announcing task, unless one is queued already. Never raises: if Redis or the
    broker is down, beat's sweep announces the message a few seconds later."""
    if current_app.conf.task_always_eager:  # tests that run tasks inline: so does this
        announcements_deliver()
        return
    try:
        if shared_cache().add(WAKE_KEY, 1, timeout=WAKE_KEY_SECONDS):
            # By name, routed by CELERY_TASK_ROUTES (the urgent queue): tasks.py imports this
            # module, and a web process need not load every task module to publish one.
            current_app.send_task(ANNOUNCE_TASK)
    except Exception as error:
        logger.warning(
            "announcement wake-up failed (%s); the sweep announces the message",
            type(error).__name__,
        )


def announcements_deliver(*, batch: int | None = None, linger: float | None = None) -> int:
    """Announce every waiting message, a batch per transaction, until none is left; returns how
    many this call announced.

    One announcer runs at a time: one that finds another in a batch returns at once, because the
    running one looks again before it stops. While it runs the wake-up mark stays set, so sends
    queue no more tasks; while messages keep coming it waits `linger` seconds between batches,
    so each batch tells people of more messages for the same dozen queries (a lone message is
    announced at once). With nothing left it clears the mark, then looks once more, for a send
    that committed while the mark was still set and so queued nothing. After `RUN_SECONDS` it
    hands over to a new task, so no run nears the task time limits.
    """
    size = batch or settings.CARECORE_MESSAGING_ANNOUNCE_BATCH
    if linger is None:
        linger = settings.CARECORE_MESSAGING_ANNOUNCE_LINGER_SECONDS
    stop_at = time.monotonic() + RUN_SECONDS
    total = 0
    while True:
        announced = _announce_batch(size)
        if announced is None:  # another announcer is in a batch: it will see what is left
            return total
        total += announced
        if announced == size:
            continue
        if time.monotonic() >= stop_at:
            _clear_wake_mark()
            announcements_wake()
            return total
        if announced:
            time.sleep(linger)
            continue
        _clear_wake_mark()
        if not Announcement.objects.exists():
            return total


def _clear_wake_mark() -> None:
    try:
        shared_cache().delete(WAKE_KEY)
    except Exception as error:  # it expires on its own; the sweep covers the meantime
        logger.warning("announcement wake-up mark not cleared (%s)", type(error).__name__)


@transaction.atomic
def _announce_batch(size: int) -> int | None:
    """Announce up to `size` waiting messages, oldest first; None if another announcer holds
    the lock (batches run one at a time, so a thread's messages are announced in order)."""
    with connection.cursor() as cursor:
        cursor.execute(_ANNOUNCER_LOCK)
        (locked,) = cursor.fetchone()
    if not locked:
        return None
    pending = list(
        Announcement.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("thread__patient")
        .order_by("id")[:size]
    )
    if not pending:
        return 0
    paged = _on_call(pending)
    team_by_patient, recipients = _people(pending, paged)
    created = outbox_insert(
        [
            row
            for announcement in pending
            for row in _outbox_rows(
                announcement,
                told=_told(announcement, team_by_patient),
                paged=paged.get(announcement.id, []),
                recipients=recipients,
            )
        ]
    )
    event_publish_each(events_by_user=_feed(pending, team_by_patient, created))
    Announcement.objects.filter(id__in=[announcement.id for announcement in pending]).delete()
    return len(pending)


def _on_call(pending: Sequence[Announcement]) -> dict[int, list[UUID]]:
    """Who is paged for each red-flagged message: on-call for its patient (rare, a query or two
    each)."""
    by_patient: dict[UUID, list[UUID]] = {}
    paged: dict[int, list[UUID]] = {}
    for announcement in pending:
        if announcement.page_on_call:
            patient_id = announcement.thread.patient_id
            if patient_id not in by_patient:
                by_patient[patient_id] = on_call_user_ids(patient_id=patient_id)
            paged[announcement.id] = by_patient[patient_id]
    return paged


def _people(
    pending: Sequence[Announcement], paged: dict[int, list[UUID]]
) -> tuple[dict[UUID, list[UUID]], dict[UUID, Recipient]]:
    """Every patient's care team (active members) and everyone to tell, with their preferences
    and quiet hours, in two queries whatever the batch: (care team by patient, recipients)."""
    patients = {announcement.thread.patient_id for announcement in pending}
    memberships = list(
        CareTeamMember.objects.filter(care_team__patient_id__in=patients).values_list(
            "care_team__patient_id", "user_id"
        )
    )
    wanted = {user_id for _, user_id in memberships}
    wanted |= {announcement.thread.patient.user_id for announcement in pending}
    wanted |= {user_id for user_ids in paged.values() for user_id in user_ids}
    recipients = {
        recipient.user.id: recipient
        for recipient in notification_recipients(
            users=User.objects.filter(pk__in=wanted),
            events=[Event.MESSAGE_RECEIVED, Event.TRIAGE_URGENT],
        )
    }
    team_by_patient: dict[UUID, list[UUID]] = {patient: [] for patient in patients}
    for patient_id, user_id in memberships:
        if user_id in recipients:  # active accounts only
            team_by_patient[patient_id].append(user_id)
    for team in team_by_patient.values():
        team.sort(key=str)
    return team_by_patient, recipients


def _told(announcement: Announcement, team_by_patient: dict[UUID, list[UUID]]) -> list[UUID]:
    """Told `message_received`: the care team for a patient's message, the patient for a staff
    reply they see, nobody for an internal note."""
    if announcement.notify == Notify.CARE_TEAM:
        return team_by_patient[announcement.thread.patient_id]
    if announcement.notify == Notify.PATIENT:
        return [announcement.thread.patient.user_id]
    return []


def _outbox_rows(
    announcement: Announcement,
    *,
    told: Iterable[UUID],
    paged: Iterable[UUID],
    recipients: dict[UUID, Recipient],
) -> list[Notification]:
    """`message_received` and, for a red flag, `triage_urgent` (urgent: staff quiet hours do
    not hold it back), both keyed by the message id so each message is announced once."""
    common: dict[str, Any] = {
        "subject_type": "thread",
        "subject_id": announcement.thread_id,
        "occurrence": str(announcement.message_id),
        "link_path": links.thread_page(announcement.thread_id),
    }
    return [
        *notification_rows(
            event=Event.MESSAGE_RECEIVED,
            recipients=[recipients[user] for user in told if user in recipients],
            **common,
        ),
        *notification_rows(
            event=Event.TRIAGE_URGENT,
            recipients=[recipients[user] for user in paged if user in recipients],
            urgent=True,
            **common,
        ),
    ]


def _feed(
    pending: Sequence[Announcement],
    team_by_patient: dict[UUID, list[UUID]],
    created: list[Notification],
) -> dict[UUID, list[NewEvent]]:
    """Each user's feed events of the batch, in the order the messages were sent: the messages'
    events to the care team (and to the patient unless internal), then the new in-app
    notifications' `notification.created`."""
    events_by_user: dict[UUID, list[NewEvent]] = {}
    for announcement in pending:
        team = team_by_patient[announcement.thread.patient_id]
        patient = announcement.thread.patient.user_id
        for stored in announcement.feed_events:
            event = NewEvent(stored["type"], stored["data"])
            audience = [*team, patient] if stored["patient_sees"] else team
            for user in dict.fromkeys(audience):
                events_by_user.setdefault(user, []).append(event)
    for user, notices in in_app_events(created).items():
        events_by_user.setdefault(user, []).extend(notices)
    return events_by_user
