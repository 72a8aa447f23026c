"""Writes for the portal: availability, booking, cancelling, rescheduling.

One write path for the API, the admin and seed_demo. Each function owns its transaction and its
audit events. Announcements (appointment booked / cancelled / rescheduled, the intake reminder)
are written at the end of `appointment_book`, `appointment_cancel` and `appointment_reschedule`,
inside the transaction, so the notification outbox row commits or rolls back with the change it
announces (a 409 `slot_taken` leaves no notification behind). Reminders and the pre-visit summary
are sent by `appointment_reminders_send`, which the beat task runs every few minutes.

Notifications carry only the event, the appointment id and an in-app path: never the reason,
names or times (docs/notifications.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from carecore.accounts.models import Clinician, Patient, User
from carecore.accounts.selectors import scheduler_user_ids
from carecore.audit.models import Action
from carecore.audit.services import audit_record
from carecore.common.errors import ApplicationError, Conflict, ValidationFailed
from carecore.notifications import links
from carecore.notifications.models import Event, Notification
from carecore.notifications.services import notify
from carecore.realtime.services import EventType, NewEvent, event_publish, patient_audience
from intake.selectors import INTAKE_SLUG, patients_missing_intake

from . import selectors
from .access import access_appointment, access_booking_patient, access_clinician_availability
from .models import (
    APPOINTMENT_OVERLAP_CONSTRAINT,
    Appointment,
    AppointmentStatus,
    AvailabilityRule,
    TimeOff,
)
from .video import video_provider

logger = logging.getLogger("carecore.portal")

# --- errors (codes are part of the API contract) ----------------------------------------------


class SlotTaken(Conflict):
    code = "slot_taken"
    default_message = "That time has just been booked. Please pick another slot."


class BookingWindowClosed(ApplicationError):
    code = "booking_window_closed"
    default_message = "That time can no longer be booked; pick a later slot."


class SlotUnavailable(ApplicationError):
    code = "slot_unavailable"
    default_message = "That time is not one of the clinician's open slots."


class ClinicianNotLicensed(ApplicationError):
    code = "clinician_not_licensed"
    default_message = "This clinician is not licensed in the patient's state."


class TooManyUpcoming(Conflict):
    code = "too_many_upcoming"
    default_message = "The patient already has the maximum number of upcoming appointments."


class AppointmentNotActive(Conflict):
    code = "appointment_not_active"
    default_message = "Only a booked appointment can be changed."


class AppointmentStarted(Conflict):
    code = "appointment_started"
    default_message = "This appointment has already started."


# --- availability --------------------------------------------------------------------------


def _check_visit_types(visit_types: Iterable[str], *, field: str = "visit_types") -> list[str]:
    known = settings.CARECORE_VISIT_DURATIONS
    chosen = sorted(set(visit_types))
    unknown = [visit_type for visit_type in chosen if visit_type not in known]
    if not chosen or unknown:
        raise ValidationFailed(
            fields={field: [f"Choose one or more of: {', '.join(sorted(known))}."]}
        )
    return chosen


def _check_rule_times(start_time: time, end_time: time) -> None:
    if end_time <= start_time:
        raise ValidationFailed(
            fields={"end": ["Must be after the start; a window cannot cross midnight."]}
        )


@transaction.atomic
def availability_rule_create(
    *,
    actor: User | None,
    clinician: Clinician,
    weekday: int,
    start_time: time,
    end_time: time,
    visit_types: Iterable[str],
) -> AvailabilityRule:
    """A weekly window in the clinician's own zone. Existing appointments are never touched."""
    _check_rule_times(start_time, end_time)
    rule = AvailabilityRule.objects.create(
        clinician=clinician,
        weekday=weekday,
        start_time=start_time,
        end_time=end_time,
        visit_types=_check_visit_types(visit_types),
    )
    audit_record(
        actor=actor, object_type="availability_rule", object_id=rule.id, action=Action.CREATE
    )
    return rule


