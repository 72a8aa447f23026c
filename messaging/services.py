"""Writes for messaging. Every write goes through one of these functions (API, tasks, admin).

Notifications go through the outbox inside the same transaction as the write they announce, so a
rolled-back write announces nothing. A send records one `Announcement` row and a worker tells
people of it (`announcements.py`: `message_received`, `triage_urgent` and the feed events, keyed
by the message id); a ladder step notifies its recipients (`EscalationStep.recipient_ids`,
`thread_escalated`, keyed by the step and its response clock) in its own transaction. No text,
subject, name or category is ever passed to the outbox: only the thread id and ids-only link
paths. See docs/messaging.md.

Locking: every function that changes a thread takes that thread's row lock (SELECT ... FOR
UPDATE: `access_thread(lock=True)` for user actions, a plain `select_for_update()` in
`thread_escalate` and for the new row in `thread_open`) before reading its counters, so
positions, counters, status and the response clock change in one serial order per thread.
Triage (medspaCy, milliseconds to tens of milliseconds) runs before the transaction starts, so
no lock is held while a patient's text is screened.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from carecore.accounts.access import access_patient, deny
from carecore.accounts.models import CARE_TEAM_ROLES, BreakGlassGrant, Role, User
from carecore.accounts.selectors import (
    escalation_ladder_user_ids,
)
from carecore.accounts.services import break_glass_open
from carecore.audit.models import Action
from carecore.audit.services import (
    AuditNote,
    AuditTarget,
    audit_record,
    audit_record_many,
    audit_record_together,
)
from carecore.clinical.escalation import LadderStep, step_occurrence, steps_due
from carecore.clinical.severity import Severity
from carecore.common.body_limits import PayloadTooLarge
from carecore.common.errors import Conflict, Forbidden, ValidationFailed
from carecore.notifications import links
from carecore.notifications.models import Event
from carecore.notifications.services import (
    notify,
)
from carecore.realtime.services import (
    EventType,
    NewEvent,
    event_publish,
    event_publish_for_patient,
    patient_audience,
)

from . import policy, triage
from .access import WRITER_ROLES, access_thread, escalated_thread_patient_id, visible_threads
from .announcements import announcement_record
from .files import sniff_and_clean
from .models import (
    Attachment,
    Category,
    EscalationStep,
    Message,
    Notify,
    Priority,
    SenderKind,
    Thread,
    ThreadReadState,
    ThreadStatus,
)

MAX_ATTACHMENTS_PER_MESSAGE = 10


class ClientIdReused(Conflict):
    code = "client_id_reused"
    default_message = "This client_id was already used for a message in another thread."


class TooManyUnsentAttachments(Conflict):
    code = "too_many_unsent_attachments"
    default_message = (
        "Too many files are uploaded but not sent yet. Send them with a message (or wait until "
        "unsent uploads are deleted) before uploading more."
    )


@dataclass
class MessageSendResult:
    message: Message
    created: bool
    # Who is told is decided by the announcing worker (announcements.py): `notify` says whom
    # (the care team for a patient message, the patient for a staff reply, nobody for internal
    # notes; nothing is announced for an idempotent replay), `pages_on_call` whether on-call is
    # paged `triage_urgent` (an emergency, crisis or urgent flag, never "soon").
    notify: Notify = Notify.NOBODY
    pages_on_call: bool = False
    triage_flags: list[str] = field(default_factory=list)
    triage_severity: Severity | None = None
    auto_replies: list[Message] = field(default_factory=list)


# --- recipients -------------------------------------------------------------------------------


def escalation_recipient_ids(*, thread: Thread, step: int) -> list[UUID]:
    return escalation_ladder_user_ids(
        patient_id=thread.patient_id, step=step, assignee_id=thread.assignee_id
    )


# --- notifications ----------------------------------------------------------------------------


def _active_users(user_ids: Iterable[UUID | str]) -> dict[str, User]:
    """The active accounts among `user_ids`, in one query, keyed by the id as a string (escalation
    steps store their recipients as JSON strings)."""
    wanted = {str(user_id) for user_id in user_ids}
    if not wanted:
        return {}
    return {str(user.id): user for user in User.objects.filter(id__in=wanted, is_active=True)}


def _pick(users: dict[str, User], user_ids: Iterable[UUID | str]) -> list[User]:
    return [users[str(user_id)] for user_id in user_ids if str(user_id) in users]


def _thread_link(thread: Thread) -> str:
    return links.thread_page(thread.id)


class _ClientIdTaken(Exception):
    """The (sender, client_id) of a send was taken by a concurrent send that committed first.
    Raised out of the send's transaction so that all of it rolls back (outbox and audit rows
    included); the caller then replays the send that won."""


@dataclass(frozen=True)
class _SendPlan:
    """What a send decides before it takes the thread's lock: the new message's id, whom it
    tells and whether it pages on-call (the audit row is already written)."""

    message_id: UUID
    notify: Notify
    page_on_call: bool


def _message_created(*, message_id: UUID, internal: bool, attachment_count: int) -> AuditNote:
    """The create event of a message about to be written (no text: only what kind it is)."""
    return AuditNote(
        object_type="message",
        object_id=message_id,
        action=Action.CREATE,
        detail={"internal": internal, "attachments": attachment_count},
    )


def _plan_send(
    *,
    actor: User,
    internal: bool,
    screening: triage.Screening,
    message_id: UUID,
) -> _SendPlan:
    """Whom the message about to be written will tell, and whether it pages on-call.

    Told `message_received`: the care team for a patient message, the patient for a staff
    reply; nobody for an internal note. On-call is paged `triage_urgent` when triage raised an
    emergency, crisis or urgent flag. The announcing worker finds the people (announcements.py).
    Automatic replies are not announced by notification: they answer the patient's own message,
    which the patient is looking at.
    """
    if internal and actor.role not in CARE_TEAM_ROLES:
        raise Forbidden("Only clinicians and coordinators can write internal notes.")
    severity = screening.severity if actor.role == Role.PATIENT else None
    if actor.role == Role.PATIENT:
        notify = Notify.CARE_TEAM
    elif not internal:
        notify = Notify.PATIENT
    else:
        notify = Notify.NOBODY
    return _SendPlan(
        message_id=message_id,
        notify=notify,
        page_on_call=severity is not None and severity.pages_on_call,
    )


# --- real-time events (ids and status words only; docs/realtime.md) ---------------------------


def _thread_updated(thread: Thread) -> NewEvent:
    return NewEvent(
        EventType.THREAD_UPDATED,
        {
            "thread_id": thread.id,
            "patient_id": thread.patient_id,
            "status": thread.status,
            "priority": thread.priority,
            "assignee_id": thread.assignee_id,
        },
    )


def _publish_thread_updated(thread: Thread) -> None:
    event_publish_for_patient(patient=thread.patient, events=[_thread_updated(thread)])


def _announce_send(*, thread: Thread, result: MessageSendResult, thread_changed: bool) -> None:
    """Leave the send's news to the announcing worker (announcements.py): message.created for the
    message and its automatic replies to the care team (and the patient unless internal), then
    thread.updated to both when the send moved the status or priority, and the notifications."""
    events: list[tuple[NewEvent, bool]] = [
        (
            NewEvent(
                EventType.MESSAGE_CREATED,
                {
                    "thread_id": thread.id,
                    "message_id": message.id,
                    "patient_id": thread.patient_id,
                    "sender_kind": message.sender_kind,
                    "internal": message.internal,
                },
            ),
            not message.internal,
        )
        for message in [result.message, *result.auto_replies]
    ]
    if thread_changed:
        events.append((_thread_updated(thread), True))
    announcement_record(
        thread=thread,
        message_id=result.message.id,
        notify=result.notify,
        page_on_call=result.pages_on_call,
        feed_events=events,
    )


def _publish_read(*, thread: Thread, reader: User) -> None:
    """message.read to the reader's other devices and, when the patient read, to the care team
    (read receipts are for staff). Staff outside the team (break-glass) are told nothing."""
    audience = patient_audience(patient=thread.patient)
    if reader.role != Role.PATIENT:
        audience = [user_id for user_id in audience if user_id == reader.id]
    event = NewEvent(
        EventType.MESSAGE_READ,
        {
            "thread_id": thread.id,
            "patient_id": thread.patient_id,
            "reader_kind": _sender_kind(reader),
        },
    )
    event_publish(user_ids=audience, events=[event])


def escalation_occurrence(escalation: EscalationStep) -> str:
    """`step-<n>:<awaiting_since in UTC>`, e.g. "step-1:20260310T150000.000000Z": the step is
    recorded once per response clock (carecore/clinical/escalation.py)."""
    return step_occurrence(escalation.step, escalation.awaiting_since)


# --- sending ----------------------------------------------------------------------------------


def _sender_kind(user: User) -> str:
    return SenderKind.PATIENT if user.role == Role.PATIENT else SenderKind.STAFF


def _append(
    *,
    thread: Thread,
    sender: User | None,
    body: str,
    internal: bool = False,
    client_id: str | None = None,
    now: datetime,
    message_id: UUID | None = None,
) -> Message:
    """Insert a message at the end of a locked thread and move its counters.

    A (sender, client_id) another send took first raises `_ClientIdTaken` (the transaction is
    then broken, and must end: the caller replays)."""
    # Never older than its thread, even when this web process's clock lags the one that opened
    # it: the thread page skips the month partitions before the thread's `created_at`.
    now = max(now, thread.created_at)
    thread.message_count += 1
    if not internal:
        thread.public_message_count += 1
    message = Message(
        id=message_id or uuid4(),
        thread=thread,
        sender=sender,
        sender_kind=_sender_kind(sender) if sender else SenderKind.SYSTEM,
        body=body,
        internal=internal,
        client_id=client_id,
        created_at=now,
        position=thread.message_count,
        public_position=thread.public_message_count,
    )
    try:
        message.save(force_insert=True)
    except IntegrityError as error:
        if client_id is None:
            raise
        raise _ClientIdTaken() from error
    if not internal:
        thread.last_message_at = now
        thread.last_public_message = message
    if sender is not None:
        # Writing in a thread means having read it, so one's own messages are never unread.
        _read_state_upsert(thread=thread, user=sender, now=now)
    return message


def _read_state_upsert(*, thread: Thread, user: User, now: datetime) -> None:
    """Advance `user`'s read state to the thread's current end; never moves it backwards.

    A plain upsert could let a slower concurrent request (with an older snapshot of the
    counters) overwrite a newer position; GREATEST keeps the furthest one.
    """
    table = ThreadReadState._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} AS rs
                (thread_id, user_id, read_position, read_public_position, read_at)
            VALUES (%s, %s, %s, %s, %s)
            ON CONFLICT (thread_id, user_id) DO UPDATE SET
                read_position = GREATEST(rs.read_position, EXCLUDED.read_position),
                read_public_position =
                    GREATEST(rs.read_public_position, EXCLUDED.read_public_position),
                read_at = GREATEST(rs.read_at, EXCLUDED.read_at)
            """,  # noqa: S608  # nosec B608 # the table name is ours, every value is a parameter
            [thread.id, user.id, thread.message_count, thread.public_message_count, now],
        )


