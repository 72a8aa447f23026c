"""Writing audit events. Call these from access helpers and services, never from views."""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson
from django.db import connections, router
from django.utils import timezone

from carecore.accounts.break_glass import marked_detail, marker_applies, marker_sql, markers_sql
from carecore.common import request_context
from carecore.common.errors import NotFound
from carecore.common.ids import uuid_text

from .models import Action, AuditEvent, Outcome

if TYPE_CHECKING:
    from carecore.accounts.models import User


@dataclass(frozen=True)
class AuditTarget:
    object_type: str
    object_id: str
    patient_id: UUID | None
    # A list of several patients' rows: each row's patient, in the order shown (patient_id None).
    patient_ids: tuple[UUID | None, ...] = ()

    def some_patient(self) -> UUID | None:
        """A patient the event names, if any (all a marker check needs to know)."""
        if self.patient_id is not None:
            return self.patient_id
        return next((patient for patient in self.patient_ids if patient is not None), None)


def _known(actor: User | None) -> User | None:
    """The actor an event names: nobody for an anonymous request."""
    return actor if actor is not None and actor.is_authenticated else None


def _may_be_read_under_grant(known: User | None, action: str, patient_id: UUID | None) -> bool:
    """Whether the INSERT must look for a break-glass grant to mark the event (no query here)."""
    return known is not None and marker_applies(
        actor_role=known.role, action=action, patient_id=patient_id
    )


def _request_columns() -> tuple[str | None, str]:
    """The client's address and the request id of the current request, as events store them."""
    context = request_context.current()
    return context.ip, context.request_id if context.request_id != "-" else ""


def _event(
    *, actor: User | None, target: AuditTarget, action: str, outcome: str, detail: dict[str, Any]
) -> AuditEvent:
    """One event to save on its own. A read by staff who may hold a break-glass grant is marked
    by the INSERT itself (no extra query); the returned event's `detail` then stays that
    expression (it is not read back)."""
    known = _known(actor)
    ip, request_id = _request_columns()
    event = AuditEvent(
        actor_id=known.id if known is not None else None,
        actor_role=known.role if known is not None else "",
        patient_id=target.patient_id,
        object_type=target.object_type,
        object_id=target.object_id,
        action=action,
        outcome=outcome,
        ip=ip,
        request_id=request_id,
        detail=detail,
    )
    if (
        known is not None
        and target.patient_id is not None
        and _may_be_read_under_grant(known, action, target.patient_id)
    ):
        event.detail = marked_detail(
            detail=detail, actor_id=known.id, patient_id=target.patient_id, now=timezone.now()
        )
    return event


# Many events of one actor in one statement whose text does not depend on how many there are:
# what they share (time, actor, request) as parameters, and what each says as one JSON array of
# rows. Django's bulk_create wrote a VALUES row per event, each with its own marker subquery:
# for an inbox page of 50 patients, compiling that statement and psycopg splitting it (too long
# for its cache) cost more CPU than the rest of the request; an array per column then cost
# psycopg a regular expression per element to quote (docs/benchmarks.md). orjson writes the
# rows (the standard library's `json`, in C too, took 7 times as long), and the one string is
# quoted once.
# A row naming several patients (`patient_ids` not null) is marked per patient (`markers_sql`).
_MARKER_OF_ROW = marker_sql(
    user="%(actor_id)s::uuid", patient="e.patient_id", now="%(occurred_at)s::timestamptz"
)
_MARKERS_OF_ROW = markers_sql(
    user="%(actor_id)s::uuid", patients="e.patient_ids", now="%(occurred_at)s::timestamptz"
)
_INSERT_MANY_SQL = (
    f"INSERT INTO {AuditEvent._meta.db_table} (occurred_at, actor_id, actor_role, outcome, ip, "  # noqa: S608  # nosec B608 - names are ours, values are parameters
    "request_id, patient_id, patient_ids, object_type, object_id, action, detail) "
    "SELECT %(occurred_at)s::timestamptz, %(actor_id)s::uuid, %(actor_role)s::text, "
    "%(outcome)s::text, %(ip)s::inet, %(request_id)s::text, "
    "e.patient_id, COALESCE(e.patient_ids, '{}'), e.object_type, e.object_id, e.action, "
    "CASE WHEN NOT e.marked THEN e.detail "
    f"WHEN e.patient_ids IS NULL THEN e.detail || {_MARKER_OF_ROW} "
    f"ELSE e.detail || {_MARKERS_OF_ROW} END "
    "FROM jsonb_to_recordset(%(events)s::jsonb) AS e(patient_id uuid, patient_ids uuid[], "
    "object_type text, object_id text, action text, detail jsonb, marked boolean)"
)