@transaction.atomic
def availability_rule_update(
    *,
    actor: User | None,
    rule: AvailabilityRule,
    weekday: int | None = None,
    start_time: time | None = None,
    end_time: time | None = None,
    visit_types: Iterable[str] | None = None,
) -> AvailabilityRule:
    """Change a weekly window. Booked appointments outside the new window stay booked."""
    rule.weekday = rule.weekday if weekday is None else weekday
    rule.start_time = start_time or rule.start_time
    rule.end_time = end_time or rule.end_time
    _check_rule_times(rule.start_time, rule.end_time)
    if visit_types is not None:
        rule.visit_types = _check_visit_types(visit_types)
    rule.save(update_fields=["weekday", "start_time", "end_time", "visit_types", "updated_at"])
    audit_record(
        actor=actor, object_type="availability_rule", object_id=rule.id, action=Action.UPDATE
    )
    return rule


@transaction.atomic
def availability_rule_delete(*, actor: User | None, rule: AvailabilityRule) -> None:
    rule_id = rule.id
    rule.delete()
    audit_record(
        actor=actor, object_type="availability_rule", object_id=rule_id, action=Action.DELETE
    )


@transaction.atomic
def availability_weekly_ensure(
    *,
    actor: User | None,
    clinician: Clinician,
    weekdays: Iterable[int],
    start_time: time,
    end_time: time,
    visit_types: Iterable[str] | None = None,
) -> list[AvailabilityRule]:
    """Make sure the clinician has this window on each weekday (idempotent: an identical rule is
    left alone). Used by seed_demo and handy for onboarding."""
    chosen = _check_visit_types(visit_types or settings.CARECORE_VISIT_DURATIONS)
    rules = []
    for weekday in sorted(set(weekdays)):
        rule = AvailabilityRule.objects.filter(
            clinician=clinician,
            weekday=weekday,
            start_time=start_time,
            end_time=end_time,
            visit_types=chosen,
        ).first()
        if rule is None:
            rule = availability_rule_create(
                actor=actor,
                clinician=clinician,
                weekday=weekday,
                start_time=start_time,
                end_time=end_time,
                visit_types=chosen,
            )
        rules.append(rule)
    return rules


@transaction.atomic
def time_off_create(
    *,
    actor: User | None,
    clinician: Clinician,
    starts_at: datetime,
    ends_at: datetime,
    note: str = "",
) -> TimeOff:
    """Block real time. Visits already booked inside it stay booked: staff move them one by one
    (the API answer counts them), since a silent mass cancellation would strand patients."""
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise ValidationFailed(fields={"start": ["Give times with a UTC offset."]})
    if ends_at <= starts_at:
        raise ValidationFailed(fields={"end": ["Must be after the start."]})
    time_off = TimeOff.objects.create(
        clinician=clinician,
        starts_at=starts_at.astimezone(UTC),
        ends_at=ends_at.astimezone(UTC),
        note=note.strip(),
    )
    audit_record(actor=actor, object_type="time_off", object_id=time_off.id, action=Action.CREATE)
    return time_off


@transaction.atomic
def time_off_delete(*, actor: User | None, time_off: TimeOff) -> None:
    time_off_id = time_off.id
    time_off.delete()
    audit_record(actor=actor, object_type="time_off", object_id=time_off_id, action=Action.DELETE)


# --- availability through the API: access first, then the writes above ----------------------------
#
# The API names a clinician by id; these check that `user` may manage that clinician's
# availability (their own; a scheduler anyone's) inside the write's transaction, then call the
# object-level services above, which the Django admin (staff permissions) also uses.


@transaction.atomic
def clinician_rule_create(
    *,
    user: User,
    clinician_id: UUID | str,
    weekday: int,
    start_time: time,
    end_time: time,
    visit_types: Iterable[str],
) -> AvailabilityRule:
    clinician = access_clinician_availability(user=user, clinician_id=clinician_id)
    return availability_rule_create(
        actor=user,
        clinician=clinician,
        weekday=weekday,
        start_time=start_time,
        end_time=end_time,
        visit_types=visit_types,
    )


