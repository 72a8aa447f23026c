"""How a read under a break-glass grant is marked in the audit trail.

Every audit event of a read (read, list, download, export) by staff who may use break-glass is
written with its `detail` computed by the database in the same INSERT: when the reader holds an
active grant for the event's patient and is not on that patient's care team, the detail gains
`{"break_glass": true, "grant_id": "<grant id>"}`. So every read under a grant is marked, from
every access helper and list alike, at no extra query (the patient's "who viewed my record"
report and reviewers rely on exactly these two keys). A reader who holds a grant is marked even
where their role alone would have let them read (an admin's bulk export): over-marking is the
safe side for a patient's report.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import (
    CharField,
    Exists,
    Expression,
    Func,
    JSONField,
    OuterRef,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce, JSONObject

from .models import BreakGlassGrant, CareTeamMember, Role

# Who can hold a grant (and whose reads are therefore checked).
GRANT_HOLDER_ROLES = frozenset({Role.CLINICIAN, Role.COORDINATOR, Role.ADMIN})
# The audit actions that are reads of patient data.
READ_ACTIONS = frozenset({"read", "list", "download", "export"})
MARKER_KEYS = ("break_glass", "grant_id")


def marker_applies(*, actor_role: str, action: str, patient_id: UUID | None) -> bool:
    """Whether an event could be a read under a grant (no query)."""
    return patient_id is not None and actor_role in GRANT_HOLDER_ROLES and action in READ_ACTIONS


def active_grants(*, user_id: UUID | str, patient_id: Any, now: datetime) -> Any:
    """The grants `user_id` holds for `patient_id` at `now` (patient_id may be an OuterRef)."""
    return BreakGlassGrant.objects.filter(
        user_id=user_id, patient_id=patient_id, expires_at__gt=now
    )


def marked_detail(
    *, detail: dict[str, Any], actor_id: UUID, patient_id: UUID, now: datetime
) -> Expression:
    """`detail`, plus the break-glass marker when only a grant lets `actor_id` see the patient,
    as an expression the INSERT evaluates (one subquery, no round trip)."""
    on_care_team = CareTeamMember.objects.filter(
        care_team__patient_id=OuterRef("patient_id"), user_id=actor_id
    )
    marker = (
        active_grants(user_id=actor_id, patient_id=patient_id, now=now)
        .exclude(Exists(on_care_team))
        .order_by("-expires_at")
        .annotate(marker=JSONObject(break_glass=Value(True), grant_id=Cast("id", CharField())))
        .values("marker")[:1]
    )
    empty = Value({}, output_field=JSONField())
    return Func(
        Value(detail, output_field=JSONField()),
        Coalesce(Subquery(marker, output_field=JSONField()), empty),
        template="(%(expressions)s)",
        arg_joiner=" || ",
        output_field=JSONField(),
    )