def _insert_many(
    *, actor: User | None, outcome: str, events: Sequence[tuple[AuditTarget, str, dict[str, Any]]]
) -> None:
    """Write events of one actor, as (target, action, detail), in one INSERT, each marked as
    `_event` would mark it. They share one `occurred_at`: one request's events of one moment."""
    if not events:
        return  # an empty list shown: nothing to record, and no statement
    known = _known(actor)
    ip, request_id = _request_columns()
    rows = [
        {
            "patient_id": _text(target.patient_id),
            "patient_ids": [_text(patient) for patient in target.patient_ids]
            if target.patient_ids
            else None,
            "object_type": target.object_type,
            "object_id": target.object_id,
            "action": action,
            "detail": detail,
            "marked": _may_be_read_under_grant(known, action, target.some_patient()),
        }
        for target, action, detail in events
    ]
    with connections[router.db_for_write(AuditEvent)].cursor() as cursor:
        cursor.execute(
            _INSERT_MANY_SQL,
            {
                "occurred_at": timezone.now(),
                "actor_id": known.id if known is not None else None,
                "actor_role": known.role if known is not None else "",
                "outcome": outcome,
                "ip": ip,
                "request_id": request_id,
                "events": orjson.dumps(rows, option=orjson.OPT_NON_STR_KEYS).decode(),
            },
        )


def _text(patient_id: UUID | None) -> str | None:
    return uuid_text(patient_id) if patient_id is not None else None