@transaction.atomic
def clinician_rule_update(
    *,
    user: User,
    clinician_id: UUID | str,
    rule_id: UUID,
    weekday: int | None = None,
    start_time: time | None = None,
    end_time: time | None = None,
    visit_types: Iterable[str] | None = None,
) -> AvailabilityRule:
    clinician = access_clinician_availability(user=user, clinician_id=clinician_id)
    return availability_rule_update(
        actor=user,
        rule=selectors.availability_rule_get(clinician=clinician, rule_id=rule_id, lock=True),
        weekday=weekday,
        start_time=start_time,
        end_time=end_time,
        visit_types=visit_types,
    )


@transaction.atomic
def clinician_rule_delete(*, user: User, clinician_id: UUID | str, rule_id: UUID) -> None:
    clinician = access_clinician_availability(user=user, clinician_id=clinician_id)
    availability_rule_delete(
        actor=user,
        rule=selectors.availability_rule_get(clinician=clinician, rule_id=rule_id, lock=True),
    )


@dataclass(frozen=True)
class TimeOffCreated:
    time_off: TimeOff
    # Booked visits inside the time off: they stay booked until staff move them.
    conflicting_appointments: int
    # The clinician's zone, in which the API shows the times.
    timezone: str


@transaction.atomic
def clinician_time_off_create(
    *,
    user: User,
    clinician_id: UUID | str,
    starts_at: datetime,
    ends_at: datetime,
    note: str = "",
) -> TimeOffCreated:
    clinician = access_clinician_availability(user=user, clinician_id=clinician_id)
    time_off = time_off_create(
        actor=user, clinician=clinician, starts_at=starts_at, ends_at=ends_at, note=note
    )
    return TimeOffCreated(
        time_off=time_off,
        conflicting_appointments=selectors.appointments_overlapping_count(
            clinician=clinician, start=time_off.starts_at, end=time_off.ends_at
        ),
        timezone=clinician.user.timezone,
    )


@transaction.atomic
def clinician_time_off_delete(*, user: User, clinician_id: UUID | str, time_off_id: UUID) -> None:
    clinician = access_clinician_availability(user=user, clinician_id=clinician_id)
    time_off_delete(
        actor=user, time_off=selectors.time_off_get(clinician=clinician, time_off_id=time_off_id)
    )


# --- appointments ------------------------------------------------------------------------------


def _check_bookable(
    *,
    patient: Patient,
    clinician: Clinician,
    visit_type: str,
    start: datetime,
) -> datetime:
    """Everything about a requested start except "is it taken" (the database decides that).
    Returns the start in UTC."""
    if visit_type not in settings.CARECORE_VISIT_DURATIONS:
        raise ValidationFailed(fields={"visit_type": ["Unknown visit type."]})
    if timezone.is_naive(start):
        raise ValidationFailed(fields={"start": ["Give the time with a UTC offset."]})
    if patient.state not in clinician.licensed_states:
        raise ClinicianNotLicensed()
    start = start.astimezone(UTC)
    window = selectors.booking_window()
    if start < window.not_before:
        raise BookingWindowClosed()
    if start >= window.before:
        raise BookingWindowClosed(
            f"Visits can be booked up to {settings.CARECORE_BOOKING_WINDOW_DAYS} days ahead."
        )
    if visit_type not in clinician.visit_types or not clinician.user.is_active:
        raise SlotUnavailable("This clinician does not offer this visit type.")
    if not selectors.slot_is_offered(clinician=clinician, visit_type=visit_type, start=start):
        raise SlotUnavailable()
    return start


