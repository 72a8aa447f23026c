"""Who may see which patient. The most security-critical code we have: one condition per line.

Every read of patient data goes through `access_patient` (or, for other apps' objects, a helper
built on `patient_visibility`). Missing and forbidden look the same: `NotFound`, so ids cannot be
probed. Each call records one audit event, including the denied ones.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.utils import timezone

from carecore.audit.models import Action, Outcome
from carecore.audit.services import audit_record
from carecore.common.errors import NotFound

from .models import BreakGlassGrant, CareTeam, CareTeamMember, Patient, Role, User

_Row = TypeVar("_Row", bound=Model)


class Purpose(enum.Enum):
    """What the caller wants to see. Schedulers may see demographics, never clinical data."""

    DEMOGRAPHICS = "demographics"
    CLINICAL = "clinical"


def _is_care_team_member(user: User, patient_ref: str) -> Exists:
    return Exists(
        CareTeamMember.objects.filter(care_team__patient_id=OuterRef(patient_ref), user=user)
    )


def _has_break_glass(user: User, patient_ref: str) -> Exists:
    return Exists(
        BreakGlassGrant.objects.filter(
            patient_id=OuterRef(patient_ref), user=user, expires_at__gt=timezone.now()
        )
    )


def patient_visibility(user: User, *, purpose: Purpose, patient_ref: str = "pk") -> Q:
    """A filter for any queryset with a patient reference, keeping what `user` may see.

    `patient_ref` names the patient id on the filtered model: "pk" for Patient itself,
    "patient_id" for an object that belongs to a patient.
    """
    nothing = Q(pk__in=[])
    if not user.is_authenticated or not user.is_active:
        return nothing
    if user.role == Role.PATIENT:
        return Q(**{patient_ref: _own_patient_id(user)}) if _own_patient_id(user) else nothing
    if user.role == Role.SCHEDULER:
        return Q() if purpose is Purpose.DEMOGRAPHICS else nothing
    if user.role in (Role.CLINICIAN, Role.COORDINATOR):
        return Q(_is_care_team_member(user, patient_ref)) | Q(_has_break_glass(user, patient_ref))
    if user.role == Role.ADMIN:
        return Q(_has_break_glass(user, patient_ref))
    return nothing


def _own_patient_id(user: User) -> UUID | None:
    patient = getattr(user, "patient", None)
    return patient.id if patient is not None else None


def patients_visible_to(user: User, *, purpose: Purpose) -> QuerySet[Patient]:
    return Patient.objects.filter(patient_visibility(user, purpose=purpose))


def active_break_glass(user: User, patient_id: UUID) -> BreakGlassGrant | None:
    return (
        BreakGlassGrant.objects.filter(
            user=user, patient_id=patient_id, expires_at__gt=timezone.now()
        )
        .order_by("-expires_at")
        .first()
    )


def access_patient(
    *,
    user: User,
    patient_id: UUID | str,
    purpose: Purpose = Purpose.CLINICAL,
    for_write: bool = False,
    object_type: str = "patient",
) -> Patient:
    """The patient, if `user` may see their data for `purpose`; else NotFound. Audited."""
    action = Action.UPDATE if for_write else Action.READ
    patient = (
        patients_visible_to(user, purpose=purpose)
        .select_related("user", "care_team__lead__user")
        .filter(pk=patient_id)
        .first()
    )
    if patient is None:
        audit_record(
            actor=user,
            object_type=object_type,
            object_id=patient_id,
            action=action,
            outcome=Outcome.DENIED,
        )
        raise NotFound()
    audit_record(
        actor=user,
        object_type=object_type,
        object_id=patient.id,
        patient_id=patient.id,
        action=action,
        detail=_break_glass_detail(user, patient),
    )
    return patient


def _break_glass_detail(user: User, patient: Patient) -> dict[str, object]:
    """Mark reads that only a break-glass grant allowed, so reviewers can find them."""
    if user.role not in (Role.CLINICIAN, Role.COORDINATOR, Role.ADMIN):
        return {}
    if CareTeamMember.objects.filter(care_team__patient=patient, user=user).exists():
        return {}
    grant = active_break_glass(user, patient.id)
    return {"break_glass_grant": str(grant.id)} if grant else {}


def audited_get(
    queryset: QuerySet[_Row],
    *,
    user: User,
    object_id: UUID | str,
    object_type: str,
    action: str = Action.READ,
    patient_id_of: Callable[[_Row], UUID | None] = lambda row: row.patient_id,  # type: ignore[attr-defined]
) -> _Row:
    """One row of an access-filtered queryset, or NotFound; either way one audit event.

    `queryset` must already be narrowed to what `user` may see (built on `patient_visibility`),
    so a row outside it and a missing row are the same 404 and the same "denied" event, which
    names the requested id but no patient (a denial must not confirm who the row belongs to).
    """
    row = queryset.filter(pk=object_id).first()
    if row is None:
        audit_record(
            actor=user,
            object_type=object_type,
            object_id=object_id,
            action=action,
            outcome=Outcome.DENIED,
        )
        raise NotFound()
    audit_record(
        actor=user,
        object_type=object_type,
        object_id=row.pk,
        patient_id=patient_id_of(row),
        action=action,
    )
    return row


def access_care_team(*, user: User, care_team_id: UUID | str) -> CareTeam:
    """A patient's care team, to whoever may see that patient's demographics (the same rule as
    `/me` and `/patients/<id>/`, which show it); else NotFound. Audited either way."""
    return audited_get(
        CareTeam.objects.filter(
            patient_visibility(user, purpose=Purpose.DEMOGRAPHICS, patient_ref="patient_id")
        ),
        user=user,
        object_id=care_team_id,
        object_type="care_team",
    )