def _link_attachments(
    *, message: Message, sender: User, attachment_ids: Sequence[UUID]
) -> list[Attachment]:
    if not attachment_ids:
        return []
    wanted = set(attachment_ids)
    if len(wanted) > MAX_ATTACHMENTS_PER_MESSAGE:
        raise ValidationFailed(
            fields={"attachments": [f"At most {MAX_ATTACHMENTS_PER_MESSAGE} attachments."]}
        )
    attachments = list(
        Attachment.objects.select_for_update().filter(
            id__in=wanted, uploaded_by=sender, message__isnull=True
        )
    )
    if len(attachments) != len(wanted):
        # Someone else's upload, one already sent, or a missing id: all look the same.
        raise ValidationFailed(fields={"attachments": ["Unknown or already sent attachment."]})
    Attachment.objects.filter(id__in=wanted).update(
        message=message, message_created_at=message.created_at
    )
    for attachment in attachments:
        attachment.message = message
        attachment.message_created_at = message.created_at
    return sorted(attachments, key=lambda attachment: (attachment.created_at, attachment.id))


def screen_patient_text(*, actor: User, body: str, subject: str = "") -> triage.Screening:
    """Triage what a patient writes (nothing for staff). Called before any transaction or lock:
    screening a long message takes tens of milliseconds, which no row lock should wait for."""
    if actor.role != Role.PATIENT:
        return triage.Screening()
    return triage.screen_message(subject=subject, body=body)


