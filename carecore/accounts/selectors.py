"""Reads for accounts and care teams, with their related rows fetched up front."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from django.db.models import Prefetch, QuerySet

from .access import Purpose, patients_visible_to
from .models import CareTeamMember, Clinician, Patient, User

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


def clinician_list(*, state: str | None = None) -> QuerySet[Clinician]:
    """Public clinician profiles (active accounts only)."""
    clinicians = Clinician.objects.filter(user__is_active=True).select_related("user")
    if state:
        clinicians = clinicians.filter(licensed_states__contains=[state.upper()])
    return clinicians


# --- who to tell: recipients for notifications ------------------------------------------------


def care_team_users(*, patient_id: UUID, roles: Sequence[str] | None = None) -> list[User]:
    """Active members of the patient's care team (optionally only some roles)."""
    users = User.objects.filter(
        care_team_memberships__care_team__patient_id=patient_id, is_active=True
    )
    if roles is not None:
        users = users.filter(role__in=roles)
    return list(users.order_by("id"))


def clinical_lead_users() -> list[User]:
    return list(
        User.objects.filter(clinician__is_clinical_lead=True, is_active=True).order_by("id")
    )


def lead_clinician_users(*, patient_id: UUID) -> list[User]:
    """The lead clinician of the patient's team; with no active lead, the clinical lead(s)."""
    lead = User.objects.filter(
        clinician__led_care_teams__patient_id=patient_id, is_active=True
    ).first()
    return [lead] if lead else clinical_lead_users()
