"""Reads for accounts and care teams, with their related rows fetched up front."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import F, Prefetch, QuerySet
from django.utils import timezone

from carecore.audit.models import Action, Outcome
from carecore.audit.selectors import audit_event_list
from carecore.clinical.escalation import LadderStep
from carecore.common.errors import NotFound

from .access import Purpose, access_break_glass_grant, access_patient, patients_visible_to
from .break_glass import read_under_grant
from .models import (
    BreakGlassGrant,
    CareTeamMember,
    Clinician,
    Patient,
    PhoneChange,
    Role,
    User,
)
from .unread import unread_count_for

_MEMBERS = Prefetch(
    "care_team__memberships",
    queryset=CareTeamMember.objects.select_related("user__clinician").order_by("added_at", "id"),
)


def patient_list(*, user: User, purpose: Purpose = Purpose.DEMOGRAPHICS) -> QuerySet[Patient]:
    """Patients `user` may see, with user, care team, lead and members loaded (3 queries)."""
    return (
        patients_visible_to(user, purpose=purpose)
        .select_related("user", "care_team__lead__user")
        .prefetch_related(_MEMBERS)
    )


def patient_with_care_team(*, patient: Patient) -> Patient:
    """Reload one (already access-checked) patient with its care team for serialisation."""
    return (
        Patient.objects.select_related("user", "care_team__lead__user")
        .prefetch_related(_MEMBERS)
        .get(pk=patient.pk)
    )


def patients_for_export() -> QuerySet[Patient]:
    """Every patient with user and care team loaded, for the admin bulk export (the caller
    passed `access_bulk_export`)."""
    return Patient.objects.select_related("user", "care_team__lead__user").prefetch_related(
        _MEMBERS
    )


def patient_get(*, user: User, patient_id: UUID | str) -> Patient:
    """One patient `user` may see (demographics; audited), with the care team."""
    patient = access_patient(user=user, patient_id=patient_id, purpose=Purpose.DEMOGRAPHICS)
    return patient_with_care_team(patient=patient)


def break_glass_grant_get(*, user: User, grant_id: UUID | str) -> BreakGlassGrant:
    """One break-glass grant with its holder and patient, for the patient's care team (the
    lead clinician's notice links here); anyone else gets the 404 of a missing grant. One
    query and its READ audit event (`access_break_glass_grant`)."""
    return access_break_glass_grant(user=user, grant_id=grant_id)


@dataclass
class Me:
    """What /me shows: the user, unread messages, and the role's own profile."""

    user: User
    unread_count: int
    pending_phone: str | None = None  # a new number waiting for its code
    patient: Patient | None = None  # with the care team
    clinician: Clinician | None = None
    profile: dict[str, Any] | None = None

    def __getattr__(self, name: str) -> Any:
        # The user's own fields (id, email, role...) read through, as UserOutput expects.
        return getattr(self.user, name)

    @property
    def care_team(self) -> Any:
        return self.patient.care_team if self.patient is not None else None


def me_get(*, user: User) -> Me:
    pending = pending_phone_change(user=user)
    me = Me(
        user=user,
        unread_count=unread_count_for(user),
        pending_phone=str(pending.phone) if pending else None,
    )
    own = getattr(user, "patient", None) if user.role == Role.PATIENT else None
    if own is not None:
        # A patient reading their own record is still a read of patient data.
        me.patient = patient_get(user=user, patient_id=own.id)
        me.profile = {
            "date_of_birth": me.patient.date_of_birth.isoformat(),
            "state": me.patient.state,
        }
    if user.role == Role.CLINICIAN:
        me.clinician = getattr(user, "clinician", None)
    return me


def clinician_list(*, state: str | None = None) -> QuerySet[Clinician]:
    """Public clinician profiles (active accounts only)."""
    clinicians = Clinician.objects.filter(user__is_active=True).select_related("user")
    if state:
        clinicians = clinicians.filter(licensed_states__contains=[state.upper()])
    return clinicians


# --- who to tell: recipients for notifications ------------------------------------------------
# Ids, read from the membership and clinician tables; callers resolve them to active users in
# one query when they notify (see messaging's escalation and intake's red-flag page).


def care_team_user_ids(*, patient_id: UUID, roles: Sequence[str] | None = None) -> list[UUID]:
    """Active members of the patient's care team (optionally only some roles)."""
    members = CareTeamMember.objects.filter(care_team__patient_id=patient_id, user__is_active=True)
    if roles is not None:
        members = members.filter(user__role__in=roles)
    return sorted(members.values_list("user_id", flat=True), key=str)


def lead_clinician_user_ids(*, patient_id: UUID) -> list[UUID]:
    """The active lead clinician of the patient's team (none while the team has no lead)."""
    lead_user = (
        Clinician.objects.filter(led_care_teams__patient_id=patient_id, user__is_active=True)
        .values_list("user_id", flat=True)
        .first()
    )
    return [lead_user] if lead_user else []


def scheduler_user_ids() -> list[UUID]:
    """Active schedulers: they keep every clinician's calendar, so every visit is theirs."""
    return sorted(
        User.objects.filter(role=Role.SCHEDULER, is_active=True).values_list("id", flat=True),
        key=str,
    )