def _record_triage(
    *, thread: Thread, message: Message, screening: triage.Screening, result: MessageSendResult
) -> None:
    """Store what triage found on the message and raise the thread's priority (never lower it).
    On-call is paged by the send's plan (`_plan_send`)."""
    severity = screening.severity
    if severity is None:
        return
    message.triage_flags = screening.codes
    message.triage_hits = screening.hits_json()
    message.triage_discounted = screening.discounted_json()
    message.save(update_fields=["triage_flags", "triage_hits", "triage_discounted"])
    result.triage_flags = screening.codes
    result.triage_severity = severity
    wanted = Priority.URGENT if severity.pages_on_call else Priority.SOON
    if wanted.rank > Priority(thread.priority).rank:
        thread.priority = wanted


def _after_patient_message(
    *,
    thread: Thread,
    message: Message,
    screening: triage.Screening,
    now: datetime,
    result: MessageSendResult,
) -> None:
    """Reopen, record triage, start the response clock and post the automatic replies."""
    if thread.status == ThreadStatus.CLOSED:
        thread.closed_at = None
    thread.status = ThreadStatus.OPEN
    if screening.hits:
        _record_triage(thread=thread, message=message, screening=screening, result=result)
    elif screening.discounted:
        # Nothing raised, but the clinician still sees what was discounted and why.
        message.triage_discounted = screening.discounted_json()
        message.save(update_fields=["triage_discounted"])
    due = policy.response_due_at(received_at=now, priority=thread.priority)
    if thread.awaiting_since is None:
        thread.awaiting_since = now
        thread.first_response_due_at = due
    elif thread.first_response_due_at is None or due < thread.first_response_due_at:
        # A red flag on an already waiting thread pulls the promise forward, never back.
        thread.first_response_due_at = due
    severity = screening.severity
    if severity is not None and severity.pages_on_call:
        text = policy.triage_reply(severity=severity, codes=screening.codes)
        result.auto_replies.append(_append(thread=thread, sender=None, body=text, now=now))
        return
    hours = policy.care_team_hours()
    already_told = (
        thread.after_hours_reply_until is not None and now < thread.after_hours_reply_until
    )
    if not hours.is_open(now) and not already_told:
        # A send reads the thread alone (`_message_send_atomic`), so this reads the patient and
        # their account: two small queries, once per thread in each after-hours stretch.
        text = policy.after_hours_reply(
            expected=thread.first_response_due_at, patient_zone=thread.patient.user.zone
        )
        result.auto_replies.append(_append(thread=thread, sender=None, body=text, now=now))
        thread.after_hours_reply_until = hours.next_opening(now)


