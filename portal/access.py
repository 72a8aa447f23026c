"""Who may see and change appointments and availability. One condition per line.

Appointments are patient data: every read goes through `access_appointment` or
`appointment_visibility`, both built on `carecore.accounts.access.patient_visibility`. Missing and
forbidden look the same (404). Schedulers see every appointment (scheduling is their job) but
not the patient-written `reason`: see `can_see_reason`.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.db.models import Q

from carecore.accounts.access import (
    Purpose,
    access_patient,
    audited_get,
    deny,
    patient_visibility,
    visit_window_open,
)
from carecore.accounts.models import Clinician, Patient, Role, User
from carecore.audit.models import Action
from carecore.audit.services import audit_record
from carecore.common.errors import NotFound, ValidationFailed

from .models import Appointment, AppointmentStatus


def appointment_visibility(user: User, *, for_write: bool = False) -> Q:
    """A filter on Appointment keeping what `user` may see (with `for_write`, change)."""
    nothing = Q(pk__in=[])
    if not user.is_authenticated or not user.is_active:
        return nothing
    # Patients: their own. Schedulers: all (demographics purpose). Care team: their patients.
    # Admins: break-glass grants only, and only to read. All of that is `patient_visibility`.
    visible = patient_visibility(
        user, purpose=Purpose.DEMOGRAPHICS, patient_ref="patient_id", for_write=for_write
    )
    if user.role == Role.CLINICIAN:
        # A clinician always sees their own schedule, on the patient's care team or not.
        visible |= Q(clinician__user_id=user.id)
    return visible


# Actions a caller may name instead of `for_write` that change the appointment.
_WRITE_ACTIONS = frozenset({Action.CREATE, Action.UPDATE, Action.DELETE})


def can_see_reason(user: User) -> bool:
    """The visit reason is clinical text the patient wrote: minimum necessary keeps it from
    schedulers, who only need who, when and with whom."""
    return user.role != Role.SCHEDULER


def access_appointment(
    *,
    user: User,
    appointment_id: UUID | str,
    for_write: bool = False,
    action: str | None = None,
    lock: bool = False,
    detail: dict[str, object] | None = None,
) -> Appointment:
    """The appointment, if `user` may see it; else NotFound. Audited either way (a write's
    access event is the write's one event, with `detail`).

    Whoever may see an appointment may also cancel or reschedule it (patients their own, care
    team and schedulers theirs), except under break-glass, which is read-only; `for_write`
    (or a write `action`) asks for that and records the attempt as an update. `lock=True`
    takes the appointment row (only) FOR UPDATE; the caller must be in a transaction.
    """
    appointments = Appointment.objects.filter(
        appointment_visibility(user, for_write=for_write or action in _WRITE_ACTIONS)
    ).select_related("patient__user", "clinician__user")
    return audited_get(
        appointments,
        user=user,
        object_id=appointment_id,
        object_type="appointment",
        action=action or (Action.UPDATE if for_write else Action.READ),
        detail=detail,
        lock=lock,
    )


def access_clinician_availability(*, user: User, clinician_id: UUID | str) -> Clinician:
    """The clinician whose availability `user` may read and manage: their own, or any for a
    scheduler. Anyone else gets NotFound (the role gate in the view already turned away other
    roles). Availability is not patient data, so this is not audited; the writes are."""
    clinicians = Clinician.objects.select_related("user").filter(pk=clinician_id)
    if user.role == Role.SCHEDULER:
        clinician = clinicians.first()
    elif user.role == Role.CLINICIAN:
        clinician = clinicians.filter(user_id=user.id).first()
    else:
        clinician = None
    if clinician is None:
        raise NotFound()
    return clinician


def access_booking_patient(
    *, user: User, patient_id: UUID | str | None, for_write: bool = False
) -> Patient:
    """The patient a booking or slot question is about: a patient's own record (naming anyone
    else is NotFound), or the patient a staff member names. Scheduling needs demographics only,
    so schedulers pass; care-team staff pass for their patients; admins need break-glass to
    ask about slots. Booking (`for_write`) is never allowed under break-glass: a grant must not
    let its holder book themselves a visit and with it visit-based access. Audited by
    `access_patient`."""
    if user.role == Role.PATIENT:
        own = getattr(user, "patient", None)
        if own is None:
            raise NotFound()
        patient_id = patient_id or own.id
    if patient_id is None:
        raise ValidationFailed(fields={"patient": ["Name the patient this is for."]})
    return access_patient(
        user=user, patient_id=patient_id, purpose=Purpose.DEMOGRAPHICS, for_write=for_write
    )


def _previsit_summary_readers(user: User) -> tuple[Q, Q]:
    """Filters on Appointment: (clinical, treating). `clinical` keeps the visits of patients
    `user` may read clinically (care team, break-glass); `treating` the visits `user` may read
    the summary of as the visit's own clinician (not cancelled, window open). The rule of
    `access_previsit_summary`, which `appointment_permissions` asks too."""
    clinical = patient_visibility(user, purpose=Purpose.CLINICAL, patient_ref="patient_id")
    treating = Q(pk__in=[])
    if user.role == Role.CLINICIAN:
        treating = (
            Q(clinician__user_id=user.id)
            & ~Q(status=AppointmentStatus.CANCELLED)
            & visit_window_open()
        )
    return clinical, treating


def access_previsit_summary(*, user: User, appointment_id: UUID | str) -> tuple[Appointment, bool]:
    """The appointment whose pre-visit summary `user` may read, and whether `user` is on the
    patient's care team; else NotFound. Audited either way (object `previsit_summary`).

    The summary is clinical (scores, red flags, the plan): the view admits clinicians,
    coordinators and admins only (403 for patients and schedulers, as the other staff-only
    clinical endpoints). Of those, who may read it:
    - the patient's care team, and staff with an active break-glass grant (`patient_visibility`
      with the clinical purpose: the same rule as intake and care plans);
    - the visit's own clinician while the visit is not cancelled and its window is open (from
      24 h before the start to 24 h after the end, `visit_window_open`), even from outside the
      care team: the patient chose them for this visit (treatment). Their reads are marked in
      the audit detail, and they get no message counts (threads belong to the care team).
    """
    clinical, treating = _previsit_summary_readers(user)
    appointment = (
        Appointment.objects.filter(clinical | treating)
        .select_related("patient__user", "clinician__user")
        .filter(pk=appointment_id)
        .first()
    )
    if appointment is None:
        deny(
            user=user,
            object_type="previsit_summary",
            object_id=appointment_id,
            action=Action.READ,
        )
    on_care_team = Appointment.objects.filter(clinical, pk=appointment.pk).exists()
    audit_record(
        actor=user,
        object_type="previsit_summary",
        object_id=appointment.id,
        patient_id=appointment.patient_id,
        action=Action.READ,
        detail={} if on_care_team else {"basis": "treating_clinician"},
    )
    return appointment, on_care_team


@dataclass(frozen=True)
class AppointmentPermissions:
    """What a viewer who may see a visit may also do with it (`appointment_permissions`)."""

    change: bool  # cancel or reschedule it (`access_appointment` with `for_write`)
    read_patient_record: bool  # the patient's clinical record (`access_patient`, clinical)
    read_previsit_summary: bool  # its pre-visit summary (`access_previsit_summary`)


def appointment_permissions(*, user: User, appointment: Appointment) -> AppointmentPermissions:
    """For a visit `user` already sees (through `access_appointment`): which of the actions and
    links about it their rules let `user` take, so a page offers only those that would pass.

    No rule of its own: each answer asks the helper the action itself goes through, as a yes or
    no. Not audited (it reads no patient data; each action audits itself when taken). At most
    three small queries, none for a question the role is refused outright (a scheduler's
    clinical ones). Who may change is asked with the caller's current rights, so break-glass
    (read only) changes nothing."""
    change = Appointment.objects.filter(
        appointment_visibility(user, for_write=True), pk=appointment.pk
    ).exists()
    clinical, treating = _previsit_summary_readers(user)
    # `clinical` is `access_patient`'s clinical rule applied to the visit's patient.
    on_record = Appointment.objects.filter(clinical, pk=appointment.pk).exists()
    summary = on_record or Appointment.objects.filter(treating, pk=appointment.pk).exists()
    return AppointmentPermissions(
        change=change, read_patient_record=on_record, read_previsit_summary=summary
    )
