"""Reminders 24 h and 1 h before, the intake reminder and the pre-visit summary notification,
sent by the beat task with frozen time: once, on time, fresh after a reschedule, never for a
cancelled visit or after the grace period.

The `appointment` fixture is a new-patient visit tomorrow 10:00 New York = 2026-06-11 14:00 UTC,
booked at 2026-06-10 12:00 UTC; no questionnaire has been answered.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from carecore.accounts.models import Patient
from carecore.notifications.models import Channel, Event, Notification
from intake import services as intake_services
from portal import selectors, services, tasks
from portal.models import Appointment

from .conftest import TOMORROW, at, book_directly

pytestmark = pytest.mark.django_db

E, S, A = Channel.EMAIL, Channel.SMS, Channel.IN_APP
START = "20260611T140000Z"


def rows(event: str, **filters: Any) -> set[tuple[str, str, str]]:
    """(recipient e-mail, channel, occurrence) of every outbox row for `event`."""
    return {
        (row.recipient.email, row.channel, row.occurrence)
        for row in Notification.objects.filter(event=event, **filters).select_related("recipient")
    }


def run_at(frozen: Any, moment: datetime) -> dict[str, int]:
    frozen.move_to(moment)
    return tasks.send_appointment_reminders()


@pytest.fixture
def texting_patient(patient: Patient) -> Patient:
    patient.user.phone = "+12125550100"
    patient.user.save(update_fields=["phone"])
    return patient


def complete_intake(patient: Patient) -> None:
    from ..intake.helpers import healthy_intake

    intake_services.response_create(
        user=patient.user, slug="gut-skin-intake", answers=healthy_intake(), status="completed"
    )


# --- 24 h and 1 h ------------------------------------------------------------------------------


def test_the_24h_reminder_goes_to_the_patient_once_even_when_the_task_runs_twice(
    frozen: Any, texting_patient: Patient, appointment: Appointment
) -> None:
    first = run_at(frozen, appointment.start_at - timedelta(hours=24))
    second = run_at(frozen, appointment.start_at - timedelta(hours=24, minutes=-5))

    assert rows(Event.APPOINTMENT_REMINDER) == {
        ("patient@example.test", E, f"24h:{START}"),
        ("patient@example.test", S, f"24h:{START}"),
        ("patient@example.test", A, f"24h:{START}"),
    }
    assert first["24h"] == 3
    assert second["24h"] == 0
    reminder = Notification.objects.filter(event=Event.APPOINTMENT_REMINDER).first()
    assert reminder is not None
    assert reminder.subject_type == "appointment"
    assert reminder.subject_id == str(appointment.id)
    assert reminder.link_path == f"/visits/{appointment.id}/"


def test_the_1h_reminder_goes_once_and_the_missed_24h_one_is_not_sent_late(
    frozen: Any, patient: Patient, appointment: Appointment
) -> None:
    run_at(frozen, appointment.start_at - timedelta(minutes=59))
    run_at(frozen, appointment.start_at - timedelta(minutes=50))

    # The 24 h moment passed 23 hours ago, far beyond the grace period.
    assert rows(Event.APPOINTMENT_REMINDER) == {
        ("patient@example.test", E, f"1h:{START}"),
        ("patient@example.test", A, f"1h:{START}"),
    }


def test_both_reminders_over_a_day_of_beat_runs(
    frozen: Any, patient: Patient, appointment: Appointment
) -> None:
    moment = datetime.fromisoformat("2026-06-10T12:00:00+00:00")
    while moment < appointment.start_at:
        run_at(frozen, moment)
        moment += timedelta(minutes=5)

    in_app = rows(Event.APPOINTMENT_REMINDER, channel=A)
    assert in_app == {
        ("patient@example.test", A, f"24h:{START}"),
        ("patient@example.test", A, f"1h:{START}"),
    }


def test_nothing_is_sent_before_the_moment(
    frozen: Any, patient: Patient, appointment: Appointment
) -> None:
    assert run_at(frozen, appointment.start_at - timedelta(hours=24, minutes=1))["24h"] == 0
    assert run_at(frozen, appointment.start_at - timedelta(hours=1, minutes=1))["1h"] == 0
    assert not Notification.objects.filter(event=Event.APPOINTMENT_REMINDER).exists()


def test_a_reminder_past_the_grace_period_is_skipped(
    frozen: Any, patient: Patient, appointment: Appointment, settings: Any
) -> None:
    settings.CARECORE_APPOINTMENT_REMINDER_GRACE_MINUTES = 30
    run_at(frozen, appointment.start_at - timedelta(hours=24) + timedelta(minutes=31))

    assert not Notification.objects.filter(event=Event.APPOINTMENT_REMINDER).exists()

    run_at(frozen, appointment.start_at - timedelta(hours=1) + timedelta(minutes=29))
    assert rows(Event.APPOINTMENT_REMINDER, channel=A) == {
        ("patient@example.test", A, f"1h:{START}")
    }


def test_no_reminder_for_a_cancelled_visit(
    frozen: Any, patient: Patient, appointment: Appointment
) -> None:
    services.appointment_cancel(actor=patient.user, appointment_id=appointment.id)

    run_at(frozen, appointment.start_at - timedelta(hours=24))
    run_at(frozen, appointment.start_at - timedelta(hours=2))
    run_at(frozen, appointment.start_at - timedelta(hours=1))

    for event in (Event.APPOINTMENT_REMINDER, Event.PREVISIT_SUMMARY):
        assert not Notification.objects.filter(event=event).exists()
    assert not Notification.objects.filter(event=Event.CHECKIN_DUE, occurrence="intake-24h")


def test_a_cancel_after_the_task_listed_the_visit_still_wins(
    frozen: Any, patient: Patient, appointment: Appointment
) -> None:
    """The per-visit step locks and re-reads the row, so a listing that is already stale
    cannot remind a visit that was cancelled in between."""
    frozen.move_to(appointment.start_at - timedelta(hours=24))
    services.appointment_cancel(actor=patient.user, appointment_id=appointment.id)

    kind = next(kind for kind in services.reminder_kinds() if kind.name == "24h")
    created = services.appointment_reminder_send(
        appointment_id=appointment.id, kind=kind, now=appointment.start_at - timedelta(hours=24)
    )

    assert created == 0
    assert not Notification.objects.filter(event=Event.APPOINTMENT_REMINDER).exists()


def test_a_rescheduled_visit_gets_fresh_reminders_at_its_new_time(
    frozen: Any, patient: Patient, appointment: Appointment
) -> None:
    run_at(frozen, appointment.start_at - timedelta(hours=24))
    frozen.move_to(appointment.start_at - timedelta(hours=23))
    moved = services.appointment_reschedule(
        actor=patient.user, appointment_id=appointment.id, start=at(TOMORROW + timedelta(days=1), 9)
    )
    new_start = "20260612T130000Z"

    # The old time's 1 h reminder never comes: the task reads the current start.
    run_at(frozen, datetime.fromisoformat("2026-06-11T13:00:00+00:00"))
    run_at(frozen, moved.start_at - timedelta(hours=24))
    run_at(frozen, moved.start_at - timedelta(hours=1))

    assert rows(Event.APPOINTMENT_REMINDER, channel=A) == {
        ("patient@example.test", A, f"24h:{START}"),
        ("patient@example.test", A, f"24h:{new_start}"),
        ("patient@example.test", A, f"1h:{new_start}"),
    }


def test_the_clinician_gets_no_appointment_reminder(
    frozen: Any, clinician: Any, appointment: Appointment
) -> None:
    run_at(frozen, appointment.start_at - timedelta(hours=24))
    run_at(frozen, appointment.start_at - timedelta(hours=1))

    assert not Notification.objects.filter(
        event=Event.APPOINTMENT_REMINDER, recipient=clinician.user
    ).exists()


def test_the_reminder_query_reads_the_booked_start_index(frozen: Any) -> None:
    """The task's read is a bounded range on the partial index of booked visits: the planner can
    answer it without scanning the table (sequential scans off to make the small test table
    behave like a large one)."""
    now = datetime.fromisoformat("2026-06-10T12:00:00+00:00")
    query = Appointment.objects.filter(
        status="booked",
        start_at__gt=now + timedelta(minutes=30),
        start_at__lte=now + timedelta(hours=1),
    ).values_list("id", flat=True)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = query.explain()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'appointment_booked_start'"
        )
        (index,) = cursor.fetchone()

    # The partial index exists for this query; on a near-empty test table the planner may
    # answer through another index covering booked rows (the exclusion constraint's), so the
    # plan is checked for what matters: an index answers it, the table is not scanned.
    assert "WHERE" in index and "booked" in index
    assert "Index" in plan
    assert "Seq Scan" not in plan
    # And the selector the task uses is that query.
    assert selectors.booked_appointment_ids_starting(after=now, until=now) == []


# --- the intake reminder -----------------------------------------------------------------------


def test_booking_a_new_patient_visit_without_an_intake_reminds_the_patient(
    frozen: Any, schedules: None, patient: Patient, clinician: Any, questionnaires: None
) -> None:
    appointment = book_directly(patient=patient, clinician=clinician, start=at(TOMORROW, 10))

    assert rows(Event.CHECKIN_DUE) == {
        ("patient@example.test", E, "intake"),
        ("patient@example.test", A, "intake"),
    }
    row = Notification.objects.get(event=Event.CHECKIN_DUE, channel=A)
    assert row.subject_type == "appointment"
    assert row.subject_id == str(appointment.id)
    assert row.link_path == "/questionnaires/gut-skin-intake/"


def test_no_intake_reminder_when_the_intake_is_done(
    frozen: Any, schedules: None, patient: Patient, clinician: Any, questionnaires: None
) -> None:
    complete_intake(patient)
    appointment = book_directly(patient=patient, clinician=clinician, start=at(TOMORROW, 10))

    run_at(frozen, appointment.start_at - timedelta(hours=24))

    assert not Notification.objects.filter(event=Event.CHECKIN_DUE).exists()


def test_no_intake_reminder_for_a_follow_up_visit(
    frozen: Any, schedules: None, patient: Patient, clinician: Any
) -> None:
    appointment = book_directly(
        patient=patient, clinician=clinician, start=at(TOMORROW, 10), visit_type="follow_up"
    )

    run_at(frozen, appointment.start_at - timedelta(hours=24))

    assert not Notification.objects.filter(event=Event.CHECKIN_DUE).exists()


def test_the_intake_reminder_repeats_24h_before_if_still_missing_and_only_once(
    frozen: Any, patient: Patient, appointment: Appointment
) -> None:
    run_at(frozen, appointment.start_at - timedelta(hours=24))
    run_at(frozen, appointment.start_at - timedelta(hours=23, minutes=55))

    assert rows(Event.CHECKIN_DUE, channel=A) == {
        ("patient@example.test", A, "intake"),
        ("patient@example.test", A, "intake-24h"),
    }


def test_the_24h_intake_reminder_is_not_sent_once_the_intake_is_done(
    frozen: Any, patient: Patient, appointment: Appointment, questionnaires: None
) -> None:
    complete_intake(patient)

    run_at(frozen, appointment.start_at - timedelta(hours=24))

    assert rows(Event.CHECKIN_DUE, channel=A) == {("patient@example.test", A, "intake")}


# --- the pre-visit summary notification ----------------------------------------------------------


def test_the_previsit_summary_goes_to_the_clinician_once_before_the_visit(
    frozen: Any, clinician: Any, coordinator: Any, appointment: Appointment
) -> None:
    assert run_at(frozen, appointment.start_at - timedelta(hours=2, minutes=1))["previsit"] == 0
    run_at(frozen, appointment.start_at - timedelta(hours=2))
    run_at(frozen, appointment.start_at - timedelta(hours=1, minutes=55))

    assert rows(Event.PREVISIT_SUMMARY) == {
        ("clinician@example.test", E, f"previsit:{START}"),
        ("clinician@example.test", A, f"previsit:{START}"),
    }
    row = Notification.objects.get(event=Event.PREVISIT_SUMMARY, channel=A)
    assert row.link_path == f"/staff/visits/{appointment.id}/summary/"


def test_the_previsit_summary_time_is_configurable(
    frozen: Any, clinician: Any, appointment: Appointment, settings: Any
) -> None:
    settings.CARECORE_PREVISIT_SUMMARY_HOURS = 12

    run_at(frozen, appointment.start_at - timedelta(hours=2))
    assert not Notification.objects.filter(event=Event.PREVISIT_SUMMARY).exists()

    run_at(frozen, appointment.start_at - timedelta(hours=12))
    assert rows(Event.PREVISIT_SUMMARY, channel=A) == {
        ("clinician@example.test", A, f"previsit:{START}")
    }


def test_the_beat_schedule_runs_the_reminder_task_every_few_minutes(settings: Any) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["portal-send-appointment-reminders"]

    assert entry["task"] == tasks.send_appointment_reminders.name
    assert entry["schedule"] <= settings.CARECORE_APPOINTMENT_REMINDER_GRACE_MINUTES * 60 / 2


def test_one_failing_visit_does_not_hold_back_the_others_and_is_retried(
    frozen: Any,
    patient: Patient,
    other_patient: Patient,
    other_clinician: Any,
    appointment: Appointment,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    other = book_directly(patient=other_patient, clinician=other_clinician, start=at(TOMORROW, 10))
    real_notify = services.notify

    def failing_for_the_first_patient(**kwargs: Any) -> Any:
        if patient.user in kwargs["recipients"]:
            raise RuntimeError("provider exploded")
        return real_notify(**kwargs)

    monkeypatch.setattr(services, "notify", failing_for_the_first_patient)
    first = run_at(frozen, appointment.start_at - timedelta(hours=24))

    # That visit's 24 h reminder and its intake reminder (the intake is missing) failed.
    assert first["failed"] == 2
    assert rows(Event.APPOINTMENT_REMINDER, channel=A) == {
        ("other-patient@example.test", A, f"24h:{START}")
    }
    assert str(appointment.id) in caplog.text
    assert "RuntimeError" in caplog.text and "exploded" not in caplog.text

    monkeypatch.setattr(services, "notify", real_notify)
    run_at(frozen, appointment.start_at - timedelta(hours=23, minutes=55))

    assert rows(Event.APPOINTMENT_REMINDER, channel=A) == {
        ("other-patient@example.test", A, f"24h:{START}"),
        ("patient@example.test", A, f"24h:{START}"),
    }
    assert other.start_at == appointment.start_at


def test_the_1h_reminder_is_dropped_not_sent_late_once_the_visit_has_started(
    frozen: Any, texting_patient: Patient, appointment: Appointment
) -> None:
    from carecore.notifications.models import Status
    from carecore.notifications.services import notification_deliver

    run_at(frozen, appointment.start_at - timedelta(minutes=59))
    outbox = Notification.objects.filter(event=Event.APPOINTMENT_REMINDER).exclude(channel=A)
    assert {row.expires_at for row in outbox} == {appointment.start_at}

    # The worker was down until the visit began: nothing goes out, the rows end `expired`.
    frozen.move_to(appointment.start_at + timedelta(seconds=1))
    assert [notification_deliver(notification_id=row.id) for row in outbox] == ["skipped"] * 2
    assert {row.status for row in outbox.all()} == {Status.EXPIRED}