def _after_staff_reply(*, thread: Thread) -> None:
    """A reply the patient sees answers them: the clock stops and the ball is in their court."""
    thread.status = ThreadStatus.WAITING_ON_PATIENT
    thread.closed_at = None
    thread.awaiting_since = None
    thread.first_response_due_at = None


_THREAD_FIELDS = [
    "status",
    "priority",
    "last_message_at",
    "last_public_message",
    "message_count",
    "public_message_count",
    "awaiting_since",
    "first_response_due_at",
    "after_hours_reply_until",
    "closed_at",
]


def _lock_client_id(*, sender: User, client_id: str | None) -> None:
    """Serialise every send and open that uses one (sender, client_id), until the transaction
    ends. The unique constraint on messages contains `created_at` (they are partitioned by
    month), so two concurrent duplicates either side of a month boundary would both pass it;
    under this lock the second always finds the first (`_existing_by_client_id`)."""
    if not client_id:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"messaging.client_id:{sender.id}:{client_id}"],
        )


def _existing_by_client_id(*, sender: User, client_id: str | None) -> Message | None:
    if not client_id:
        return None
    return Message.objects.filter(sender=sender, client_id=client_id).first()


def _replay(*, existing: Message, thread: Thread) -> MessageSendResult:
    if existing.thread_id != thread.id:
        raise ClientIdReused()
    return MessageSendResult(message=existing, created=False)


def _send_locked(
    *,
    thread: Thread,
    actor: User,
    body: str,
    internal: bool,
    client_id: str | None,
    attachment_ids: Sequence[UUID],
    screening: triage.Screening,
    plan: _SendPlan,
) -> MessageSendResult:
    """The part of a send that needs the thread's row lock, which the caller holds (and which
    lasts until the transaction ends): the message's position, the counters, the status and
    response clock, and its announcement (so a thread's messages are announced in order).
    Everything else is in `plan`, done before."""
    now = timezone.now()
    thread_before = (thread.status, thread.priority)
    message = _append(
        thread=thread,
        sender=actor,
        body=body,
        internal=internal,
        client_id=client_id,
        now=now,
        message_id=plan.message_id,
    )
    # As the API shows the message, so it need not be read again (selectors.message_detail).
    message.shown_attachments = _link_attachments(  # type: ignore[attr-defined]
        message=message, sender=actor, attachment_ids=attachment_ids
    )
    result = MessageSendResult(
        message=message, created=True, notify=plan.notify, pages_on_call=plan.page_on_call
    )
    if actor.role == Role.PATIENT:
        _after_patient_message(
            thread=thread, message=message, screening=screening, now=now, result=result
        )
    elif not internal:
        _after_staff_reply(thread=thread)
    thread.save(update_fields=_THREAD_FIELDS)
    _announce_send(
        thread=thread,
        result=result,
        thread_changed=thread_before != (thread.status, thread.priority),
    )
    return result


def message_send(
    *,
    actor: User,
    thread_id: UUID | str,
    body: str,
    internal: bool = False,
    client_id: str | None = None,
    attachment_ids: Sequence[UUID] = (),
) -> MessageSendResult:
    """Send a message in a thread; a repeated (actor, client_id) returns the original.

    A patient message is triaged first, outside the transaction and before any lock. Then, in
    one transaction: a repeated client_id is looked for; the access check reads the thread and
    takes its row lock in one query, and writes its audit event and the message's in one
    INSERT; under the lock the message takes its position, the thread's status and response
    clock move and its announcement is recorded (a worker writes the notifications and feed
    events once it commits: announcements.py). A closed thread reopens and the first-response
    clock starts on a patient message; a staff reply (not an internal note) stops it.
    """
    screening = screen_patient_text(actor=actor, body=body)
    arguments: dict[str, Any] = {
        "actor": actor,
        "thread_id": thread_id,
        "body": body,
        "internal": internal,
        "client_id": client_id,
        "attachment_ids": attachment_ids,
        "screening": screening,
    }
    try:
        return _message_send_atomic(**arguments)
    except _ClientIdTaken:
        # A concurrent send with the same client_id committed first; everything of ours rolled
        # back. Again, it finds that message and replays it (or says it belongs elsewhere).
        return _message_send_atomic(**arguments)


