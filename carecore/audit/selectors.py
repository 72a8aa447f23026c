from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.db.models import Q, QuerySet

from .models import AuditEvent


def naming_patient(patient_id: UUID) -> Q:
    """The events about `patient_id`: those of that patient alone (`patient_id`, index
    audit_patient_time) and the list events that showed several patients' rows, theirs among
    them (`patient_ids`, GIN index audit_patients_shown)."""
    return Q(patient_id=patient_id) | Q(patient_ids__contains=[patient_id])


def audit_event_list(
    *,
    patient_id: UUID | None = None,
    actor_id: UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    action: str | None = None,
) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if patient_id is not None:
        events = events.filter(naming_patient(patient_id))
    if actor_id is not None:
        events = events.filter(actor_id=actor_id)
    if since is not None:
        events = events.filter(occurred_at__gte=since)
    if until is not None:
        events = events.filter(occurred_at__lt=until)
    if action:
        events = events.filter(action=action)
    return events
