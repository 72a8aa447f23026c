"""Reads for accounts and care teams, with their related rows fetched up front."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from uuid import UUID

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from carecore.clinical.escalation import LadderStep

from .access import Purpose, patients_visible_to
from .models import CareTeamMember, Clinician, Patient, PhoneChange, Role, User

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
