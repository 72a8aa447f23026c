r"""Writes for notifications: the outbox (`notify`), delivery, the sweeper, re-sends, read state
and preferences. Other apps call `notify` only.

The delivery state machine of an e-mail or SMS row:

    pending --claim--> sending --sent--> sent
       ^                  |  \--error, attempts left--> pending (due after a backoff)
       |                  |   \-error, out of attempts--> failed --admin re-send--> pending
       +--sweeper---------+  (claim older than the claim timeout: the worker died)
    pending --past expires_at ("do not deliver after")--> expired

A worker claims a row with one statement committed on its own (status `sending`, a fresh claim
token, one `DeliveryAttempt`) before it talks to any backend, and records the outcome only if
its claim is still current. So two workers never send one row at the same time, a duplicated or
retried task finds the row already `sending` or `sent` and does nothing, and a worker that dies
mid-delivery leaves a claim the sweeper takes back. Sending again after such a crash is
at-least-once in general; the backends receive the notification id as an idempotency key, which
makes it exactly-once for the local file backends and for any provider that honours the key
(see docs/notifications.md).

In-app rows need no worker: they are delivered (visible in the list) in the event's transaction.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from time import monotonic
from typing import Any, NamedTuple, cast
from urllib.parse import urlsplit
from uuid import UUID

import requests
from anymail.exceptions import AnymailAPIError, AnymailInvalidAddress, AnymailRecipientsRefused
from celery import current_app
from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.core.mail import EmailMessage
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.constants import OnConflict
from django.db.models.functions import JSONObject
from django.utils import timezone

from carecore.accounts.models import STAFF_ROLES, User
from carecore.audit.models import Action
from carecore.audit.services import audit_record
from carecore.common.errors import ValidationFailed
from carecore.realtime.services import EventType, NewEvent, event_publish_each

from .access import access_notification, access_push_subscription, own_patient_id
from .errors import (
    DeliveryError,
    PermanentDeliveryError,
    UrgentPageSilenced,
    delivery_error_code,
)
from .links import absolute_url, page_for
from .mail import IDEMPOTENCY_HEADER
from .models import (
    AttemptOutcome,
    Channel,
    DeliveryAttempt,
    Event,
    Notification,
    NotificationPreference,
    PushSubscription,
    QuietHours,
    Status,
)
from .policy import (
    PAGED_ROLES,
    URGENT_EVENTS,
    below_urgent_floor,
    default_enabled,
    default_quiet_hours,
    quiet_hours_end,
    urgent_floor,
)
from .push import PushMessage, PushSubscriptionGone, PushTarget, push_enabled, send_push
from .rendering import Rendered, check_link_path, render
from .sms import SmsMessage, get_sms_backend, sms_enabled

# The Celery queue urgent deliveries go to (CARECORE_CELERY_QUEUES in settings).
URGENT_QUEUE = "urgent"
# The Celery task that delivers one outbox row (tasks.deliver_notification).
DELIVER_TASK = "notifications.deliver"

logger = logging.getLogger("carecore.notifications")

_SUBJECT_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_OCCURRENCE = re.compile(r"^[A-Za-z0-9_:.-]{0,40}$")


# --- notify: the outbox ------------------------------------------------------------------------


def _check_notify_arguments(
    *, event: str, subject_type: str, subject_id: str, occurrence: str, link_path: str
) -> None:
    # Messages name the field, never the value: a caller's bug could have put data in it.
    if event not in Event.values:
        raise ValidationFailed(fields={"event": ["Unknown notification event."]})
    if not _SUBJECT_TYPE.fullmatch(subject_type):
        raise ValidationFailed(fields={"subject_type": ["Use a lowercase type name."]})
    if not subject_id or len(subject_id) > 64 or not _OCCURRENCE.fullmatch(subject_id):
        raise ValidationFailed(fields={"subject_id": ["Use an opaque id."]})
    if not _OCCURRENCE.fullmatch(occurrence):
        raise ValidationFailed(fields={"occurrence": ["Use a short code such as 24h."]})
    check_link_path(link_path)


def _quiet_window(own: QuietHours | None) -> tuple[time, time] | None:
    if own is None:
        return default_quiet_hours()
    if own.start is None or own.end is None:
        return None
    return own.start, own.end


def delivery_time(
    *, user: User, now: datetime, urgent: bool, own_quiet_hours: QuietHours | None
) -> datetime:
    """When a non-in-app notification may go out: now, or the end of the user's quiet hours.

    Urgent clinical events to staff ignore quiet hours; patients' are always respected.
    """
    if urgent and user.role in STAFF_ROLES:
        return now
    window = _quiet_window(own_quiet_hours)
    if window is None:
        return now
    ends = quiet_hours_end(at=now, zone=user.zone, start=window[0], end=window[1])
    return ends or now


def _enqueue_horizon() -> timedelta:
    # Tasks due later than this are left to the sweeper: a Redis broker redelivers unacked
    # ETA tasks after its visibility timeout, and quiet hours can last all night.
    return timedelta(seconds=settings.CARECORE_NOTIFICATIONS_ENQUEUE_HORIZON_SECONDS)


@dataclass(frozen=True)
class Recipient:
    """A user about to be notified, with what decides their channels and timing: their explicit
    preferences for the events asked about, their own quiet hours (None: the default applies)
    and whether a browser of theirs is subscribed to push."""

    user: User
    preferences: dict[tuple[str, str], bool]  # (event, channel) -> enabled
    quiet_hours: QuietHours | None
    pushable: bool


def notification_recipients(*, users: QuerySet[User], events: Iterable[str]) -> list[Recipient]:
    """The active users of `users` ready for `notify` about any of `events`, in ONE query (the
    users with their preferences and quiet hours), so a caller can look them up before taking
    a lock and write the outbox rows inside it (messaging's send)."""
    events = sorted(set(events))
    preferences = ArraySubquery(
        NotificationPreference.objects.filter(user_id=OuterRef("pk"), event__in=events).values(
            json=JSONObject(event="event", channel="channel", enabled="enabled")
        )
    )
    rows = users.filter(is_active=True).select_related("quiet_hours").annotate(prefs=preferences)
    if push_enabled():
        rows = rows.annotate(
            has_push=Exists(PushSubscription.objects.filter(user_id=OuterRef("pk")))
        )
    recipients = []
    for user in rows:
        quiet: QuietHours | None = getattr(user, "quiet_hours", None)
        recipients.append(
            Recipient(
                user=user,
                preferences={
                    (pref["event"], pref["channel"]): pref["enabled"] for pref in user.prefs
                },
                quiet_hours=quiet,
                pushable=bool(getattr(user, "has_push", False)),
            )
        )
    return recipients


def _recipients_of(users: dict[Any, User], event: str) -> list[Recipient]:
    """`Recipient`s of users already loaded: preferences and quiet hours in two queries (and the
    push subscriptions in a third when web push is configured)."""
    explicit = {
        (pref.user_id, pref.channel): pref.enabled
        for pref in NotificationPreference.objects.filter(user_id__in=users, event=event)
    }
    quiet = {row.user_id: row for row in QuietHours.objects.filter(user_id__in=users)}
    pushable = _users_with_push_subscriptions(users)
    return [
        Recipient(
            user=user,
            preferences={
                (event, channel): enabled
                for (user_id, channel), enabled in explicit.items()
                if user_id == user.id
            },
            quiet_hours=quiet.get(user.id),
            pushable=user.id in pushable,
        )
        for user in users.values()
    ]


@transaction.atomic
def notify(
    *,
    event: str,
    recipients: Iterable[User],
    subject_type: str,
    subject_id: UUID | str,
    occurrence: str = "",
    urgent: bool = False,
    link_path: str = "",
    expires_at: datetime | None = None,
) -> list[Notification]:
    """Called INSIDE the caller's transaction. Writes one outbox row per recipient x enabled
    channel (per the recipient's preferences and role defaults). Idempotent: the unique key is
    (event, recipient, channel, subject_type, subject_id, occurrence), so calling it twice for
    the same occurrence (e.g. a reminder "24h") creates nothing new. Delivery is enqueued on
    commit. `urgent=True` is for urgent clinical events to staff: they ignore quiet hours.
    `link_path` is a portal page path from `links.py` (opaque ids only, e.g. "/visits/<uuid>/").
    `expires_at` is "do not deliver after": an e-mail, SMS or push still undelivered then (held
    by quiet hours, or retrying) ends as `expired` instead of arriving late.

    Returns the rows this call created (none for a repeat). Queries: preferences, quiet hours,
    the insert (returning what was new), and the in-app delivery records. A caller on a hot
    path loads its `Recipient`s first (`notification_recipients`, one query) and calls
    `notification_rows` and `outbox_insert` itself.
    """
    users = {user.id: user for user in recipients if user.is_active}
    if not users:
        return []
    rows = notification_rows(
        event=event,
        recipients=_recipients_of(users, event),
        subject_type=subject_type,
        subject_id=subject_id,
        occurrence=occurrence,
        urgent=urgent,
        link_path=link_path,
        expires_at=expires_at,
    )
    created = outbox_insert(rows)
    _publish_in_app(created)
    return created


def notification_rows(
    *,
    event: str,
    recipients: Iterable[Recipient],
    subject_type: str,
    subject_id: UUID | str,
    occurrence: str = "",
    urgent: bool = False,
    link_path: str = "",
    expires_at: datetime | None = None,
) -> list[Notification]:
    """The outbox rows `notify` writes, built without a query (see `notify` for the arguments):
    one per recipient x channel their preferences (or their role's defaults) enable, the floor
    for urgent pages applied, e-mail, SMS and push held until their quiet hours end."""
    subject_id = str(subject_id)
    _check_notify_arguments(
        event=event,
        subject_type=subject_type,
        subject_id=subject_id,
        occurrence=occurrence,
        link_path=link_path,
    )
    now = timezone.now()
    in_app_texts: dict[str, Rendered] = {}  # by page: a few roles, a few pages
    rows: list[Notification] = []
    can_text = sms_enabled()
    for recipient in recipients:
        user = recipient.user
        if not user.is_active:
            continue
        page = page_for(link_path, role=user.role)
        chosen = frozenset(
            channel
            for channel in Channel.values
            if recipient.preferences.get(
                (event, channel), default_enabled(role=user.role, event=event, channel=channel)
            )
        )
        # Urgent pages to staff go below no preference (policy.urgent_floor).
        channels = urgent_floor(
            role=user.role,
            event=event,
            channels=chosen,
            sms_reachable=bool(user.phone) and can_text,
        )
        for channel in Channel.values:
            if channel not in channels:
                continue
            if channel == Channel.SMS and not (user.phone and can_text):
                continue
            if channel == Channel.PUSH and not recipient.pushable:
                continue
            row = Notification(
                recipient=user,
                event=event,
                channel=channel,
                subject_type=subject_type,
                subject_id=subject_id,
                occurrence=occurrence,
                urgent=urgent,
                link_path=page,
                created_at=now,
            )
            if channel == Channel.IN_APP:
                row.status = Status.SENT
                row.due_at = row.sent_at = now
                row.attempt_count = row.round_attempt_count = 1
                if page not in in_app_texts:
                    in_app_texts[page] = render(event=event, channel=Channel.IN_APP, link_path=page)
                row.title, row.body = in_app_texts[page].subject, in_app_texts[page].body
            else:
                row.due_at = delivery_time(
                    user=user, now=now, urgent=urgent, own_quiet_hours=recipient.quiet_hours
                )
                row.expires_at = expires_at
                if expires_at is not None and row.due_at >= expires_at:
                    # Held by quiet hours past its deadline: recorded, never sent.
                    row.status = Status.EXPIRED
                elif row.due_at <= now + _enqueue_horizon():
                    row.enqueued_at = row.due_at
            rows.append(row)
    return rows


_IDEMPOTENCY_KEY = ("event", "recipient_id", "channel", "subject_type", "subject_id", "occurrence")


def _idempotency_key(row: Notification) -> tuple[str, ...]:
    return tuple(str(getattr(row, field)) for field in _IDEMPOTENCY_KEY)


def _not_notified_before(rows: list[Notification]) -> list[Notification]:
    """The rows whose idempotency key no earlier or concurrent call has used.

    Outbox rows are partitioned by month (notifications migration 0005, docs/scaling.md
    "Growing tables"), so the unique key contains `created_at` and would let the same reminder
    in again the next month. Each key is locked (a transaction-scoped advisory lock, in one
    order, so two calls cannot deadlock) and then looked up: a concurrent call for the same key
    waits for the other transaction and then finds its row, as ON CONFLICT used to. Two
    queries, however many rows."""
    if not rows:
        return []
    keys = sorted({"\x1f".join(_idempotency_key(row)) for row in rows})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended("
            "'notifications.key:' || k, 0) AS h FROM unnest(%s::text[]) AS k ORDER BY h) AS o",
            [keys],
        )
    existing = _existing_keys(sorted({_idempotency_key(row) for row in rows}))
    return [row for row in rows if _idempotency_key(row) not in existing]


# The keys as one array per column, joined to the outbox: PostgreSQL probes the unique key's index
# of each month's partition once per key. Its text is the same for any number of keys; the OR of
# one term per key it replaces cost PostgreSQL ~5 ms to plan for a batch of 37 keys, and 13-15
# ms per batch under the send benchmark, against ~1 ms for this (docs/benchmarks.md).
_EXISTING_KEYS_SQL = (
    f"SELECT {', '.join(f'n.{column}' for column in _IDEMPOTENCY_KEY)} "  # noqa: S608  # nosec B608 - names are ours, values are parameters
    f"FROM {Notification._meta.db_table} AS n "
    "JOIN unnest(%s::text[], %s::uuid[], %s::text[], %s::text[], %s::text[], %s::text[]) "
    f"AS k({', '.join(_IDEMPOTENCY_KEY)}) ON "
    + " AND ".join(f"n.{column} = k.{column}" for column in _IDEMPOTENCY_KEY)
)


def _existing_keys(keys: list[tuple[str, ...]]) -> set[tuple[str, ...]]:
    """Which of these idempotency keys the outbox already holds, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(_EXISTING_KEYS_SQL, [list(column) for column in zip(*keys, strict=True)])
        return {tuple(str(value) for value in key) for key in cursor.fetchall()}


def outbox_insert(rows: list[Notification]) -> list[Notification]:
    """Write outbox rows (from `notification_rows`) in the caller's transaction; returns those
    that are new. In-app rows get their delivery record; the others are enqueued on commit. The
    in-app rows' `notification.created` events are the caller's to publish (`in_app_events`).

    Idempotent by key: `_not_notified_before` locks each row's key and drops those already
    written (a concurrent write of the same key waits for the other transaction, then finds its
    row), because the monthly partitions' unique key has to contain `created_at`. ON CONFLICT DO
    NOTHING stays as a backstop; RETURNING names the rows that are new (our own ids), so nothing
    is read back.
    """
    rows = _not_notified_before(rows)
    if not rows:
        return []
    now = timezone.now()
    fields = [field for field in Notification._meta.concrete_fields if not field.generated]
    # QuerySet._insert is what bulk_create runs; bulk_create itself returns nothing with
    # ignore_conflicts, and we need to know which rows were new.
    returned = Notification.objects._insert(  # type: ignore[attr-defined]
        rows,
        fields=fields,
        returning_fields=[Notification._meta.pk],
        on_conflict=OnConflict.IGNORE,
    )
    new_ids = {row[0] for row in returned}
    created = [row for row in rows if row.id in new_ids]
    for row in created:
        row._state.adding = False
        row._state.db = "default"
    DeliveryAttempt.objects.bulk_create(
        [
            DeliveryAttempt(
                notification=row,
                number=1,
                claim_token=uuid.uuid4(),
                started_at=now,
                finished_at=now,
                outcome=AttemptOutcome.SENT,
                worker="in-transaction",
            )
            for row in created
            if row.channel == Channel.IN_APP
        ]
    )
    to_enqueue = [
        PendingDelivery(row.id, row.due_at, row.urgent)
        for row in created
        if row.channel != Channel.IN_APP and row.enqueued_at is not None
    ]
    if to_enqueue:
        _publish_on_commit(to_enqueue)
    return created


def in_app_events(created: list[Notification]) -> dict[UUID, list[NewEvent]]:
    """notification.created for each recipient of a new in-app row (the list to refresh)."""
    events: dict[UUID, list[NewEvent]] = {}
    for row in created:
        if row.channel == Channel.IN_APP:
            events.setdefault(row.recipient_id, []).append(
                NewEvent(
                    EventType.NOTIFICATION_CREATED,
                    {"notification_id": row.id, "event": row.event, "urgent": row.urgent},
                )
            )
    return events


def _publish_in_app(created: list[Notification]) -> None:
    """notification.created to each recipient of a new in-app row (the list to refresh)."""
    event_publish_each(events_by_user=in_app_events(created))


def _users_with_push_subscriptions(users: dict[Any, User]) -> set[Any]:
    # Only asked when web push is configured, so notify costs no extra query without it.
    if not push_enabled():
        return set()
    return set(PushSubscription.objects.filter(user_id__in=users).values_list("user_id", flat=True))


class PendingDelivery(NamedTuple):
    """A row to publish a delivery task for."""

    notification_id: UUID
    due_at: datetime
    urgent: bool


class _PublishChain:
    """The rows one transaction announces, in the order of their on-commit callbacks."""

    def __init__(self, owner: list[Any]) -> None:
        self.owner = owner  # the connection's on-commit list of this transaction
        self.entries: list[list[PendingDelivery]] = []
        self.published = 0  # entries before this index are published


def _publish_on_commit(items: list[PendingDelivery]) -> None:
    """Publish `items` once the current transaction commits, together with the rows of every
    later `notify` call of the same transaction, so they travel in full batches.

    Each call registers its own on-commit callback; the first to run publishes its entry and
    every later one, and the later callbacks find nothing left. (The first callback, not one
    shared callback: Django drops the callbacks of a savepoint that rolls back, and test helpers
    run only the callbacks registered inside their block.) A transaction is told apart by its
    list of on-commit callbacks, which Django replaces at every commit and rollback (and at a
    savepoint's rollback, which merely starts a second chain). Rows of a rolled-back savepoint
    can still be published by an earlier callback; the claim then skips them (no such row)."""
    db = transaction.get_connection()
    if not db.in_atomic_block:
        enqueue_deliveries(items)  # what on_commit would do at once
        return
    chain: _PublishChain | None = getattr(db, "_carecore_publish_chain", None)
    if chain is None or chain.owner is not db.run_on_commit:
        chain = _PublishChain(db.run_on_commit)
        db._carecore_publish_chain = chain
    position = len(chain.entries)
    chain.entries.append(items)

    def publish() -> None:
        if position < chain.published:
            return  # an earlier callback of this transaction published these
        rows = [item for entry in chain.entries[position:] for item in entry]
        chain.published = len(chain.entries)
        enqueue_deliveries(rows)

    transaction.on_commit(publish, robust=True)


def _delivery_batches(items: list[PendingDelivery], now: datetime) -> list[list[PendingDelivery]]:
    """Rows grouped by queue and due time (everything due now together), urgent rows first,
    cut into batches of at most CARECORE_NOTIFICATIONS_DELIVERY_BATCH rows of similar size.
    Urgent rows travel one per task: a page never waits behind another in a batch, and each
    runs alone under the urgent time limits (the sweeper's 30 s promise, docs/notifications.md)."""
    groups: dict[tuple[bool, datetime], list[PendingDelivery]] = {}
    for item in items:
        groups.setdefault((item.urgent, max(item.due_at, now)), []).append(item)
    routine_limit = max(1, settings.CARECORE_NOTIFICATIONS_DELIVERY_BATCH)
    batches = []
    for key in sorted(groups, key=lambda key: (not key[0], key[1])):
        rows = groups[key]
        limit = 1 if key[0] else routine_limit
        count = -(-len(rows) // limit)  # ceil: 21 rows make batches of 11 and 10, not 20 and 1
        batches += [rows[index::count] for index in range(count)]
    return batches


def _urgent_publish_options() -> dict[str, Any]:
    """Urgent rows go to their own queue and run under shorter time limits than the project's,
    so the sweeper can give up a dead worker's claim on a page sooner (settings, "urgent")."""
    return {
        "queue": URGENT_QUEUE,
        "soft_time_limit": settings.CARECORE_NOTIFICATIONS_URGENT_SOFT_TIME_LIMIT_SECONDS,
        "time_limit": settings.CARECORE_NOTIFICATIONS_URGENT_TIME_LIMIT_SECONDS,
    }


def enqueue_deliveries(items: list[PendingDelivery]) -> int:
    """Publish delivery tasks for these rows, in batches (`_delivery_batches`); returns how
    many rows were published.

    Runs after commit. If the broker is down the rows stay `pending` and the sweeper publishes
    them later, so this gives up at the first failure instead of stalling the caller's request.
    Urgent rows go to the `urgent` queue, so a backlog of routine e-mail never delays a page
    (docs/scaling.md, "Celery queues"); routine rows take the task's route (`deliveries`).
    """
    # By name: tasks.py imports this module (tasks call services, never the other way round);
    # the app config imports tasks.py at start-up, so the task is registered in every process.
    deliver_notification = current_app.tasks[DELIVER_TASK]
    now = timezone.now()
    published = 0
    for batch in _delivery_batches(items, now):
        countdown = max(0.0, (batch[0].due_at - now).total_seconds())
        try:
            deliver_notification.apply_async(
                args=[str(item.notification_id) for item in batch],
                countdown=countdown or None,
                retry_policy=settings.CARECORE_NOTIFICATIONS_PUBLISH_RETRY_POLICY,
                **(_urgent_publish_options() if batch[0].urgent else {}),
            )
        except Exception as error:
            logger.warning(
                "notification enqueue failed (%s); %d row(s) left for the sweeper",
                type(error).__name__,
                len(items) - published,
            )
            break
        published += len(batch)
    return published


# --- delivery ----------------------------------------------------------------------------------


def backoff_seconds(attempt: int) -> int:
    """Exponential: base, 2x base, 4x base, ... capped."""
    base = settings.CARECORE_NOTIFICATIONS_RETRY_BASE_SECONDS
    cap = settings.CARECORE_NOTIFICATIONS_RETRY_MAX_SECONDS
    return int(min(cap, base * 2 ** max(0, attempt - 1)))


def _relax_commit_durability() -> None:
    """Let this transaction's COMMIT return before its WAL reaches disk (see `_DURABILITY`)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")


# Delivery bookkeeping commits without waiting for its WAL to reach disk. Never the outbox row
# itself: that is written in the event's transaction at full durability. If the database
# crashes, the last fraction of a second of bookkeeping can be lost: a row falls back to
# `pending` or `sending`, the sweeper delivers it again with the same idempotency key, and the
# backend drops the duplicate. `set_config(..., true)` is SET LOCAL for this one statement's
# implicit transaction; the CTE is referenced so that it is evaluated.
_DURABILITY = "durability AS (SELECT set_config('synchronous_commit', 'off', true) AS value)"


@dataclass(frozen=True)
class Claim:
    """What a worker needs to send one row, taken with the claim in one statement."""

    notification_id: UUID
    recipient_id: UUID
    event: str
    channel: str
    link_path: str
    urgent: bool
    expires_at: datetime | None
    attempt_count: int
    round_attempt_count: int
    claim_token: UUID
    attempt_id: int
    email: str
    phone: str
    recipient_active: bool


def _claim_sql() -> str:
    notifications = Notification._meta.db_table
    attempts = DeliveryAttempt._meta.db_table
    users = User._meta.db_table
    # Only table names are interpolated (from model metadata); values are bound parameters.
    return f"""
        WITH {_DURABILITY},
        claimed AS (
            UPDATE {notifications}
            SET status = 'sending', claimed_at = %(now)s, claim_token = %(token)s,
                attempt_count = attempt_count + 1, round_attempt_count = round_attempt_count + 1
            WHERE id = %(id)s AND status = 'pending' AND due_at <= %(now)s
                AND (expires_at IS NULL OR expires_at > %(now)s)
            RETURNING id, recipient_id, event, channel, link_path, attempt_count,
                round_attempt_count, urgent, expires_at
        ),
        attempt AS (
            INSERT INTO {attempts}
                (notification_id, number, claim_token, started_at, outcome, error, worker)
            SELECT id, attempt_count, %(token)s, %(now)s, 'started', '', %(worker)s FROM claimed
            RETURNING id
        )
        SELECT claimed.id, claimed.event, claimed.channel, claimed.link_path,
            claimed.attempt_count, claimed.round_attempt_count, attempt.id,
            recipient.email, recipient.phone, recipient.is_active, claimed.recipient_id,
            claimed.urgent, claimed.expires_at, durability.value
        FROM claimed
        CROSS JOIN attempt
        CROSS JOIN durability
        JOIN {users} recipient ON recipient.id = claimed.recipient_id
    """  # noqa: S608


def _claim(notification_id: UUID | str, worker: str) -> Claim | None:
    """Take the row for this worker, or None if it is not due, not pending, or taken.

    One UPDATE in its own (implicit) transaction, committed before any backend is called: the
    row lock is held for that statement only. A concurrent duplicate waits for the lock, then
    re-checks `status = 'pending'`, finds 'sending' and claims nothing. Must not run inside an
    outer transaction (the task is the only caller), or the claim would not be committed first.
    """
    token = uuid.uuid4()
    params: dict[str, Any] = {
        "id": str(notification_id),
        "now": timezone.now(),
        "token": token,
        "worker": worker[:200],
    }
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(), params)
        row = cursor.fetchone()
    if row is None:
        _expire_if_late(notification_id, params["now"])
        return None
    return Claim(
        notification_id=row[0],
        recipient_id=row[10],
        event=row[1],
        channel=row[2],
        link_path=row[3],
        urgent=row[11],
        expires_at=row[12],
        attempt_count=row[4],
        round_attempt_count=row[5],
        claim_token=token,
        attempt_id=row[6],
        email=row[7],
        phone=row[8] or "",
        recipient_active=row[9],
    )


def _expire_if_late(notification_id: UUID | str, now: datetime) -> None:
    """A pending row that was not claimed because its deadline passed ends as `expired`."""
    Notification.objects.filter(
        id=notification_id, status=Status.PENDING, expires_at__lte=now
    ).update(status=Status.EXPIRED, enqueued_at=None)


def _send_push(claim: Claim, key: str) -> None:
    """To every browser of the recipient; delivered once any of them accepted it."""
    if not push_enabled():
        raise PermanentDeliveryError("push_not_configured")
    subscriptions = list(PushSubscription.objects.filter(user_id=claim.recipient_id))
    if not subscriptions:
        raise PermanentDeliveryError("no_push_subscription")
    text = render(event=claim.event, channel=Channel.PUSH, link_path=claim.link_path)
    message = PushMessage(
        title=text.subject,
        body=text.body,
        url=absolute_url(claim.link_path),
        idempotency_key=key,
        urgent=claim.urgent,
    )
    delivered: list[UUID] = []
    gone: list[UUID] = []
    errors: list[Exception] = []
    with requests.Session() as session:
        for subscription in subscriptions:
            target = PushTarget(subscription.endpoint, subscription.p256dh, subscription.auth)
            try:
                send_push(target, message, session=session)
            except PushSubscriptionGone:
                gone.append(subscription.id)
            except Exception as error:
                errors.append(error)
            else:
                delivered.append(subscription.id)
    PushSubscription.objects.filter(id__in=gone).delete()
    PushSubscription.objects.filter(id__in=delivered).update(last_success_at=timezone.now())
    if delivered:
        return  # on a screen of the user's; the other browsers are not retried (no duplicates)
    retryable = [error for error in errors if not isinstance(error, PermanentDeliveryError)]
    if retryable:
        raise retryable[0]
    raise errors[0] if errors else PermanentDeliveryError("push_subscriptions_gone")


def _send_email(claim: Claim, key: str) -> None:
    text = render(event=claim.event, channel=Channel.EMAIL, link_path=claim.link_path)
    message = EmailMessage(
        subject=text.subject,
        body=text.body,
        to=[claim.email],
        headers={
            IDEMPOTENCY_HEADER: key,
            # A stable Message-ID lets mail systems drop a re-sent duplicate.
            "Message-ID": f"<{key}@{settings.CARECORE_NOTIFICATIONS_MESSAGE_ID_DOMAIN}>",
        },
    )
    # Anymail sends this to the provider as message metadata (Postmark Metadata, Mailgun user
    # variables, SendGrid custom_args, SES headers): the provider's copy names the row.
    message.metadata = {"notification_id": key}  # type: ignore[attr-defined]
    try:
        message.send(fail_silently=False)
    except (AnymailRecipientsRefused, AnymailInvalidAddress):
        raise PermanentDeliveryError("recipient_refused") from None
    except AnymailAPIError as error:
        # The provider's text quotes addresses: keep the status code only.
        status = getattr(error, "status_code", None)
        if status is not None and 400 <= status < 500 and status not in {408, 429}:
            raise PermanentDeliveryError("provider_refused", status) from None
        raise DeliveryError("provider_unavailable", status) from None


def _send_sms(claim: Claim, key: str) -> None:
    if not claim.phone:
        raise PermanentDeliveryError("no_phone_number")
    if not sms_enabled():
        raise PermanentDeliveryError("sms_not_configured")
    text = render(event=claim.event, channel=Channel.SMS, link_path=claim.link_path)
    get_sms_backend().send(SmsMessage(to=claim.phone, body=text.body, idempotency_key=key))


_SENDERS: dict[str, Callable[[Claim, str], None]] = {
    Channel.EMAIL: _send_email,
    Channel.SMS: _send_sms,
    Channel.PUSH: _send_push,
}


def _send(claim: Claim) -> None:
    if not claim.recipient_active:
        raise PermanentDeliveryError("recipient_inactive")
    sender = _SENDERS.get(claim.channel)
    if sender is None:
        raise PermanentDeliveryError("channel_not_delivered")
    # The notification id is the idempotency key every backend receives.
    sender(claim, str(claim.notification_id))


def _describe(error: BaseException) -> str:
    # A code and a status, never the error's text: providers quote addresses and numbers.
    return delivery_error_code(error)[:500]


def _record_sent_sql() -> str:
    notifications = Notification._meta.db_table
    attempts = DeliveryAttempt._meta.db_table
    return f"""
        WITH {_DURABILITY},
        finished AS (
            UPDATE {attempts} SET outcome = 'sent', finished_at = %(now)s
            WHERE id = %(attempt)s AND outcome = 'started'
            RETURNING id
        ),
        sent AS (
            UPDATE {notifications} SET status = 'sent', sent_at = %(now)s, last_error = ''
            WHERE id = %(id)s AND status = 'sending' AND claim_token = %(token)s
            RETURNING id
        )
        SELECT (SELECT count(*) FROM sent), (SELECT count(*) FROM finished), durability.value
        FROM durability
    """  # noqa: S608


def _record_sent(claim: Claim) -> bool:
    """Mark the row sent if our claim is still the current one (one statement)."""
    params: dict[str, Any] = {
        "now": timezone.now(),
        "attempt": claim.attempt_id,
        "id": str(claim.notification_id),
        "token": claim.claim_token,
    }
    with connection.cursor() as cursor:
        cursor.execute(_record_sent_sql(), params)
        sent, _finished, _durability = cursor.fetchone()
    return bool(sent)


@transaction.atomic
def _record_error(claim: Claim, error: BaseException) -> str:
    _relax_commit_durability()
    description = _describe(error)
    now = timezone.now()
    out_of_attempts = (
        isinstance(error, PermanentDeliveryError)
        or claim.round_attempt_count >= settings.CARECORE_NOTIFICATIONS_MAX_ATTEMPTS
    )
    mine = Notification.objects.filter(
        id=claim.notification_id, status=Status.SENDING, claim_token=claim.claim_token
    )
    DeliveryAttempt.objects.filter(pk=claim.attempt_id, outcome=AttemptOutcome.STARTED).update(
        outcome=AttemptOutcome.ERROR, error=description, finished_at=now
    )
    if out_of_attempts:
        mine.update(status=Status.FAILED, last_error=description)
        return Status.FAILED
    due_at = now + timedelta(seconds=backoff_seconds(claim.round_attempt_count))
    if claim.expires_at is not None and due_at >= claim.expires_at:
        mine.update(status=Status.EXPIRED, last_error=description)
        return Status.EXPIRED
    if mine.update(
        status=Status.PENDING, due_at=due_at, enqueued_at=due_at, last_error=description
    ):
        retry = PendingDelivery(claim.notification_id, due_at, claim.urgent)
        transaction.on_commit(lambda: enqueue_deliveries([retry]), robust=True)
    return Status.PENDING


def notification_deliver(*, notification_id: UUID | str, worker: str = "") -> str:
    """Deliver one e-mail or SMS row if it is due and nobody else has it. Safe to call any
    number of times (duplicated or retried tasks). Returns what happened, for logs and tests:
    "skipped", "sent", "pending" (will retry), "failed" or "expired" (its retry would come
    after its deadline)."""
    claim = _claim(notification_id, worker)
    if claim is None:
        return "skipped"
    try:
        _send(claim)
    except Exception as error:
        outcome = _record_error(claim, error)
        # Ids and the exception type only: backend errors can quote addresses.
        logger.warning(
            "notification %s %s attempt %d failed with %s; now %s",
            claim.notification_id,
            claim.channel,
            claim.attempt_count,
            type(error).__name__,
            outcome,
        )
        return outcome
    if not _record_sent(claim):
        # Our claim had expired and the sweeper handed the row on; the idempotency key keeps
        # the next attempt from sending it a second time.
        logger.warning("notification %s sent after its claim expired", claim.notification_id)
    return "sent"


def notifications_deliver(
    *, notification_ids: Sequence[UUID | str], worker: str = ""
) -> Counter[str]:
    """Deliver a batch of rows published together, one after the other, each exactly as
    `notification_deliver` delivers one: claimed, sent and recorded on its own, so a crash
    leaves at most the row in flight to the sweeper, as with one task per row. Returns how
    many rows had each outcome.

    After CARECORE_NOTIFICATIONS_DELIVERY_BATCH_SECONDS it stops and publishes the rows it has
    not started as a new task ("republished"), so a slow provider cannot carry a batch into the
    task time limits. They are unclaimed, so publishing them again is safe."""
    budget = settings.CARECORE_NOTIFICATIONS_DELIVERY_BATCH_SECONDS
    started = monotonic()
    outcomes: Counter[str] = Counter()
    for index, notification_id in enumerate(notification_ids):
        if index and monotonic() - started > budget:
            outcomes["republished"] += _republish(notification_ids[index:])
            break
        try:
            outcome = notification_deliver(notification_id=notification_id, worker=worker)
        except (OperationalError, InterfaceError) as error:
            outcomes["republished"] += _republish_after_database_error(
                notification_ids[index:], error
            )
            break
        outcomes[outcome] += 1
    return outcomes


def _republish_after_database_error(
    notification_ids: Sequence[UUID | str], error: Exception
) -> int:
    """The connection broke under the batch (a restart, a failover, a killed backend). It is
    handed back, so the pool checks it and opens a fresh one, and the rows not yet delivered go
    back to the queue at once instead of waiting for the sweeper's requeue delay. The row that
    failed is among them if its claim did not commit; if it did, the row is `sending` and the
    sweeper takes the claim back. If the database is still away, this fails too and the
    sweeper publishes them once it is back."""
    connection.close()
    logger.warning(
        "notification batch stopped by a database error (%s); republishing %d row(s)",
        type(error).__name__,
        len(notification_ids),
    )
    return _republish(notification_ids)


def _republish(notification_ids: Sequence[UUID | str]) -> int:
    """Publish again those of these rows that are still waiting (one query)."""
    waiting = [
        PendingDelivery(*row)
        for row in Notification.objects.filter(
            id__in=list(notification_ids), status=Status.PENDING
        ).values_list("id", "due_at", "urgent")
    ]
    return enqueue_deliveries(waiting) if waiting else 0


# --- the sweeper -------------------------------------------------------------------------------


@transaction.atomic
def _release_stale_claims(now: datetime, batch: int) -> int:
    """Claims older than the claim timeout belong to workers that died (the task time limit is
    shorter than the timeout, so a live worker has given up by then). Urgent deliveries run
    under shorter limits, so their claims are given up sooner."""
    cutoff = now - timedelta(seconds=settings.CARECORE_NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS)
    urgent_cutoff = now - timedelta(
        seconds=settings.CARECORE_NOTIFICATIONS_URGENT_CLAIM_TIMEOUT_SECONDS
    )
    stale = list(
        Notification.objects.select_for_update(skip_locked=True)
        .filter(status=Status.SENDING)
        .filter(Q(claimed_at__lt=cutoff) | Q(urgent=True, claimed_at__lt=urgent_cutoff))
        .values_list("id", flat=True)[:batch]
    )
    if not stale:
        return 0
    DeliveryAttempt.objects.filter(
        notification_id__in=stale, outcome=AttemptOutcome.STARTED
    ).update(outcome=AttemptOutcome.ABANDONED, error="worker lost", finished_at=now)
    rows = Notification.objects.filter(id__in=stale)
    # A message that kills its worker every time must not loop forever.
    rows.filter(round_attempt_count__gte=settings.CARECORE_NOTIFICATIONS_MAX_ATTEMPTS).update(
        status=Status.FAILED, claim_token=None, last_error="worker lost"
    )
    rows.filter(status=Status.SENDING).update(
        status=Status.PENDING, claim_token=None, due_at=now, enqueued_at=None
    )
    logger.warning("notification sweeper released %d stale claim(s)", len(stale))
    return len(stale)


@transaction.atomic
def _enqueue_due(now: datetime, batch: int) -> int:
    """Publish due rows whose task never ran: never published (deferred), or published long
    enough ago that the broker must have lost it. Urgent rows are given up on sooner, so a page
    whose task was lost goes out again within CARECORE_NOTIFICATIONS_URGENT_REQUEUE_AFTER_SECONDS
    plus one sweep interval."""
    routine_before = now - timedelta(seconds=settings.CARECORE_NOTIFICATIONS_REQUEUE_AFTER_SECONDS)
    urgent_before = now - timedelta(
        seconds=settings.CARECORE_NOTIFICATIONS_URGENT_REQUEUE_AFTER_SECONDS
    )
    due = [
        PendingDelivery(*row)
        for row in Notification.objects.select_for_update(skip_locked=True)
        .filter(status=Status.PENDING, due_at__lte=now)
        .filter(
            Q(enqueued_at__isnull=True)
            | Q(enqueued_at__lte=routine_before)
            | Q(urgent=True, enqueued_at__lte=urgent_before)
        )
        .order_by("-urgent", "due_at")
        .values_list("id", "due_at", "urgent")[:batch]
    ]
    if not due:
        return 0
    Notification.objects.filter(id__in=[item.notification_id for item in due]).update(
        enqueued_at=now
    )
    transaction.on_commit(lambda: enqueue_deliveries(due), robust=True)
    return len(due)


@transaction.atomic
def _expire_overdue(now: datetime, batch: int) -> int:
    """Pending rows past their "do not deliver after" time (held by quiet hours or waiting for a
    retry) end as `expired` instead of being published."""
    overdue = list(
        Notification.objects.select_for_update(skip_locked=True)
        .filter(status=Status.PENDING, expires_at__lte=now)
        .values_list("id", flat=True)[:batch]
    )
    return Notification.objects.filter(id__in=overdue).update(
        status=Status.EXPIRED, enqueued_at=None
    )


def notifications_sweep() -> dict[str, int]:
    """Run by Celery beat: take back dead workers' claims, expire rows past their deadline, then
    publish every due row whose task never ran (deferred by quiet hours, or lost with the
    broker). Publishing twice is harmless."""
    now = timezone.now()
    batch = settings.CARECORE_NOTIFICATIONS_SWEEP_BATCH
    released = _release_stale_claims(now, batch)
    expired = _expire_overdue(now, batch)
    enqueued = _enqueue_due(now, batch)
    if enqueued:
        logger.info("notification sweeper enqueued %d row(s)", enqueued)
    return {"released": released, "expired": expired, "enqueued": enqueued}


# --- retention -----------------------------------------------------------------------------------


def _prunable(cutoff: datetime) -> Q:
    """Finished rows created before the cutoff. In-app rows are the user's inbox: only read ones
    go. Failed rows stay until an admin has dealt with them."""
    return Q(created_at__lt=cutoff, status__in=[Status.SENT, Status.EXPIRED]) & (
        ~Q(channel=Channel.IN_APP) | Q(read_at__isnull=False)
    )


@transaction.atomic
def _prune_batch(cutoff: datetime, batch: int) -> int:
    ids = list(
        Notification.objects.filter(_prunable(cutoff))
        .select_for_update(skip_locked=True)
        .values_list("id", flat=True)[:batch]
    )
    if not ids:
        return 0
    DeliveryAttempt.objects.filter(notification_id__in=ids).delete()
    Notification.objects.filter(id__in=ids).delete()
    return len(ids)


def notifications_prune(*, now: datetime | None = None) -> int:
    """Run by Celery beat: delete finished outbox rows and their delivery attempts older than
    CARECORE_NOTIFICATIONS_RETENTION_DAYS, in batches of CARECORE_NOTIFICATIONS_PRUNE_BATCH,
    each in its own short transaction (no long lock, no huge WAL burst). At most
    CARECORE_NOTIFICATIONS_PRUNE_MAX_BATCHES per run; the next run goes on. Returns rows deleted.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.CARECORE_NOTIFICATIONS_RETENTION_DAYS)
    batch = settings.CARECORE_NOTIFICATIONS_PRUNE_BATCH
    deleted = 0
    for _ in range(settings.CARECORE_NOTIFICATIONS_PRUNE_MAX_BATCHES):
        pruned = _prune_batch(cutoff, batch)
        deleted += pruned
        if pruned < batch:
            break
    if deleted:
        logger.info("notification retention pruned %d row(s)", deleted)
    return deleted


@transaction.atomic
def notification_resend(*, actor: User | None, notification_ids: Iterable[UUID | str]) -> int:
    """An admin re-sends failed rows: a fresh round of attempts, published on commit."""
    now = timezone.now()
    rows = list(
        Notification.objects.select_for_update()
        .filter(id__in=list(notification_ids), status=Status.FAILED)
        .values_list("id", flat=True)
    )
    Notification.objects.filter(id__in=rows).update(
        status=Status.PENDING, round_attempt_count=0, due_at=now, enqueued_at=now, claim_token=None
    )
    for notification_id in rows:
        audit_record(
            actor=actor,
            object_type="notification",
            object_id=notification_id,
            action=Action.UPDATE,
            detail={"resend": True},
        )
    if rows:
        urgent = set(
            Notification.objects.filter(id__in=rows, urgent=True).values_list("id", flat=True)
        )
        items = [PendingDelivery(row, now, row in urgent) for row in rows]
        transaction.on_commit(lambda: enqueue_deliveries(items), robust=True)
    return len(rows)


# --- in-app read state -------------------------------------------------------------------------


@transaction.atomic
def notification_mark_read(*, user: User, notification_id: UUID | str) -> Notification:
    """Mark one of `user`'s in-app notifications read (idempotent); anyone else's is a 404."""
    notification = access_notification(user=user, notification_id=notification_id, for_write=True)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def notification_mark_all_read(*, user: User) -> int:
    marked = Notification.objects.filter(
        recipient=user, channel=Channel.IN_APP, read_at__isnull=True
    ).update(read_at=timezone.now())
    audit_record(
        actor=user,
        object_type="notification",
        action=Action.UPDATE,
        patient_id=own_patient_id(user),
        detail={"read_all": marked},
    )
    return marked


# --- preferences -------------------------------------------------------------------------------

KEEP = object()  # `quiet_hours` not given: leave them as they are


def _refuse_silencing_urgent_pages(*, user: User, preferences: list[dict[str, Any]]) -> None:
    """A clinician or coordinator cannot turn an urgent page off in the app, or off on both
    e-mail and SMS: the change is refused whole (400), naming each event it would silence.
    Checked on the values the PUT would leave (what it lists over what is stored or default)."""
    if user.role not in PAGED_ROLES:
        return
    touched = {item["event"] for item in preferences} & URGENT_EVENTS
    if not touched:
        return
    stored = {
        (pref.event, pref.channel): pref.enabled
        for pref in NotificationPreference.objects.filter(user_id=user.id, event__in=touched)
    }
    listed = {(item["event"], item["channel"]): item["enabled"] for item in preferences}
    silenced = []
    for event in sorted(touched):
        enabled = {
            channel: listed.get(
                (event, channel),
                stored.get(
                    (event, channel),
                    default_enabled(role=user.role, event=event, channel=channel),
                ),
            )
            for channel in Channel.values
        }
        if below_urgent_floor(event=event, enabled=enabled):
            silenced.append(
                f"{event} is an urgent page: it stays on in the app and on e-mail or SMS."
            )
    if silenced:
        raise UrgentPageSilenced(fields={"preferences": silenced})


@transaction.atomic
def notification_preferences_set(
    *,
    user: User,
    preferences: list[dict[str, Any]],
    quiet_hours: tuple[Any, Any] | object | None = KEEP,
) -> None:
    """Upsert the listed (event, channel) rows; others keep their value or role default.

    `quiet_hours`: (start, end) local times, None for "no quiet hours", KEEP to leave them.
    """
    seen: set[tuple[str, str]] = set()
    for item in preferences:
        key = (item["event"], item["channel"])
        if key in seen:
            raise ValidationFailed(
                fields={"preferences": [f"{key[0]}/{key[1]} is listed more than once."]}
            )
        seen.add(key)
    _refuse_silencing_urgent_pages(user=user, preferences=preferences)
    NotificationPreference.objects.bulk_create(
        [
            NotificationPreference(
                user=user, event=item["event"], channel=item["channel"], enabled=item["enabled"]
            )
            for item in preferences
        ],
        update_conflicts=True,
        unique_fields=["user", "event", "channel"],
        update_fields=["enabled", "updated_at"],
    )
    if quiet_hours is not KEEP:
        window = cast("tuple[Any, Any] | None", quiet_hours)  # not KEEP: a window or None
        start, end = window if window is not None else (None, None)
        if start is not None and start == end:
            raise ValidationFailed(fields={"quiet_hours": ["Start and end must differ."]})
        QuietHours.objects.update_or_create(user=user, defaults={"start": start, "end": end})
    audit_record(
        actor=user,
        object_type="notification_preferences",
        object_id=user.id,
        patient_id=own_patient_id(user),
        action=Action.UPDATE,
    )


# --- web push subscriptions ------------------------------------------------------------------


def _check_push_endpoint(endpoint: str) -> None:
    """Only push services' hosts: the worker POSTs to this URL, so an arbitrary one would let
    any user make our servers call an address of their choosing (SSRF)."""
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    allowed = settings.CARECORE_WEBPUSH_ALLOWED_HOSTS
    host_allowed = any(host == entry or host.endswith(f".{entry}") for entry in allowed)
    secure = parts.scheme == "https" or (parts.scheme == "http" and host in {"127.0.0.1"})
    if not (host_allowed and secure):
        raise ValidationFailed(fields={"endpoint": ["Use the endpoint of a web push service."]})


def _check_push_key(name: str, value: str, length: int) -> None:
    try:
        decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (ValueError, binascii.Error):
        decoded = b""
    if len(decoded) != length:
        raise ValidationFailed(fields={f"keys.{name}": ["Use the key the browser gave."]})


@transaction.atomic
def push_subscription_register(
    *, user: User, endpoint: str, p256dh: str, auth: str
) -> PushSubscription:
    """Registers (or refreshes) a browser's subscription for `user`. An endpoint belongs to one
    browser: if another account subscribed it before (a shared computer), it moves to `user`,
    so that account's notifications stop appearing on this browser."""
    _check_push_endpoint(endpoint)
    _check_push_key("p256dh", p256dh, 65)  # an uncompressed P-256 point
    _check_push_key("auth", auth, 16)
    subscription, _created = PushSubscription.objects.update_or_create(
        endpoint=endpoint, defaults={"user": user, "p256dh": p256dh, "auth": auth}
    )
    audit_record(
        actor=user,
        object_type="push_subscription",
        object_id=subscription.id,
        patient_id=own_patient_id(user),
        action=Action.CREATE,
    )
    return subscription


@transaction.atomic
def push_subscription_delete(*, user: User, subscription_id: UUID | str) -> None:
    """Forget one of `user`'s browser subscriptions; anyone else's is a 404 (audited)."""
    access_push_subscription(user=user, subscription_id=subscription_id, for_write=True).delete()