@transaction.atomic
def _message_send_atomic(
    *,
    actor: User,
    thread_id: UUID | str,
    body: str,
    internal: bool,
    client_id: str | None,
    attachment_ids: Sequence[UUID],
    screening: triage.Screening,
) -> MessageSendResult:
    # A concurrent retry of the same send waits here for the first, then finds and replays it.
    _lock_client_id(sender=actor, client_id=client_id)
    existing = _existing_by_client_id(sender=actor, client_id=client_id)
    if existing is not None:
        thread = access_thread(user=actor, thread_id=thread_id, for_write=True)
        return _replay(existing=existing, thread=thread)
    message_id = uuid4()
    # Locked by the access check itself: the statements under the lock are the audit INSERT
    # and the send's own four, as many as with a separate FOR UPDATE read after an unlocked
    # check, and the send makes one round trip fewer. Only the thread's row is locked.
    # A send needs the thread's own columns only: compiling and loading its patient, their
    # account and the assignee as well cost 1-1.5 ms of CPU per send (docs/benchmarks.md).
    thread = access_thread(
        user=actor,
        thread_id=thread_id,
        for_write=True,
        lock=True,
        related=(),
        also=(
            _message_created(
                message_id=message_id, internal=internal, attachment_count=len(attachment_ids)
            ),
        ),
    )
    return _send_locked(
        thread=thread,
        actor=actor,
        body=body,
        internal=internal,
        client_id=client_id,
        attachment_ids=attachment_ids,
        screening=screening,
        plan=_plan_send(actor=actor, internal=internal, screening=screening, message_id=message_id),
    )


def thread_check_writable(*, actor: User, thread_id: UUID | str) -> None:
    """NotFound (audited) unless `actor` may write in the thread, as `message_send` checks: for
    work a send needs done first (storing its files), so that a thread the actor may not write
    in is refused before anything is stored. The send checks again under its lock."""
    access_thread(user=actor, thread_id=thread_id, for_write=True, related=())


@dataclass
class ThreadOpenResult:
    thread: Thread
    created: bool
    send: MessageSendResult


def thread_open(
    *,
    actor: User,
    subject: str,
    category: str,
    body: str,
    patient_id: UUID | str | None = None,
    client_id: str | None = None,
    attachment_ids: Sequence[UUID] = (),
) -> ThreadOpenResult:
    """Open a thread with its first message. Patients open their own; care-team staff open one
    for a patient they may see (`patient_id`). A repeated `client_id` returns the original.
    A patient's subject and body are triaged together first, before any transaction or lock."""
    screening = screen_patient_text(actor=actor, subject=subject, body=body)
    arguments: dict[str, Any] = {
        "actor": actor,
        "subject": subject,
        "category": category,
        "body": body,
        "patient_id": patient_id,
        "client_id": client_id,
        "attachment_ids": attachment_ids,
        "screening": screening,
    }
    try:
        return _thread_open_atomic(**arguments)
    except _ClientIdTaken:
        # A send elsewhere took this client_id first; again, the open finds and replays it.
        return _thread_open_atomic(**arguments)


@transaction.atomic
def _thread_open_atomic(
    *,
    actor: User,
    subject: str,
    category: str,
    body: str,
    patient_id: UUID | str | None,
    client_id: str | None,
    attachment_ids: Sequence[UUID],
    screening: triage.Screening,
) -> ThreadOpenResult:
    if category not in Category.values:
        raise ValidationFailed(fields={"category": ["Unknown category."]})
    # Serialise retries of one open: two concurrent POSTs with the same client_id would
    # otherwise both create a thread (the message constraint only catches the second message).
    _lock_client_id(sender=actor, client_id=client_id)
    existing = _existing_by_client_id(sender=actor, client_id=client_id)
    if existing is not None:
        thread = access_thread(user=actor, thread_id=existing.thread_id)
        return ThreadOpenResult(
            thread=thread, created=False, send=MessageSendResult(message=existing, created=False)
        )
    if actor.role == Role.PATIENT:
        own = getattr(actor, "patient", None)
        if own is None or (patient_id is not None and str(patient_id) != str(own.id)):
            # A patient writes only to their own care team: naming anyone else is a denial.
            deny(user=actor, object_type="patient", object_id=patient_id, action=Action.CREATE)
        patient_id = own.id
    elif actor.role in CARE_TEAM_ROLES:
        if patient_id is None:
            raise ValidationFailed(fields={"patient": ["Staff must name the patient."]})
    else:
        raise Forbidden()
    patient = access_patient(user=actor, patient_id=patient_id, for_write=True)
    now = timezone.now()
    thread = Thread(
        patient=patient,
        subject=subject,
        category=category,
        created_by=actor,
        created_at=now,
        last_message_at=now,
        # Until the first message decides it (a staff-opened thread waits on the patient).
        status=ThreadStatus.OPEN,
    )
    thread.save(force_insert=True)
    message_id = uuid4()
    audit_record_together(
        actor=actor,
        patient_id=patient.id,
        notes=(
            AuditNote(object_type="message_thread", object_id=thread.id, action=Action.CREATE),
            _message_created(
                message_id=message_id, internal=False, attachment_count=len(attachment_ids)
            ),
        ),
    )
    # Lock the new row like every other thread write (cheap: nobody else can see it yet).
    thread = (
        Thread.objects.select_for_update(of=("self",))
        .select_related("patient__user")
        .get(pk=thread.pk)
    )
    plan = _plan_send(actor=actor, internal=False, screening=screening, message_id=message_id)
    send = _send_locked(
        thread=thread,
        actor=actor,
        body=body,
        internal=False,
        client_id=client_id,
        attachment_ids=attachment_ids,
        screening=screening,
        plan=plan,
    )
    return ThreadOpenResult(thread=thread, created=True, send=send)


