"""Writing audit events. Call these from access helpers and services, never from views."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db import connections, router
from django.utils import timezone

from carecore.accounts.break_glass import marked_detail, marker_applies, marker_sql
from carecore.common import request_context
from carecore.common.errors import NotFound

from .models import Action, AuditEvent, Outcome

if TYPE_CHECKING:
    from carecore.accounts.models import User


@dataclass(frozen=True)
class AuditTarget:
    object_type: str
    object_id: str
    patient_id: UUID | None


def _plain_event(
    *, actor: User | None, target: AuditTarget, action: str, outcome: str, detail: dict[str, Any]
) -> tuple[AuditEvent, bool]:
    """The event with its detail as given, and whether its INSERT adds the break-glass marker
    (a read by staff who may hold a grant: the database decides, in the same statement)."""
    context = request_context.current()
    known = actor if actor is not None and actor.is_authenticated else None
    event = AuditEvent(
        actor_id=known.id if known is not None else None,
        actor_role=known.role if known is not None else "",
        patient_id=target.patient_id,
        object_type=target.object_type,
        object_id=target.object_id,
        action=action,
        outcome=outcome,
        ip=context.ip,
        request_id=context.request_id if context.request_id != "-" else "",
        detail=detail,
    )
    marked = (
        known is not None
        and target.patient_id is not None
        and marker_applies(actor_role=known.role, action=action, patient_id=target.patient_id)
    )
    return event, marked


def _event(
    *, actor: User | None, target: AuditTarget, action: str, outcome: str, detail: dict[str, Any]
) -> AuditEvent:
    """One event to save on its own."""
    event, marked = _plain_event(
        actor=actor, target=target, action=action, outcome=outcome, detail=detail
    )
    # (`marked` implies both ids; the test says so to the type checker.)
    if marked and event.actor_id is not None and event.patient_id is not None:
        # A read under a break-glass grant is marked by the INSERT itself (no extra query);
        # the returned event's `detail` stays that expression (it is not read back).
        event.detail = marked_detail(
            detail=detail, actor_id=event.actor_id, patient_id=event.patient_id, now=timezone.now()
        )
    return event


# Many events in one statement whose text does not depend on how many there are: one array per
# column, unnested. Django's bulk_create wrote a VALUES row per event, each with its own marker
# subquery: for an inbox page of 50 patients, compiling that statement and psycopg splitting it
# (too long for its cache) cost more CPU than the rest of the request (docs/benchmarks.md).
_COLUMN_TYPES = {
    "occurred_at": "timestamptz",
    "actor_id": "uuid",
    "actor_role": "text",
    "patient_id": "uuid",
    "object_type": "text",
    "object_id": "text",
    "action": "text",
    "outcome": "text",
    "ip": "inet",
    "request_id": "text",
    "detail": "jsonb",
    "marked": "boolean",
}
_ROW_COLUMNS = [column for column in _COLUMN_TYPES if column not in ("detail", "marked")]
_INSERT_MANY_SQL = (
    f"INSERT INTO {AuditEvent._meta.db_table} ({', '.join(_ROW_COLUMNS)}, detail) "  # noqa: S608  # nosec B608 - names are ours, values are parameters
    f"SELECT {', '.join(f'e.{column}' for column in _ROW_COLUMNS)}, "
    "CASE WHEN e.marked THEN e.detail || "
    f"{marker_sql(user='e.actor_id', patient='e.patient_id', now='e.occurred_at')} "
    "ELSE e.detail END "
    f"FROM unnest({', '.join(f'%s::{kind}[]' for kind in _COLUMN_TYPES.values())}) "
    f"AS e({', '.join(_COLUMN_TYPES)})"
)


def _insert_many(events: Sequence[tuple[AuditEvent, bool]]) -> None:
    """Write `_plain_event`s in one INSERT, each marked as `_event` would have marked it."""
    if not events:
        return
    columns: dict[str, list[Any]] = {column: [] for column in _COLUMN_TYPES}
    for event, marked in events:
        for column in _ROW_COLUMNS:
            columns[column].append(getattr(event, column))
        columns["detail"].append(json.dumps(event.detail))
        columns["marked"].append(marked)
    with connections[router.db_for_write(AuditEvent)].cursor() as cursor:
        cursor.execute(_INSERT_MANY_SQL, list(columns.values()))


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
    """The rows one request showed in a list, as `(object id, patient id)`: one LIST event per
    patient shown (a thread page: one event; an inbox page: one per patient on it), whose
    `detail["object_ids"]` names every row of that patient in the order shown, and whose
    `object_id` is empty. All written in one INSERT, so the query count stays flat.
    docs/security.md, "Audit trail", describes the shape."""
    ids_by_patient: dict[UUID | None, list[str]] = {}
    for object_id, patient_id in rows:
        ids_by_patient.setdefault(patient_id, []).append(str(object_id))
    _write_successes(
        actor=actor,
        events=[
            (
                AuditTarget(object_type, "", patient_id),
                Action.LIST,
                {**(detail or {}), "object_ids": object_ids},
            )
            for patient_id, object_ids in ids_by_patient.items()
        ],
    )


def _write_successes(
    *, actor: User | None, events: Sequence[tuple[AuditTarget, str, dict[str, Any]]]
) -> None:
    """Successful events of one actor, as (target, action, detail): one INSERT either way."""
    if len(events) == 1:
        target, action, detail = events[0]
        _event(
            actor=actor, target=target, action=action, outcome=Outcome.SUCCESS, detail=detail
        ).save(force_insert=True)
        return
    _insert_many(
        [
            _plain_event(
                actor=actor, target=target, action=action, outcome=Outcome.SUCCESS, detail=detail
            )
            for target, action, detail in events
        ]
    )


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
