"""How a read under a break-glass grant is marked in the audit trail.

Every audit event of a read (read, list, download, export) by staff who may use break-glass is
written with its `detail` computed by the database in the same INSERT: when the reader holds an
active grant for the event's patient and is not on that patient's care team, the detail gains
`{"break_glass": true, "grant_id": "<grant id>"}` (an event that names several patients, a list
showing several patients' rows, gains `{"break_glass_grants": {"<patient id>": "<grant id>"}}`
for each patient only a grant allowed). So every read under a grant is marked, from every access
helper and list alike, at no extra query (the patient's "who viewed my record" report reads the
marks with `read_under_grant`). A reader who holds a grant is marked even
where their role alone would have let them read (an admin's bulk export): over-marking is the
safe side for a patient's report.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Expression, JSONField
from django.db.models.expressions import RawSQL

from .models import BreakGlassGrant, CareTeam, CareTeamMember, Role

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


def _grants_held_sql(*, user: str, patient_matches: str, now: str) -> str:
    """FROM and WHERE of the grants `user` holds at `now` for the patients `patient_matches`
    names (a condition on `held.patient_id`), left out where the reader is on the patient's care
    team: the same rule as `active_grants` plus "not on the care team"."""
    return f"""FROM {BreakGlassGrant._meta.db_table} AS held
    WHERE held.user_id = {user} AND {patient_matches} AND held.expires_at > {now}
      AND NOT EXISTS (
        SELECT 1 FROM {CareTeamMember._meta.db_table} AS member
        JOIN {CareTeam._meta.db_table} AS team ON team.id = member.care_team_id
        WHERE team.patient_id = held.patient_id AND member.user_id = {user})"""  # noqa: S608 # nosec B608 - the table names are ours, the rest is the caller's SQL


def marker_sql(*, user: str, patient: str, now: str) -> str:
    """The marker as SQL the INSERT evaluates, for the reader `user` of `patient` at `now` (SQL
    expressions: parameters for one event, the unnested columns for many in
    carecore/audit/services.py), `{}` when it does not apply (tests/accounts/test_break_glass.py).
    Written out rather than built with the ORM because a list page audits many patients in one
    INSERT, and compiling an ORM subquery per row cost more than the rest of the inbox page
    (bench/staff_pages.py, docs/benchmarks.md); this compiles as a string."""
    held = _grants_held_sql(user=user, patient_matches=f"held.patient_id = {patient}", now=now)
    return f"""COALESCE((
    SELECT jsonb_build_object('break_glass', true, 'grant_id', held.id::text)
    {held}
    ORDER BY held.expires_at DESC LIMIT 1), '{{}}'::jsonb)"""


def markers_sql(*, user: str, patients: str, now: str) -> str:
    """`marker_sql` for an event that names several patients (`patients`, a uuid[] expression:
    a list that showed several patients' rows): `{"break_glass_grants": {"<patient id>":
    "<grant id>", ...}}` for each patient only a grant let `user` see, `{}` for none."""
    held = _grants_held_sql(
        user=user, patient_matches=f"held.patient_id = ANY({patients})", now=now
    )
    return f"""COALESCE((
    SELECT jsonb_build_object(
        'break_glass_grants', jsonb_object_agg(latest.patient_id::text, latest.id::text))
    FROM (SELECT DISTINCT ON (held.patient_id) held.patient_id, held.id
          {held}
          ORDER BY held.patient_id, held.expires_at DESC) AS latest
    HAVING count(*) > 0), '{{}}'::jsonb)"""  # noqa: S608 # nosec B608 - as above


def read_under_grant(*, detail: dict[str, Any], patient_id: UUID) -> bool:
    """Whether an event's `detail` marks its read of `patient_id` as one only a break-glass
    grant allowed: `break_glass: true` (with `grant_id`) on an event of one patient, the
    patient's entry in `break_glass_grants` on one of several; rows written before either carry
    only `break_glass_grant` (the grant's id)."""
    if detail.get("break_glass") is True or "break_glass_grant" in detail:
        return True
    grants = detail.get("break_glass_grants")
    return isinstance(grants, dict) and str(patient_id) in grants


# One event's detail: every value a parameter (detail, user, patient, now, user).
_MARKED_DETAIL_SQL = f"(%s::jsonb || {marker_sql(user='%s', patient='%s', now='%s')})"


def marked_detail(
    *, detail: dict[str, Any], actor_id: UUID, patient_id: UUID, now: datetime
) -> Expression:
    """`detail`, plus the break-glass marker when only a grant lets `actor_id` see the patient,
    as an expression the INSERT evaluates (one subquery, no round trip)."""
    return RawSQL(  # noqa: S611  # nosec B611 - fixed SQL above, every value a parameter
        _MARKED_DETAIL_SQL,
        (json.dumps(detail), actor_id, patient_id, now, actor_id),
        output_field=JSONField(),
    )