# --- read state, assignment, status ---------------------------------------------------------


@transaction.atomic
def thread_mark_read(*, actor: User, thread_id: UUID | str) -> ThreadReadState:
    """Everything in the thread up to now is read by `actor` (read receipts for staff)."""
    thread = access_thread(user=actor, thread_id=thread_id)
    now = timezone.now()
    read_before = (
        ThreadReadState.objects.filter(thread=thread, user=actor)
        .values_list("read_position", flat=True)
        .first()
    )
    _read_state_upsert(thread=thread, user=actor, now=now)
    state = ThreadReadState.objects.get(thread=thread, user=actor)
    if state.read_position != read_before:
        _publish_read(thread=thread, reader=actor)
    return state


def _lock_for_staff(actor: User, thread_id: UUID | str) -> Thread:
    if actor.role not in CARE_TEAM_ROLES:
        raise Forbidden("Only the care team can do this.")
    return access_thread(user=actor, thread_id=thread_id, for_write=True, lock=True)


@transaction.atomic
def thread_assign(*, actor: User, thread_id: UUID | str, assignee_id: UUID | str | None) -> Thread:
    """Assign (or, with None, unassign) a thread to an active clinician or coordinator of the
    patient's care team. Claiming is assigning to oneself. Takes the thread's row lock.

    Access comes first (another team's thread is a 404, whatever `assignee_id` is); then any
    other id, a string that is not a user id at all included, is a `validation_error` on
    `assignee`, never taken for "nobody"."""
    thread = _lock_for_staff(actor, thread_id)
    assignee = None if assignee_id is None else _assignable(thread, assignee_id)
    thread.assignee = assignee
    thread.save(update_fields=["assignee"])
    _publish_thread_updated(thread)
    audit_record(
        actor=actor,
        object_type="message_thread",
        object_id=thread.id,
        patient_id=thread.patient_id,
        action=Action.UPDATE,
        detail={"assigned": str(assignee.id) if assignee else None},
    )
    return thread


def _assignable(thread: Thread, assignee_id: UUID | str) -> User:
    """The active clinician or coordinator of the thread's patient's care team with this id."""
    try:
        user_id = UUID(str(assignee_id))
    except ValueError:
        raise _not_assignable() from None  # not an id at all: nobody has it
    assignee = User.objects.filter(
        pk=user_id,
        is_active=True,
        role__in=list(CARE_TEAM_ROLES),
        care_team_memberships__care_team__patient_id=thread.patient_id,
    ).first()
    if assignee is None:
        raise _not_assignable()
    return assignee


def _not_assignable() -> ValidationFailed:
    return ValidationFailed(
        fields={"assignee": ["Must be a clinician or coordinator on the care team."]}
    )


def _status_changed(actor: User, thread: Thread) -> None:
    """After a staff member closed or reopened a thread: tell its audience, audit the change."""
    _publish_thread_updated(thread)
    audit_record(
        actor=actor,
        object_type="message_thread",
        object_id=thread.id,
        patient_id=thread.patient_id,
        action=Action.UPDATE,
        detail={"status": thread.status},
    )


@transaction.atomic
def thread_close(*, actor: User, thread_id: UUID | str) -> Thread:
    """Close a thread; closing stops the response clock. Closing a closed thread is a no-op."""
    thread = _lock_for_staff(actor, thread_id)
    if thread.status != ThreadStatus.CLOSED:
        thread.status = ThreadStatus.CLOSED
        thread.closed_at = timezone.now()
        thread.awaiting_since = None
        thread.first_response_due_at = None
        thread.save(
            update_fields=["status", "closed_at", "awaiting_since", "first_response_due_at"]
        )
        _status_changed(actor, thread)
    return thread


