"""Reads for the portal: open slots, availability, appointment lists.

Slot reads cost a fixed number of queries whatever the number of clinicians or appointments:
clinicians, their rules, their time off, their busy appointments (4), then pure arithmetic in
`portal.slots`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from operator import attrgetter
from uuid import UUID
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import FloatField, QuerySet
from django.db.models.functions import Cast, Extract
from django.utils import timezone

from carecore.accounts.models import Clinician, Patient, Role, User
from carecore.audit.models import Action
from carecore.common.errors import NotFound

from . import slots
from .access import (
    access_appointment,
    access_booking_patient,
    access_clinician_availability,
    appointment_visibility,
)
from .models import (
    OCCUPYING_STATUSES,
    Appointment,
    AppointmentStatus,
    AvailabilityRule,
    TimeOff,
)


@dataclass(frozen=True)
class BookingWindow:
    """Starts a patient may book now: [not_before, before)."""

    not_before: datetime
    before: datetime


@dataclass(slots=True)
class ClinicianSlot:
    clinician: Clinician
    start: datetime
    end: datetime
    visit_type: str


def visit_duration(visit_type: str) -> timedelta | None:
    minutes = settings.CARECORE_VISIT_DURATIONS.get(visit_type)
    return timedelta(minutes=minutes) if minutes else None


def booking_window(*, now: datetime | None = None) -> BookingWindow:
    """Minimum notice to rolling window, both measured from now (not from midnight)."""
    now = now or timezone.now()
    return BookingWindow(
        not_before=now + timedelta(minutes=settings.CARECORE_BOOKING_MIN_NOTICE_MINUTES),
        before=now + timedelta(days=settings.CARECORE_BOOKING_WINDOW_DAYS),
    )


def bookable_clinicians(
    *, visit_type: str, state: str | None = None, clinician_id: UUID | str | None = None
) -> list[Clinician]:
    """Active clinicians offering `visit_type`; with `state`, only those licensed there (never
    another state's clinician, even when nobody covers it). One query."""
    clinicians = Clinician.objects.filter(
        user__is_active=True, visit_types__contains=[visit_type]
    ).select_related("user")
    if state is not None:
        clinicians = clinicians.filter(licensed_states__contains=[state])
    if clinician_id is not None:
        clinicians = clinicians.filter(pk=clinician_id)
    return list(clinicians.order_by("id"))


@dataclass
class _Schedule:
    rules: list[slots.WeeklyRule]
    # (start, end) as POSIX timestamps: PostgreSQL hands out float8 far more cheaply than
    # timestamptz, and thousands of busy rows are read per request.
    busy: list[tuple[float, float]]


def _epoch(field: str) -> Cast:
    # In UTC whatever zone the request runs in: Django extracts from `field AT TIME ZONE
    # <the current zone>`, a wall-clock timestamp whose epoch is off by the zone's offset (the
    # pages run in the viewer's zone, and busy times would shift by hours).
    return Cast(Extract(field, "epoch", tzinfo=UTC), FloatField())


def _schedules(
    clinician_ids: Sequence[UUID],
    *,
    start: datetime,
    end: datetime,
    ignore_appointments: bool = False,
) -> dict[UUID, _Schedule]:
    """Rules, time off and busy appointments of the clinicians, overlapping [start, end).
    Three queries (two with `ignore_appointments`)."""
    schedules: dict[UUID, _Schedule] = defaultdict(lambda: _Schedule([], []))
    rules = AvailabilityRule.objects.filter(clinician_id__in=clinician_ids).values_list(
        "clinician_id", "weekday", "start_time", "end_time", "visit_types"
    )
    for clinician_id, weekday, start_time, end_time, visit_types in rules:
        schedules[clinician_id].rules.append(
            slots.WeeklyRule(weekday, start_time, end_time, frozenset(visit_types))
        )
    time_off = TimeOff.objects.filter(
        clinician_id__in=clinician_ids, starts_at__lt=end, ends_at__gt=start
    ).values_list("clinician_id", _epoch("starts_at"), _epoch("ends_at"))
    for clinician_id, starts_at, ends_at in time_off:
        schedules[clinician_id].busy.append((starts_at, ends_at))
    if not ignore_appointments:
        appointments = Appointment.objects.filter(
            clinician_id__in=clinician_ids,
            status__in=OCCUPYING_STATUSES,
            start_at__lt=end,
            end_at__gt=start,
        )
        for clinician_id, start_at, end_at in appointments.values_list(
            "clinician_id", _epoch("start_at"), _epoch("end_at")
        ):
            schedules[clinician_id].busy.append((start_at, end_at))
    return schedules


def _iter_clinician_slots(
    clinician: Clinician,
    schedule: _Schedule,
    *,
    visit_type: str,
    duration: timedelta,
    not_before: datetime,
    before: datetime,
) -> Iterator[ClinicianSlot]:
    for start in slots.iter_open_starts(
        rules=schedule.rules,
        zone=clinician.user.zone,
        visit_type=visit_type,
        duration=duration,
        busy=slots.BusyTimes.from_timestamps(schedule.busy),
        not_before=not_before,
        before=before,
    ):
        yield ClinicianSlot(clinician, start, start + duration, visit_type)


def open_slot_list(
    *,
    clinicians: Sequence[Clinician],
    visit_type: str,
    not_before: datetime,
    before: datetime,
) -> list[ClinicianSlot]:
    """Open slots of `clinicians` starting in [not_before, before), ordered by start, then
    clinician id. Three queries."""
    duration = visit_duration(visit_type)
    if duration is None or not clinicians or not_before >= before:
        return []
    # Appointments that end after not_before can still overlap a slot starting there.
    schedules = _schedules([c.id for c in clinicians], start=not_before, end=before + duration)
    found: list[ClinicianSlot] = []
    for clinician in sorted(clinicians, key=lambda clinician: str(clinician.id)):
        found.extend(
            _iter_clinician_slots(
                clinician,
                schedules[clinician.id],
                visit_type=visit_type,
                duration=duration,
                not_before=not_before,
                before=before,
            )
        )
    # Stable sort on the start alone keeps clinician-id order within one start, and its keys
    # are datetimes, which the garbage collector does not track (this list can hold 10,000+).
    found.sort(key=attrgetter("start"))
    return found


def earliest_open_slot(
    *,
    clinicians: Sequence[Clinician],
    visit_type: str,
    not_before: datetime,
    before: datetime,
) -> ClinicianSlot | None:
    """The first open slot among `clinicians` (ties: lowest clinician id). Three queries; the
    arithmetic stops at each clinician's first open slot."""
    duration = visit_duration(visit_type)
    if duration is None or not clinicians or not_before >= before:
        return None
    schedules = _schedules([c.id for c in clinicians], start=not_before, end=before + duration)
    firsts = [
        next(
            iter(
                _iter_clinician_slots(
                    clinician,
                    schedules[clinician.id],
                    visit_type=visit_type,
                    duration=duration,
                    not_before=not_before,
                    before=before,
                )
            ),
            None,
        )
        for clinician in clinicians
    ]
    found = [slot for slot in firsts if slot is not None]
    return min(found, key=lambda slot: (slot.start, str(slot.clinician.id)), default=None)


def care_team_clinician_ids(*, patient: Patient) -> set[UUID]:
    """Clinicians on the patient's care team: the lead and clinician members. One query."""
    return set(
        Clinician.objects.filter(
            user__care_team_memberships__care_team__patient=patient,
            user__role=Role.CLINICIAN,
        ).values_list("id", flat=True)
    )


def slot_is_offered(*, clinician: Clinician, visit_type: str, start: datetime) -> bool:
    """Is `start` on the clinician's slot grid for `visit_type`, inside availability and outside
    time off? Appointments are not checked here: the exclusion constraint decides a taken slot
    (409), so the answer is the same whether the rival committed a second ago or an hour ago,
    and a reschedule never trips over its own current time. Two queries."""
    duration = visit_duration(visit_type)
    if duration is None:
        return False
    schedule = _schedules(
        [clinician.id], start=start, end=start + duration, ignore_appointments=True
    )[clinician.id]
    first = next(
        slots.iter_open_starts(
            rules=schedule.rules,
            zone=clinician.user.zone,
            visit_type=visit_type,
            duration=duration,
            busy=slots.BusyTimes.from_timestamps(schedule.busy),
            not_before=start,
            before=start + timedelta(microseconds=1),
        ),
        None,
    )
    return first == start


def upcoming_appointment_count(*, patient: Patient, now: datetime | None = None) -> int:
    return Appointment.objects.filter(
        patient=patient,
        status=AppointmentStatus.BOOKED,
        start_at__gt=now or timezone.now(),
    ).count()


def availability_rule_get(
    *, clinician: Clinician, rule_id: UUID, lock: bool = False
) -> AvailabilityRule:
    """A rule of this (already access-checked) clinician; another clinician's rule is 404. With
    `lock` the row is locked FOR UPDATE (in the caller's transaction): a change then waits for a
    delete running at the same moment and finds the rule gone (404), where it had saved into a
    deleted row (a 500, found by the API fuzzing)."""
    rules = AvailabilityRule.objects.filter(pk=rule_id, clinician=clinician)
    rule = (rules.select_for_update() if lock else rules).first()
    if rule is None:
        raise NotFound()
    return rule


def time_off_get(*, clinician: Clinician, time_off_id: UUID) -> TimeOff:
    time_off = TimeOff.objects.filter(pk=time_off_id, clinician=clinician).first()
    if time_off is None:
        raise NotFound()
    return time_off


@dataclass(frozen=True)
class ClinicianAvailability:
    """A clinician's weekly rules and upcoming time off, shown in the clinician's own zone."""

    clinician: Clinician
    rules: QuerySet[AvailabilityRule]
    time_off: QuerySet[TimeOff]

    @property
    def timezone(self) -> str:
        return self.clinician.user.timezone


def clinician_availability(*, user: User, clinician_id: UUID | str) -> ClinicianAvailability:
    """The availability of a clinician `user` may manage (their own; a scheduler anyone's);
    anyone else NotFound."""
    clinician = access_clinician_availability(user=user, clinician_id=clinician_id)
    rules, time_off = availability_for(clinician=clinician)
    return ClinicianAvailability(clinician=clinician, rules=rules, time_off=time_off)


def time_off_during(
    *, user: User, clinician_id: UUID | str, start: datetime, end: datetime
) -> list[TimeOff]:
    """The time off overlapping [start, end) of a clinician whose availability `user` may
    manage (their own; a scheduler anyone's); anyone else NotFound. Two queries."""
    clinician = access_clinician_availability(user=user, clinician_id=clinician_id)
    return list(
        TimeOff.objects.filter(clinician=clinician, starts_at__lt=end, ends_at__gt=start).order_by(
            "starts_at", "id"
        )
    )


def availability_for(*, clinician: Clinician) -> tuple[QuerySet[AvailabilityRule], QuerySet]:
    """The clinician's weekly rules and their time off that has not ended yet."""
    rules = AvailabilityRule.objects.filter(clinician=clinician).order_by(
        "weekday", "start_time", "id"
    )
    time_off = TimeOff.objects.filter(clinician=clinician, ends_at__gt=timezone.now()).order_by(
        "starts_at", "id"
    )
    return rules, time_off


def appointment_list(
    *,
    user: User,
    patient_id: UUID | None = None,
    clinician_id: UUID | None = None,
    status: str | None = None,
    upcoming: bool | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    zone: ZoneInfo | None = None,
) -> QuerySet[Appointment]:
    """Appointments `user` may see, with patient and clinician loaded (one query per page).
    `date_from` and `date_to` are inclusive calendar days in `zone` (the caller's own)."""
    appointments = Appointment.objects.filter(appointment_visibility(user)).select_related(
        "patient__user", "clinician__user"
    )
    if patient_id is not None:
        appointments = appointments.filter(patient_id=patient_id)
    if clinician_id is not None:
        appointments = appointments.filter(clinician_id=clinician_id)
    if status:
        appointments = appointments.filter(status=status)
    if upcoming is True:
        appointments = appointments.filter(end_at__gt=timezone.now())
    elif upcoming is False:
        appointments = appointments.filter(end_at__lte=timezone.now())
    zone = zone or ZoneInfo("UTC")
    if date_from is not None:
        appointments = appointments.filter(start_at__gte=_start_of_day(date_from, zone))
    if date_to is not None:
        appointments = appointments.filter(
            start_at__lt=_start_of_day(date_to + timedelta(days=1), zone)
        )
    return appointments


def appointments_for_export() -> QuerySet[Appointment]:
    """Every appointment, for the admin bulk export (the caller passed its gate)."""
    return Appointment.objects.select_related("patient__user", "clinician__user")


def _start_of_day(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


# --- what the slot endpoints ask -----------------------------------------------------------------


NO_CLINICIAN_IN_STATE = (
    "No clinician is licensed in your state yet, so there are no visits to book. "
    "Our care team will contact you as soon as one is."
)


NOT_BOOKABLE = "This clinician does not offer this visit type to patients in your state."


@dataclass(frozen=True)
class SlotAnswer:
    slots: list[ClinicianSlot]
    message: str = ""


def slots_for_day(
    *,
    day: date,
    zone: ZoneInfo,
    visit_type: str,
    patient: Patient | None,
    clinician_id: UUID | None = None,
    now: datetime | None = None,
) -> SlotAnswer:
    """Open slots starting on `day` in `zone` (the patient's zone when there is a patient),
    inside the booking window. With a patient, only clinicians licensed in the patient's state.
    Four queries."""
    clinicians = bookable_clinicians(
        visit_type=visit_type,
        state=patient.state if patient is not None else None,
        clinician_id=clinician_id,
    )
    if patient is not None and not clinicians:
        return SlotAnswer([], NO_CLINICIAN_IN_STATE if clinician_id is None else NOT_BOOKABLE)
    window = booking_window(now=now)
    bounds = slots.local_day_bounds(day, zone)
    return SlotAnswer(
        open_slot_list(
            clinicians=clinicians,
            visit_type=visit_type,
            not_before=max(bounds.start, window.not_before),
            before=min(bounds.end, window.before),
        )
    )


@dataclass(frozen=True)
class SlotDay:
    answer: SlotAnswer
    zone: ZoneInfo  # the patient's zone when there is a patient, else the caller's


def slots_on_day(
    *,
    user: User,
    day: date,
    visit_type: str,
    patient_id: UUID | None = None,
    clinician_id: UUID | None = None,
) -> SlotDay:
    """Open slots on `day`: a patient sees what they may book; staff naming `patient_id` see
    what that patient may book (access audited); staff without one see every clinician's slots
    in their own zone."""
    patient = None
    if user.role == Role.PATIENT or patient_id is not None:
        patient = access_booking_patient(user=user, patient_id=patient_id)
    zone = patient.user.zone if patient is not None else user.zone
    answer = slots_for_day(
        day=day, zone=zone, visit_type=visit_type, patient=patient, clinician_id=clinician_id
    )
    return SlotDay(answer=answer, zone=zone)


@dataclass(frozen=True)
class EarliestSlot:
    patient: Patient
    visit_type: str
    slot: ClinicianSlot | None
    on_care_team: bool
    message: str


def earliest_slot(*, user: User, visit_type: str, patient_id: UUID | None = None) -> EarliestSlot:
    """The earliest slot the patient (the caller, or the one staff name) may book."""
    patient = access_booking_patient(user=user, patient_id=patient_id)
    slot, on_care_team, message = earliest_slot_for_patient(patient=patient, visit_type=visit_type)
    return EarliestSlot(patient, visit_type, slot, on_care_team, message)


def appointment_get(*, user: User, appointment_id: UUID | str) -> Appointment:
    """One appointment `user` may see (audited)."""
    return access_appointment(user=user, appointment_id=appointment_id)


def appointment_export(*, user: User, appointment_id: UUID | str) -> Appointment:
    """One appointment `user` may see, read for a calendar file (audited as an export)."""
    return access_appointment(user=user, appointment_id=appointment_id, action=Action.EXPORT)


def earliest_slot_for_patient(
    *, patient: Patient, visit_type: str, now: datetime | None = None
) -> tuple[ClinicianSlot | None, bool, str]:
    """(slot, on the care team?, message). The rule (docs/portal.md): among clinicians licensed
    in the patient's state and offering the visit type, the earliest open slot of the patient's
    own care-team clinicians if they have any inside the booking window; otherwise the earliest
    slot of any other eligible clinician. Ties go to the lower clinician id. At most eight
    queries, however many clinicians."""
    clinicians = bookable_clinicians(visit_type=visit_type, state=patient.state)
    if not clinicians:
        return None, False, NO_CLINICIAN_IN_STATE
    team_ids = care_team_clinician_ids(patient=patient)
    window = booking_window(now=now)
    team = [clinician for clinician in clinicians if clinician.id in team_ids]
    others = [clinician for clinician in clinicians if clinician.id not in team_ids]
    slot = earliest_open_slot(
        clinicians=team,
        visit_type=visit_type,
        not_before=window.not_before,
        before=window.before,
    )
    if slot is not None:
        return slot, True, ""
    slot = earliest_open_slot(
        clinicians=others,
        visit_type=visit_type,
        not_before=window.not_before,
        before=window.before,
    )
    if slot is None:
        days = settings.CARECORE_BOOKING_WINDOW_DAYS
        return None, False, f"No open slots in the next {days} days. Please check back soon."
    return slot, False, ""


def clinician_get(*, clinician_id: UUID | str) -> Clinician | None:
    return Clinician.objects.select_related("user").filter(pk=clinician_id).first()


def booked_appointments_during(
    *, user: User, clinician_id: UUID, start: datetime, end: datetime
) -> QuerySet[Appointment]:
    """Booked visits of one clinician overlapping [start, end) that `user` may see (the visits a
    time off would leave stranded), soonest first, patient and clinician loaded: one query."""
    return (
        appointment_list(user=user, clinician_id=clinician_id, status=AppointmentStatus.BOOKED)
        .filter(start_at__lt=end, end_at__gt=start)
        .order_by("start_at", "id")
    )


def appointments_overlapping_count(*, clinician: Clinician, start: datetime, end: datetime) -> int:
    return Appointment.objects.filter(
        clinician=clinician,
        status=AppointmentStatus.BOOKED,
        start_at__lt=end,
        end_at__gt=start,
    ).count()


# --- reminders and the pre-visit summary (docs/portal.md, "Notifications") ---------------------
#
# The summary itself is careplans' (it gathers intake, messaging and plan data); portal offers
# the appointment reads it needs.

# The visit type that is a new-patient visit (the one the intake prepares).
NEW_PATIENT_VISIT_TYPE = "new"


def booked_appointment_ids_starting(
    *, after: datetime, until: datetime, visit_type: str | None = None
) -> list[UUID]:
    """Booked visits starting in (after, until], soonest first. One query on the partial index
    `appointment_booked_start` (booked rows only), so the reminder task reads a short range of
    upcoming visits, never past or cancelled ones."""
    appointments = Appointment.objects.filter(
        status=AppointmentStatus.BOOKED, start_at__gt=after, start_at__lte=until
    )
    if visit_type is not None:
        appointments = appointments.filter(visit_type=visit_type)
    return list(appointments.order_by("start_at", "id").values_list("id", flat=True))


def last_completed_visit(*, patient_id: UUID, before: datetime) -> Appointment | None:
    """The patient's last completed visit that started before `before` (one query)."""
    return (
        Appointment.objects.filter(
            patient_id=patient_id, status=AppointmentStatus.COMPLETED, start_at__lt=before
        )
        .order_by("-start_at", "-id")
        .first()
    )