def audit_record(
    *,
    actor: User | None,
    object_type: str,
    object_id: object = "",
    patient_id: UUID | None = None,
    action: str = Action.READ,
    outcome: str = Outcome.SUCCESS,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit event for one object (in the caller's transaction, if any)."""
    target = AuditTarget(object_type, str(object_id or ""), patient_id)
    event = _event(actor=actor, target=target, action=action, outcome=outcome, detail=detail or {})
    event.save(force_insert=True)
    return event


@dataclass(frozen=True)
class AuditNote:
    """One event about to be written with others of the same actor and patient
    (`audit_record_together`)."""

    object_type: str
    object_id: object
    action: str
    detail: dict[str, Any] | None = None


def audit_record_together(
    *, actor: User | None, patient_id: UUID | None, notes: Sequence[AuditNote]
) -> None:
    """Events of one actor about one patient, in one INSERT: a write's access event and the
    create event of the row the write adds (a send: the thread's and its message's), so the
    write pays one round trip for its audit, not one per event."""
    _write_successes(
        actor=actor,
        events=[
            (
                AuditTarget(note.object_type, str(note.object_id or ""), patient_id),
                note.action,
                note.detail or {},
            )
            for note in notes
        ],
    )


def audit_record_many(
    *,
    actor: User | None,
    targets: Iterable[AuditTarget],
    action: str = Action.LIST,
    detail: dict[str, Any] | None = None,
) -> None:
    """One event per object shown in a list, written in one INSERT (the query count stays flat)."""
    _write_successes(
        actor=actor, events=[(target, action, dict(detail or {})) for target in targets]
    )


def audit_record_list(
    *,
    actor: User | None,
    object_type: str,
    rows: Iterable[tuple[object, UUID | None]],
    detail: dict[str, Any] | None = None,
) -> None:
    """The rows one request showed in a list, as `(object id, patient id)`: one LIST event,
    whose `detail["object_ids"]` names every row in the order shown and whose `object_id` is
    empty. Rows of one patient (a thread page) name the patient in `patient_id`; rows of several
    (an inbox page) name each row's patient in `patient_ids`, in step with `object_ids`, and
    leave `patient_id` null. docs/architecture.md, "The shape of a list event", describes it."""
    object_ids: list[str] = []
    patient_ids: list[UUID | None] = []
    for object_id, patient_id in rows:
        object_ids.append(uuid_text(object_id))
        patient_ids.append(patient_id)
    if not object_ids:
        return  # an empty list shown: nothing to record
    if len(set(patient_ids)) == 1:
        target = AuditTarget(object_type, "", patient_ids[0])
    else:
        target = AuditTarget(object_type, "", None, tuple(patient_ids))
    _write_successes(
        actor=actor,
        events=[(target, Action.LIST, {**(detail or {}), "object_ids": object_ids})],
    )


_Event = tuple[AuditTarget, str, dict[str, Any]]

# The successful events `audit_batch` holds back until its block ends, with their actors.
_held_back: contextvars.ContextVar[list[tuple[User | None, _Event]] | None] = (
    contextvars.ContextVar("carecore_audit_batch", default=None)
)


def _write_successes(*, actor: User | None, events: Sequence[_Event]) -> None:
    """Successful events of one actor, as (target, action, detail), in one INSERT (or held
    back by `audit_batch`). One event too goes through `_insert_many`'s fixed statement: saving
    it as a model instance compiled an INSERT on every request, 4% of a thread page's CPU per
    event (docs/benchmarks.md)."""
    held_back = _held_back.get()
    if held_back is not None:
        held_back.extend((actor, event) for event in events)
        return
    _insert_many(actor=actor, outcome=Outcome.SUCCESS, events=events)


@contextmanager
def audit_batch() -> Iterator[None]:
    """The successful events recorded in the block are written when it ends, normally or by an
    error, in one INSERT per actor: a read that checks access to one row and then lists others
    (a thread page: the thread's READ event, its messages' LIST event) pays one statement and one
    commit for its audit, not two.

    For reads outside a transaction only: an event held back is written after the block, so one
    recorded inside a transaction that rolls back would outlive it. Denials are written at once
    (`audit_denied`), as everywhere."""
    held_back: list[tuple[User | None, _Event]] = []
    token = _held_back.set(held_back)
    try:
        yield
    finally:
        _held_back.reset(token)
        for actor, events in _by_actor(held_back):
            _insert_many(actor=actor, outcome=Outcome.SUCCESS, events=events)


def _by_actor(
    held_back: Sequence[tuple[User | None, _Event]],
) -> list[tuple[User | None, list[_Event]]]:
    """Events grouped by actor, in the order each actor first appears (one per request, as a
    rule)."""
    groups: dict[object, tuple[User | None, list[_Event]]] = {}
    for actor, event in held_back:
        key = actor.pk if actor is not None else None
        groups.setdefault(key, (actor, []))[1].append(event)
    return list(groups.values())


class DeniedNotFound(NotFound):
    """The 404 of a denied attempt, carrying its audit event.

    Access helpers run inside the services' transactions, and this error rolls them back as it
    leaves, taking the event with it. So the event is written twice over: at once (kept when no
    transaction rolls back, e.g. a read in autocommit) and again by `after_rollback`, which the
    exception handler calls after the rollback, only if the first write did not survive.
    Sequences are not transactional, so a rolled-back event's id is never reused.
    """

    def __init__(self, event: AuditEvent) -> None:
        super().__init__()
        self.event = event

    def after_rollback(self) -> None:
        # Asked of the database the event was written to: a replica may not have it yet.
        written_to = router.db_for_write(AuditEvent)
        if AuditEvent.objects.using(written_to).filter(pk=self.event.pk).exists():
            return
        self.event.pk = None
        self.event.save(force_insert=True)


def audit_denied(
    *, actor: User | None, object_type: str, object_id: object, action: str
) -> DeniedNotFound:
    """Record a denied attempt and return the 404 to raise. The event names the requested id
    but no patient: a denial must not confirm who a row belongs to."""
    event = audit_record(
        actor=actor,
        object_type=object_type,
        object_id=object_id,
        action=action,
        outcome=Outcome.DENIED,
    )
    return DeniedNotFound(event)