@transaction.atomic
def thread_reopen(*, actor: User, thread_id: UUID | str) -> Thread:
    """Reopen a closed thread (status open, no response clock: nobody is waiting yet)."""
    thread = _lock_for_staff(actor, thread_id)
    if thread.status == ThreadStatus.CLOSED:
        thread.status = ThreadStatus.OPEN
        thread.closed_at = None
        thread.save(update_fields=["status", "closed_at"])
        _status_changed(actor, thread)
    return thread


# --- escalation -------------------------------------------------------------------------------


def _steps_due(thread: Thread, now: datetime) -> list[LadderStep]:
    return steps_due(
        due_at=thread.first_response_due_at,
        gap=policy.escalation_step_gap(thread.priority),
        now=now,
    )


@transaction.atomic
def thread_escalate(*, thread_id: UUID, now: datetime | None = None) -> list[EscalationStep]:
    """Record the ladder steps now due for one overdue thread, each at most once per response
    clock; returns only the steps recorded by this call. Takes the thread's row lock, and the
    unique constraint (thread, awaiting_since, step) backs it up."""
    now = now or timezone.now()
    thread = Thread.objects.select_for_update().filter(pk=thread_id).first()
    if thread is None or thread.status == ThreadStatus.CLOSED or thread.awaiting_since is None:
        return []
    due = _steps_due(thread, now)
    done = set(
        EscalationStep.objects.filter(
            thread=thread, awaiting_since=thread.awaiting_since
        ).values_list("step", flat=True)
    )
    recipients = {
        step: [str(uid) for uid in escalation_recipient_ids(thread=thread, step=step)]
        for step in due
        if step not in done
    }
    # One query for everyone a late sweep tells at once (it can record all three steps).
    users = _active_users(uid for ids in recipients.values() for uid in ids)
    recorded: list[EscalationStep] = []
    for step, recipient_ids in recipients.items():
        escalation = EscalationStep.objects.create(
            thread=thread,
            awaiting_since=thread.awaiting_since,
            step=step,
            recipient_ids=recipient_ids,
            created_at=now,
        )
        audit_record(
            actor=None,
            object_type="message_thread",
            object_id=thread.id,
            patient_id=thread.patient_id,
            action=Action.UPDATE,
            detail={"escalation_step": step},
        )
        escalated_to = _pick(users, recipient_ids)
        # Nobody active to tell (no assignee and no coordinator): the step is still recorded,
        # and the next rung comes one gap later.
        if escalated_to:
            notify(
                event=Event.THREAD_ESCALATED,
                recipients=escalated_to,
                subject_type="thread",
                subject_id=thread.id,
                occurrence=escalation_occurrence(escalation),
                urgent=thread.priority == Priority.URGENT,
                link_path=_thread_link(thread),
            )
        recorded.append(escalation)
    return recorded


@transaction.atomic
def thread_break_glass_open(*, actor: User, thread_id: UUID, reason: str) -> BreakGlassGrant | None:
    """Break-glass access (`break_glass_open`: read-only, time-limited, audited, announced to
    the patient's lead clinician and the admins) to the patient of a thread that was escalated
    to `actor` and that they cannot read: the ladder's last rung, the clinical lead, is usually
    off the patient's care team, and this is how they act on the `thread_escalated` notice.

    None when `actor` can read the thread already (on the care team by now, or a grant still
    open, as after a second click on the button): nothing is opened. Anyone else (not a
    recipient of an escalation of this thread, not a clinician, no such thread) gets the 404 of
    a thread that does not exist, audited as denied. The patient's id never leaves messaging.
    """
    patient_id = escalated_thread_patient_id(user=actor, thread_id=thread_id)
    if patient_id is None:
        if visible_threads(actor).filter(pk=thread_id).exists():
            return None
        deny(
            user=actor,
            object_type="message_thread",
            object_id=thread_id,
            action=Action.BREAK_GLASS,
        )
    return break_glass_open(user=actor, patient_id=patient_id, reason=reason)


def overdue_thread_ids(*, now: datetime, limit: int = 1000) -> list[UUID]:
    """Threads whose response clock has run out (uses the partial index `thread_due`)."""
    return list(
        Thread.objects.filter(first_response_due_at__lte=now)
        .exclude(status=ThreadStatus.CLOSED)
        .order_by("first_response_due_at")
        .values_list("id", flat=True)[:limit]
    )


# --- attachments ------------------------------------------------------------------------------