def _queue_claims_on_calendar(clinician_id: UUID) -> None:
    """Rival claims on one clinician's calendar take turns, until this transaction ends.

    A GiST exclusion constraint inserts its own index entry before it looks for clashes, so two
    transactions inserting overlapping visits at the same instant can each wait for the other;
    PostgreSQL then aborts one with a deadlock error (a 500) instead of the exclusion violation
    (a 409). With a transaction-scoped advisory lock per clinician the claims queue instead, and
    each loser finds the winner's row and gets the exclusion violation. Other clinicians'
    calendars are not held up.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"appointment-claims:{clinician_id}"],
        )


def _save_claiming_time(appointment: Appointment, *, update_fields: list[str] | None) -> None:
    """Insert or update inside a savepoint; the exclusion constraint turns a clash into 409.

    Only a violation of that one constraint is a taken slot; any other integrity error is a bug
    and propagates.
    """
    _queue_claims_on_calendar(appointment.clinician_id)
    try:
        with transaction.atomic():
            if update_fields is None:
                appointment.save(force_insert=True)
            else:
                appointment.save(update_fields=update_fields)
    except IntegrityError as error:
        diag = getattr(error.__cause__, "diag", None)
        if getattr(diag, "constraint_name", None) == APPOINTMENT_OVERLAP_CONSTRAINT:
            raise SlotTaken() from error
        raise


def _time_range(start: datetime, end: datetime) -> DateTimeTZRange:
    return DateTimeTZRange(start, end, "[)")


@transaction.atomic
def appointment_book(
    *,
    actor: User,
    patient_id: UUID | str | None,
    clinician_id: UUID | str,
    start: datetime,
    visit_type: str,
    reason: str = "",
) -> Appointment:
    """Book a visit for a patient `actor` may book for (`access_booking_patient`: a patient
    books for themself, `patient_id` may then be None).

    Locks the patient row (SELECT ... FOR UPDATE) so two bookings of one patient cannot both
    pass the upcoming-visit cap. The slot itself is not locked: the exclusion constraint
    serialises rival bookings and the loser gets `SlotTaken`.
    """
    patient = access_booking_patient(user=actor, patient_id=patient_id, for_write=True)
    clinician = selectors.clinician_get(clinician_id=clinician_id)
    if clinician is None:
        raise ValidationFailed(fields={"clinician": ["Unknown clinician."]})
    start = _check_bookable(
        patient=patient, clinician=clinician, visit_type=visit_type, start=start
    )
    Patient.objects.select_for_update().only("id").get(pk=patient.pk)
    now = timezone.now()
    if (
        selectors.upcoming_appointment_count(patient=patient, now=now)
        >= settings.CARECORE_UPCOMING_APPOINTMENT_CAP
    ):
        raise TooManyUpcoming()
    end = start + selectors.visit_duration(visit_type)  # type: ignore[operator]
    appointment = Appointment(
        patient=patient,
        clinician=clinician,
        visit_type=visit_type,
        start_at=start,
        end_at=end,
        during=_time_range(start, end),
        reason=reason.strip(),
        booked_by=actor,
        created_at=now,
        scheduled_at=now,
    )
    appointment.join_url = video_provider().create_join_url(appointment_id=appointment.id)
    _save_claiming_time(appointment, update_fields=None)
    audit_record(
        actor=actor,
        object_type="appointment",
        object_id=appointment.id,
        patient_id=patient.id,
        action=Action.CREATE,
    )
    _announce(appointment, event=Event.APPOINTMENT_BOOKED)
    if visit_type == selectors.NEW_PATIENT_VISIT_TYPE and patients_missing_intake(
        patient_ids=[patient.id]
    ):
        _remind_intake(appointment, occurrence="intake")
    return appointment


def is_late_cancellation(appointment: Appointment, *, now: datetime) -> bool:
    """Late: inside the late-cancel window before the start, for a visit that was already at
    this time when the window opened. A visit booked (or moved) inside the window, as next-day
    visits usually are, was never cancellable "in time", so cancelling it is not late
    (docs/portal.md)."""
    window_opens = appointment.start_at - timedelta(hours=settings.CARECORE_LATE_CANCEL_HOURS)
    return now >= window_opens and appointment.scheduled_at < window_opens


@transaction.atomic
def appointment_cancel(*, actor: User, appointment_id: UUID | str) -> Appointment:
    """Cancel a booked visit and give the time back. Inside the late-cancel window the
    appointment is flagged `late_cancel` (policy, not refusal: a patient can always cancel).
    Locks the row through `access_appointment`, whose event is the cancellation's audit event.
    """
    appointment = access_appointment(
        user=actor,
        appointment_id=appointment_id,
        for_write=True,
        lock=True,
        detail={"status": AppointmentStatus.CANCELLED},
    )
    if appointment.status != AppointmentStatus.BOOKED:
        raise AppointmentNotActive()
    now = timezone.now()
    if appointment.start_at <= now:
        raise AppointmentStarted("This visit has started; it can be marked completed or missed.")
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancelled_at = now
    appointment.cancelled_by = actor
    appointment.late_cancel = is_late_cancellation(appointment, now=now)
    appointment.sequence += 1
    appointment.save(
        update_fields=[
            "status",
            "cancelled_at",
            "cancelled_by",
            "late_cancel",
            "sequence",
            "updated_at",
        ]
    )
    _announce(appointment, event=Event.APPOINTMENT_CANCELLED)
    return appointment


@transaction.atomic
def appointment_reschedule(
    *, actor: User, appointment_id: UUID | str, start: datetime
) -> Appointment:
    """Move a booked visit to a new start, keeping its id, visit type and join link.

    One UPDATE of the row's range: the exclusion constraint checks the new range against every
    other appointment while this row still holds the old one, so the new time is taken before
    the old is released, and on a clash (`SlotTaken`) the savepoint rolls back and nothing
    changes. Locks the row (SELECT ... FOR UPDATE, through `access_appointment`, whose event is
    the reschedule's audit event) so a concurrent cancel cannot interleave.
    """
    appointment = access_appointment(
        user=actor,
        appointment_id=appointment_id,
        for_write=True,
        lock=True,
        detail={"rescheduled": True},
    )
    if appointment.status != AppointmentStatus.BOOKED:
        raise AppointmentNotActive()
    if appointment.start_at <= timezone.now():
        raise AppointmentStarted()
    start = _check_bookable(
        patient=appointment.patient,
        clinician=appointment.clinician,
        visit_type=appointment.visit_type,
        start=start,
    )
    end = start + selectors.visit_duration(appointment.visit_type)  # type: ignore[operator]
    previous = (appointment.start_at, appointment.end_at, appointment.during)
    appointment.start_at, appointment.end_at = start, end
    appointment.during = _time_range(start, end)
    previous_scheduled_at = appointment.scheduled_at
    appointment.scheduled_at = timezone.now()
    appointment.sequence += 1
    try:
        _save_claiming_time(
            appointment,
            update_fields=[
                "start_at",
                "end_at",
                "during",
                "scheduled_at",
                "sequence",
                "updated_at",
            ],
        )
    except SlotTaken:
        # The row in the database never changed; keep the caller's object truthful too.
        appointment.start_at, appointment.end_at, appointment.during = previous
        appointment.scheduled_at = previous_scheduled_at
        appointment.sequence -= 1
        raise
    # The reminders need nothing here: their occurrence carries the start time, so the new time
    # gets fresh ones, and the old time's are never due (the task reads the current start).
    _announce(appointment, event=Event.APPOINTMENT_RESCHEDULED)
    return appointment


# --- notifications -------------------------------------------------------------------------------


def _link(appointment: Appointment) -> str:
    return links.visit_page(appointment.id)


def _stamp(moment: datetime) -> str:
    """A start time as a compact UTC stamp for an occurrence key ("+" is not allowed there)."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _publish_appointment(appointment: Appointment, *, change: str) -> None:
    """appointment.updated to the patient, their care team, the visit's clinician (who may be
    outside the team) and the schedulers (who see every visit through the API), in the caller's
    transaction (docs/realtime.md)."""
    audience = {
        *patient_audience(patient=appointment.patient),
        appointment.clinician.user_id,
        *scheduler_user_ids(),
    }
    event = NewEvent(
        EventType.APPOINTMENT_UPDATED,
        {
            "appointment_id": appointment.id,
            "patient_id": appointment.patient_id,
            "clinician_id": appointment.clinician_id,
            "status": appointment.status,
            "change": change,
        },
    )
    event_publish(user_ids=audience, events=[event])


def _announce(appointment: Appointment, *, event: str) -> None:
    """Booked / cancelled / rescheduled, to the patient and the visit's clinician, in the
    caller's transaction. The occurrence is the sequence after the change, so every change is
    announced once (a retried request that changes nothing announces nothing)."""
    _publish_appointment(appointment, change=event.removeprefix("appointment_"))
    notify(
        event=event,
        recipients=[appointment.patient.user, appointment.clinician.user],
        subject_type="appointment",
        subject_id=appointment.id,
        occurrence=f"seq:{appointment.sequence}",
        link_path=_link(appointment),
    )


INTAKE_LINK = links.questionnaire_page(INTAKE_SLUG)


def _remind_intake(appointment: Appointment, *, occurrence: str) -> list[Notification]:
    """`checkin_due` ("It is time for your check-in. Sign in to complete it.") is the closest
    existing event to "please complete your intake": no event or template names the intake, and
    the text may not. The in-app link opens the gut-skin intake."""
    return notify(
        event=Event.CHECKIN_DUE,
        recipients=[appointment.patient.user],
        subject_type="appointment",
        subject_id=appointment.id,
        occurrence=occurrence,
        link_path=INTAKE_LINK,
    )


@dataclass(frozen=True)
class ReminderKind:
    """One reminder: how long before the start its moment is, and what it sends."""

    name: str
    lead: timedelta
    new_patient_visits_only: bool = False


def reminder_kinds() -> list[ReminderKind]:
    return [
        ReminderKind("24h", timedelta(hours=24)),
        ReminderKind("1h", timedelta(hours=1)),
        ReminderKind("intake-24h", timedelta(hours=24), new_patient_visits_only=True),
        ReminderKind("previsit", timedelta(hours=settings.CARECORE_PREVISIT_SUMMARY_HOURS)),
    ]


def _reminder_grace() -> timedelta:
    return timedelta(minutes=settings.CARECORE_APPOINTMENT_REMINDER_GRACE_MINUTES)


def _is_due(appointment: Appointment, kind: ReminderKind, now: datetime) -> bool:
    """Booked, not started, and the reminder's moment (start - lead) in (now - grace, now]."""
    moment = appointment.start_at - kind.lead
    return (
        appointment.status == AppointmentStatus.BOOKED
        and appointment.start_at > now
        and now - _reminder_grace() < moment <= now
    )


@transaction.atomic
def appointment_reminder_send(*, appointment_id: UUID, kind: ReminderKind, now: datetime) -> int:
    """Send one reminder of one visit if it is due; returns the outbox rows created.

    Locks the appointment row (SELECT ... FOR UPDATE) and re-checks it, so a cancel or
    reschedule committed after the task listed the visit wins: no reminder for a cancelled
    visit, none for a start that has moved. Idempotent by the notification key: the occurrence
    names the kind and the start ("24h:20260611T140000Z"), so a second run, a duplicate beat
    message or a restarted worker creates nothing, and a rescheduled visit gets fresh ones.

    - "24h", "1h": `appointment_reminder` to the patient, not delivered after the visit's start
      (it ends `expired`). The clinician gets the pre-visit summary instead (their schedule is
      their reminder; see docs/portal.md).
    - "intake-24h": `checkin_due` to the patient of a new-patient visit whose gut-skin intake
      is still missing (occurrence "intake-24h", once per visit).
    - "previsit": `previsit_summary` to the visit's clinician, in the app and by e-mail.
    """
    appointment = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("patient__user", "clinician__user")
        .filter(pk=appointment_id)
        .first()
    )
    if appointment is None or not _is_due(appointment, kind, now):
        return 0
    if kind.new_patient_visits_only:
        if appointment.visit_type != selectors.NEW_PATIENT_VISIT_TYPE:
            return 0
        if not patients_missing_intake(patient_ids=[appointment.patient_id]):
            return 0
        return len(_remind_intake(appointment, occurrence=kind.name))
    if kind.name == "previsit":
        return len(
            notify(
                event=Event.PREVISIT_SUMMARY,
                recipients=[appointment.clinician.user],
                subject_type="appointment",
                subject_id=appointment.id,
                occurrence=f"previsit:{_stamp(appointment.start_at)}",
                link_path=links.previsit_summary_page(appointment.id),
            )
        )
    return len(
        notify(
            event=Event.APPOINTMENT_REMINDER,
            recipients=[appointment.patient.user],
            subject_type="appointment",
            subject_id=appointment.id,
            occurrence=f"{kind.name}:{_stamp(appointment.start_at)}",
            link_path=_link(appointment),
            # A reminder held by quiet hours or retrying is dropped once the visit has started,
            # not sent late.
            expires_at=appointment.start_at,
        )
    )


