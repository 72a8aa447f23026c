r"""Writes for notifications: the outbox (`notify`), delivery, the sweeper, re-sends, read state
and preferences. Other apps call `notify` only.

The delivery state machine of an e-mail or SMS row:

    pending --claim--> sending --sent--> sent
       ^                  |  \--error, attempts left--> pending (due after a backoff)
       |                  |   \-error, out of attempts--> failed --admin re-send--> pending
       +--sweeper---------+  (claim older than the claim timeout: the worker died)

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

import logging
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, cast
from uuid import UUID

from celery import current_app
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from carecore.accounts.models import STAFF_ROLES, User
from carecore.audit.models import Action
from carecore.audit.services import audit_record
from carecore.common.errors import ValidationFailed

from .access import access_notification, own_patient_id
from .mail import IDEMPOTENCY_HEADER
from .models import (
    AttemptOutcome,
    Channel,
    DeliveryAttempt,
    Event,
    Notification,
    NotificationPreference,
    QuietHours,
    Status,
)
from .policy import default_enabled, default_quiet_hours, quiet_hours_end
from .rendering import check_link_path, render
from .sms import SmsMessage, get_sms_backend, sms_enabled

# The Celery task that delivers one outbox row (tasks.deliver_notification).
DELIVER_TASK = "notifications.deliver"

logger = logging.getLogger("carecore.notifications")

_SUBJECT_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_OCCURRENCE = re.compile(r"^[A-Za-z0-9_:.-]{0,40}$")


class PermanentDeliveryError(Exception):
    """Retrying cannot help (e.g. the recipient has no phone number any more)."""


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
) -> list[Notification]:
    """Called INSIDE the caller's transaction. Writes one outbox row per recipient x enabled
    channel (per the recipient's preferences and role defaults). Idempotent: the unique key is
    (event, recipient, channel, subject_type, subject_id, occurrence), so calling it twice for
    the same occurrence (e.g. a reminder "24h") creates nothing new. Delivery is enqueued on
    commit. `urgent=True` is for urgent clinical events to staff: they ignore quiet hours.
    `link_path` is an in-app path with opaque ids only (e.g. "/appointments/<uuid>").

    Returns the rows this call created (none for a repeat). Queries: preferences, quiet hours,
    the insert, re-reading what was inserted, and the in-app delivery records.
    """
    subject_id = str(subject_id)
    _check_notify_arguments(
        event=event,
        subject_type=subject_type,
        subject_id=subject_id,
        occurrence=occurrence,
        link_path=link_path,
    )
    users = {user.id: user for user in recipients if user.is_active}
    if not users:
        return []
    explicit = {
        (pref.user_id, pref.channel): pref.enabled
        for pref in NotificationPreference.objects.filter(user_id__in=users, event=event)
    }
    quiet = {row.user_id: row for row in QuietHours.objects.filter(user_id__in=users)}
    now = timezone.now()
    in_app_text = render(event=event, channel=Channel.IN_APP, link_path=link_path)
    rows: list[Notification] = []
    for user in users.values():
        for channel in Channel.values:
            enabled = explicit.get(
                (user.id, channel), default_enabled(role=user.role, event=event, channel=channel)
            )
            if not enabled:
                continue
            if channel == Channel.SMS and not (user.phone and sms_enabled()):
                continue
            row = Notification(
                recipient=user,
                event=event,
                channel=channel,
                subject_type=subject_type,
                subject_id=subject_id,
                occurrence=occurrence,
                urgent=urgent,
                link_path=link_path,
                created_at=now,
            )
            if channel == Channel.IN_APP:
                row.status = Status.SENT
                row.due_at = row.sent_at = now
                row.attempt_count = row.round_attempt_count = 1
                row.title, row.body = in_app_text.subject, in_app_text.body
            else:
                row.due_at = delivery_time(
                    user=user, now=now, urgent=urgent, own_quiet_hours=quiet.get(user.id)
                )
                if row.due_at <= now + _enqueue_horizon():
                    row.enqueued_at = row.due_at
            rows.append(row)
    if not rows:
        return []
    # ON CONFLICT DO NOTHING: a concurrent or repeated call for the same key waits for the other
    # transaction and then inserts nothing. Our own ids tell us which rows are new.
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    created = list(
        Notification.objects.filter(id__in=[row.id for row in rows]).order_by("created_at", "id")
    )
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
        (row.id, row.due_at)
        for row in created
        if row.channel != Channel.IN_APP and row.enqueued_at is not None
    ]
    if to_enqueue:
        transaction.on_commit(lambda: enqueue_deliveries(to_enqueue), robust=True)
    return created


def enqueue_deliveries(items: list[tuple[UUID, datetime]]) -> int:
    """Publish one delivery task per row; returns how many were published.

    Runs after commit. If the broker is down the rows stay `pending` and the sweeper publishes
    them later, so this gives up at the first failure instead of stalling the caller's request.
    """
    # By name: tasks.py imports this module (tasks call services, never the other way round);
    # the app config imports tasks.py at start-up, so the task is registered in every process.
    deliver_notification = current_app.tasks[DELIVER_TASK]
    now = timezone.now()
    published = 0
    for notification_id, due_at in items:
        countdown = max(0.0, (due_at - now).total_seconds())
        try:
            deliver_notification.apply_async(
                args=[str(notification_id)],
                countdown=countdown or None,
                retry_policy=settings.CARECORE_NOTIFICATIONS_PUBLISH_RETRY_POLICY,
            )
        except Exception as error:
            logger.warning(
                "notification enqueue failed (%s); %d row(s) left for the sweeper",
                type(error).__name__,
                len(items) - published,
            )
            break
        published += 1
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
    event: str
    channel: str
    link_path: str
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
            RETURNING id, recipient_id, event, channel, link_path, attempt_count,
                round_attempt_count
        ),
        attempt AS (
            INSERT INTO {attempts}
                (notification_id, number, claim_token, started_at, outcome, error, worker)
            SELECT id, attempt_count, %(token)s, %(now)s, 'started', '', %(worker)s FROM claimed
            RETURNING id
        )
        SELECT claimed.id, claimed.event, claimed.channel, claimed.link_path,
            claimed.attempt_count, claimed.round_attempt_count, attempt.id,
            recipient.email, recipient.phone, recipient.is_active, durability.value
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
        return None
    return Claim(
        notification_id=row[0],
        event=row[1],
        channel=row[2],
        link_path=row[3],
        attempt_count=row[4],
        round_attempt_count=row[5],
        claim_token=token,
        attempt_id=row[6],
        email=row[7],
        phone=row[8] or "",
        recipient_active=row[9],
    )


def _send(claim: Claim) -> None:
    if not claim.recipient_active:
        raise PermanentDeliveryError("recipient account is inactive")
    text = render(event=claim.event, channel=claim.channel, link_path=claim.link_path)
    key = str(claim.notification_id)
    if claim.channel == Channel.EMAIL:
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
        message.send(fail_silently=False)
        return
    if claim.channel == Channel.SMS:
        if not claim.phone:
            raise PermanentDeliveryError("recipient has no phone number")
        if not sms_enabled():
            raise PermanentDeliveryError("no SMS backend is configured")
        get_sms_backend().send(SmsMessage(to=claim.phone, body=text.body, idempotency_key=key))
        return
    raise PermanentDeliveryError(f"channel {claim.channel} is not delivered by workers")


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]


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
    if mine.update(
        status=Status.PENDING, due_at=due_at, enqueued_at=due_at, last_error=description
    ):
        notification_id = claim.notification_id
        transaction.on_commit(lambda: enqueue_deliveries([(notification_id, due_at)]), robust=True)
    return Status.PENDING


def notification_deliver(*, notification_id: UUID | str, worker: str = "") -> str:
    """Deliver one e-mail or SMS row if it is due and nobody else has it. Safe to call any
    number of times (duplicated or retried tasks). Returns what happened, for logs and tests:
    "skipped", "sent", "pending" (will retry) or "failed"."""
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


# --- the sweeper -------------------------------------------------------------------------------


@transaction.atomic
def _release_stale_claims(now: datetime, batch: int) -> int:
    """Claims older than the claim timeout belong to workers that died (the task time limit is
    shorter than the timeout, so a live worker has given up by then)."""
    cutoff = now - timedelta(seconds=settings.CARECORE_NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS)
    stale = list(
        Notification.objects.select_for_update(skip_locked=True)
        .filter(status=Status.SENDING, claimed_at__lt=cutoff)
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
    requeue_before = now - timedelta(seconds=settings.CARECORE_NOTIFICATIONS_REQUEUE_AFTER_SECONDS)
    due = list(
        Notification.objects.select_for_update(skip_locked=True)
        .filter(status=Status.PENDING, due_at__lte=now)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=requeue_before))
        .order_by("due_at")
        .values_list("id", "due_at")[:batch]
    )
    if not due:
        return 0
    Notification.objects.filter(id__in=[notification_id for notification_id, _ in due]).update(
        enqueued_at=now
    )
    transaction.on_commit(lambda: enqueue_deliveries(due), robust=True)
    return len(due)


def notifications_sweep() -> dict[str, int]:
    """Run by Celery beat: take back dead workers' claims, then publish every due row whose task
    never ran (deferred by quiet hours, or lost with the broker). Publishing twice is harmless."""
    now = timezone.now()
    batch = settings.CARECORE_NOTIFICATIONS_SWEEP_BATCH
    released = _release_stale_claims(now, batch)
    enqueued = _enqueue_due(now, batch)
    if enqueued:
        logger.info("notification sweeper enqueued %d row(s)", enqueued)
    return {"released": released, "enqueued": enqueued}


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
        items = [(notification_id, now) for notification_id in rows]
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