def clinical_lead_user_ids() -> list[UUID]:
    return sorted(
        Clinician.objects.filter(is_clinical_lead=True, user__is_active=True).values_list(
            "user_id", flat=True
        ),
        key=str,
    )


def on_call_user_ids(*, patient_id: UUID) -> list[UUID]:
    """Who is paged for an urgent clinical event about a patient: the lead clinician of the
    care team; when the team has no active lead, the clinical lead(s). docs/messaging.md."""
    return lead_clinician_user_ids(patient_id=patient_id) or clinical_lead_user_ids()


def escalation_ladder_user_ids(
    *, patient_id: UUID, step: int, assignee_id: UUID | None = None
) -> list[UUID]:
    """Who holds a rung of the escalation ladder (carecore/clinical/escalation.py) for an alert
    about this patient: 1, the assignee (if any) and the team's coordinators; 2, the lead
    clinician; 3, the clinical lead(s)."""
    if step == LadderStep.ASSIGNEE_AND_COORDINATORS:
        coordinators = care_team_user_ids(patient_id=patient_id, roles=[Role.COORDINATOR])
        assignee = [assignee_id] if assignee_id else []
        return sorted(set(assignee) | set(coordinators), key=str)
    if step == LadderStep.LEAD_CLINICIAN:
        return lead_clinician_user_ids(patient_id=patient_id)
    return clinical_lead_user_ids()


def active_users(user_ids: Iterable[UUID]) -> list[User]:
    """The active accounts among `user_ids`, in one query."""
    return list(User.objects.filter(id__in=list(user_ids), is_active=True).order_by("id"))


def pending_phone_change(*, user: User) -> PhoneChange | None:
    return (
        PhoneChange.objects.filter(
            user=user, confirmed_at__isnull=True, expires_at__gt=timezone.now()
        )
        .order_by("-created_at")
        .first()
    )


# --- the patient's own access report ("Who has viewed my record") ---------------------------

# What counts as viewing: reading one row, seeing it in a list, exporting or downloading it.
VIEWING_ACTIONS = (Action.READ, Action.LIST, Action.EXPORT, Action.DOWNLOAD)


@dataclass(frozen=True)
class RecordView:
    """One look at the patient's record: who (name and role as at the time), when, which kind
    of record, and whether it was under break-glass (an emergency grant, not care-team access).
    Several rows of one kind shown by one request (a list) are one view."""

    occurred_at: datetime
    viewer_name: str
    viewer_role: str
    object_type: str
    break_glass: bool


def record_access_report(*, user: User, limit: int = 100) -> list[RecordView]:
    """The signed-in patient's own record, as viewed by anyone else, newest first, from the
    audit trail. A read only a break-glass grant allowed is marked in the event's detail:
    `break_glass` on an event of one patient (access.audited_get), the patient's entry in
    `break_glass_grants` on a list event naming several (`read_under_grant` reads both).
    Two queries: the events, then the viewers' names."""
    if user.role != Role.PATIENT or not hasattr(user, "patient"):
        raise NotFound()
    events = list(
        audit_event_list(patient_id=user.patient.id)
        .filter(action__in=VIEWING_ACTIONS, outcome=Outcome.SUCCESS, actor_id__isnull=False)
        .exclude(actor_id=user.id)
        .order_by("-occurred_at", "-id")[: limit * 10]
    )
    names = {
        viewer.id: viewer.full_name
        for viewer in User.objects.filter(id__in={event.actor_id for event in events}).only(
            "id", "first_name", "last_name"
        )
    }
    views: list[RecordView] = []
    seen: set[tuple[Any, ...]] = set()
    for event in events:
        # One list request audits each row shown: one view per request and kind of record.
        key = (event.request_id or event.id, event.actor_id, event.object_type)
        if key in seen:
            continue
        seen.add(key)
        views.append(
            RecordView(
                occurred_at=event.occurred_at,
                viewer_name=names.get(event.actor_id, "A former staff member"),  # type: ignore[arg-type]
                viewer_role=event.actor_role,
                object_type=event.object_type,
                break_glass=read_under_grant(detail=event.detail, patient_id=user.patient.id),
            )
        )
        if len(views) == limit:
            break
    return views


def assignable_staff_by_patient(*, patient_ids: Iterable[UUID]) -> dict[UUID, list[User]]:
    """Who each patient's threads may be assigned to: the active clinicians and coordinators of
    their care team, in one query for any number of patients. The caller has already
    access-checked these patients (they come from threads it may see); `thread_assign` checks
    the same rule again on write."""
    members = (
        CareTeamMember.objects.filter(
            care_team__patient_id__in=list(patient_ids),
            user__is_active=True,
            user__role__in=[Role.CLINICIAN, Role.COORDINATOR],
        )
        .annotate(patient_id=F("care_team__patient_id"))
        .select_related("user")
        .order_by("user__first_name", "user__last_name", "user_id")
    )
    staff: dict[UUID, list[User]] = {}
    for member in members:
        staff.setdefault(member.patient_id, []).append(member.user)
    return staff