def _media_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "attachments"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def attachment_upload(*, actor: User, upload: File) -> Attachment:
    """Store an upload: type sniffed from the bytes, images re-encoded without metadata, PDFs
    rewritten without metadata or active content, a random file name under MEDIA_ROOT. It stays
    private to the uploader until it is sent.

    The size is checked before the file is read into memory (the request's upload handler has
    already stopped reading past CARECORE_UPLOAD_MAX_BYTES). The decoding and re-encoding run
    outside the transaction; inside it the uploader's user row is locked (FOR NO KEY UPDATE, so
    rows referencing the user are not blocked) while the unsent uploads are counted, so two
    parallel uploads cannot both take the last place under the cap."""
    if actor.role not in WRITER_ROLES:
        raise Forbidden()
    limit = settings.CARECORE_MESSAGING_ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise PayloadTooLarge(
            f"The file is too large: files may be at most {limit} bytes.",
            fields={"file": [f"Files may be at most {limit} bytes."]},
        )
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(
            f"The file is too large: files may be at most {limit} bytes.",
            fields={"file": [f"Files may be at most {limit} bytes."]},
        )
    if not data:
        raise ValidationFailed(fields={"file": ["The file is empty."]})
    _check_unsent_attachments(actor=actor, lock=False)  # fail fast, before the decoding work
    content_type, clean = sniff_and_clean(
        data, max_image_pixels=settings.CARECORE_MESSAGING_IMAGE_MAX_PIXELS
    )
    del data
    with transaction.atomic():
        _check_unsent_attachments(actor=actor, lock=True)
        storage_name = f"{secrets.token_hex(16)}.bin"
        target = _media_dir() / storage_name
        # "x": never overwrite; the name is 128 random bits and not derived from anything the
        # client sent, so it cannot be steered outside the directory or guessed.
        with open(target, "xb") as handle:
            handle.write(clean)
        try:
            attachment = Attachment.objects.create(
                uploaded_by=actor,
                content_type=content_type,
                size=len(clean),
                sha256=hashlib.sha256(clean).hexdigest(),
                storage_name=storage_name,
            )
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        audit_record(
            actor=actor,
            object_type="message_attachment",
            object_id=attachment.id,
            action=Action.CREATE,
        )
    return attachment


def _check_unsent_attachments(*, actor: User, lock: bool) -> None:
    """TooManyUnsentAttachments when the actor already has the most uploads waiting to be sent.
    With `lock`, inside a transaction: locks the actor's user row first (see attachment_upload)."""
    if lock:
        User.objects.select_for_update(no_key=True).filter(pk=actor.pk).values_list("pk").get()
    cap = settings.CARECORE_MESSAGING_UNSENT_ATTACHMENTS_MAX
    # Answered by the partial index on unsent rows (attachment_unsent) and the uploader's FK.
    unsent = Attachment.objects.filter(uploaded_by=actor, message__isnull=True).count()
    if unsent >= cap:
        raise TooManyUnsentAttachments(
            f"You have {unsent} uploaded files that are not sent yet (at most {cap}). Send them "
            "with a message, or wait until unsent uploads are deleted, before uploading more."
        )


def attachment_open(*, attachment: Attachment) -> io.BufferedReader:
    return open(_media_dir() / attachment.storage_name, "rb")


def _delete_unsent(attachments: QuerySet[Attachment]) -> list[UUID]:
    """Delete those of `attachments` that no message has taken, rows and files; their ids.
    Inside a transaction. A row a send has locked (`_link_attachments`: it may be taking it) is
    skipped, not waited for."""
    unsent = list(
        attachments.select_for_update(skip_locked=True)
        .filter(message__isnull=True)
        .values_list("id", "storage_name")
    )
    if not unsent:
        return []
    ids = [row[0] for row in unsent]
    Attachment.objects.filter(id__in=ids, message__isnull=True).delete()
    for _, storage_name in unsent:
        (_media_dir() / storage_name).unlink(missing_ok=True)
    return ids


@transaction.atomic
def attachments_delete_unsent(*, older_than: datetime) -> int:
    """Delete uploads never attached to a message (and their files)."""
    return len(_delete_unsent(Attachment.objects.filter(created_at__lt=older_than)))


@transaction.atomic
def attachments_discard(*, actor: User, attachment_ids: Iterable[UUID]) -> int:
    """Delete at once those of `actor`'s own uploads in `attachment_ids` that no message took
    (rows and files, as the sweep of stale uploads does), one audit event each. For a send that
    stored its files and then did not use them (refused, failed, or a replay of an earlier send):
    left for the sweep they would count against the unsent cap for a day."""
    discarded = _delete_unsent(
        Attachment.objects.filter(id__in=list(attachment_ids), uploaded_by=actor)
    )
    if discarded:
        audit_record_many(
            actor=actor,
            targets=[AuditTarget("message_attachment", str(each), None) for each in discarded],
            action=Action.DELETE,
        )
    return len(discarded)


@contextmanager
def attachments_for_one_send(*, actor: User) -> Iterator[list[UUID]]:
    """For a form that stores its files and then sends them (the portal's message pages): the
    caller adds each stored upload's id to the list it is given, and on the way out, however the
    block ends (a send, a refused file or send, a replay, an error), those the send did not take
    are deleted (`attachments_discard`). Nothing the form stored outlives it unsent."""
    stored: list[UUID] = []
    try:
        yield stored
    finally:
        if stored:
            attachments_discard(actor=actor, attachment_ids=stored)