def appointment_reminders_send(*, now: datetime | None = None) -> dict[str, int]:
    """Send every reminder whose moment is in (now - grace, now]; returns rows created per kind
    and the number of visits that failed (retried by the next run).

    For each kind, one indexed read of the booked visits starting in (now + lead - grace,
    now + lead] (`selectors.booked_appointment_ids_starting`), then one short transaction per
    visit (`appointment_reminder_send`), so one visit's failure or lock wait never holds back
    the others. A reminder whose moment passed more than the grace period ago (beat was down,
    or the visit was booked or moved inside that time) is skipped rather than sent late.
    """
    now = now or timezone.now()
    grace = _reminder_grace()
    created: dict[str, int] = {"failed": 0}
    for kind in reminder_kinds():
        ids = selectors.booked_appointment_ids_starting(
            after=max(now, now + kind.lead - grace),
            until=now + kind.lead,
            visit_type=selectors.NEW_PATIENT_VISIT_TYPE if kind.new_patient_visits_only else None,
        )
        created[kind.name] = 0
        for appointment_id in ids:
            try:
                created[kind.name] += appointment_reminder_send(
                    appointment_id=appointment_id, kind=kind, now=now
                )
            except Exception as error:
                # One visit's failure must not hold back everyone else's reminders; its
                # transaction rolled back and the next run retries it while inside the grace
                # period. Ids and the exception type only: no patient data in logs.
                created["failed"] += 1
                logger.warning(
                    "appointment reminder %s failed for appointment %s (%s)",
                    kind.name,
                    appointment_id,
                    type(error).__name__,
                )
    return created


@transaction.atomic
def appointment_status_set(*, actor: User, appointment_id: UUID | str, status: str) -> Appointment:
    """After the visit: mark it completed or no_show (only once it has started)."""
    if status not in (AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW):
        raise ValidationFailed(fields={"status": ["Use completed or no_show."]})
    appointment = access_appointment(
        user=actor,
        appointment_id=appointment_id,
        for_write=True,
        lock=True,
        detail={"status": status},
    )
    if appointment.status != AppointmentStatus.BOOKED:
        raise AppointmentNotActive()
    if appointment.start_at > timezone.now():
        raise ValidationFailed(fields={"status": ["The visit has not started yet."]})
    appointment.status = status
    appointment.save(update_fields=["status", "updated_at"])
    # access_appointment(for_write=True) wrote the audit row with the new status.
    _publish_appointment(appointment, change=status)
    return appointment
