"""Booked / cancelled / rescheduled announcements: who gets them on which channel, that they
commit or roll back with the change, and that no patient data reaches any rendered text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail

from carecore.accounts.models import Patient
from carecore.celery import app
from carecore.notifications.models import Channel, Event, Notification
from carecore.notifications.rendering import render
from carecore.notifications.sms import LocmemSmsBackend
from portal import services, tasks
from portal.models import Appointment

from ..factories import PatientFactory
from .conftest import TOMORROW, appointment_url, at, book

pytestmark = pytest.mark.django_db

E, S, A = Channel.EMAIL, Channel.SMS, Channel.IN_APP


def received(event: str) -> set[tuple[str, str]]:
    """(recipient e-mail, channel) of every outbox row for `event`."""
    return {
        (row.recipient.email, row.channel)
        for row in Notification.objects.filter(event=event).select_related("recipient")
    }


@pytest.fixture
def texting_patient(patient: Patient) -> Patient:
    """The fixed patient with a phone number, so SMS rows are written where the role allows."""
    patient.user.phone = "+12125550100"
    patient.user.save(update_fields=["phone"])
    return patient


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Run published delivery tasks inline, so e-mail and SMS really go out (to memory)."""
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    LocmemSmsBackend.outbox.clear()
    yield
    LocmemSmsBackend.outbox.clear()
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


def test_a_booking_is_announced_to_the_patient_and_the_clinician(
    frozen: Any, schedules: None, client_for: Any, texting_patient: Patient, clinician: Any
) -> None:
    response = book(client_for(texting_patient.user), clinician, at(TOMORROW, 10))
    assert response.status_code == 201, response.json()
    appointment_id = response.json()["id"]

    # Role defaults: the patient by e-mail and in the app (SMS is for time-critical changes
    # only); the clinician in the app only (booking churn stays out of their e-mail).
    assert received(Event.APPOINTMENT_BOOKED) == {
        ("patient@example.test", E),
        ("patient@example.test", A),
        ("clinician@example.test", A),
    }
    rows = Notification.objects.filter(event=Event.APPOINTMENT_BOOKED)
    assert {row.subject_type for row in rows} == {"appointment"}
    assert {row.subject_id for row in rows} == {appointment_id}
    assert {row.occurrence for row in rows} == {"seq:0"}
    # Each to the page where they work: the visit in the portal, and in the workspace.
    assert {(row.recipient.email, row.link_path) for row in rows} == {
        ("patient@example.test", f"/visits/{appointment_id}/"),
        ("clinician@example.test", f"/staff/visits/{appointment_id}/"),
    }


def test_staff_booking_for_a_patient_announces_to_the_patient_and_clinician_not_the_booker(
    frozen: Any, schedules: None, client_for: Any, patient: Patient, clinician: Any, scheduler: Any
) -> None:
    response = book(client_for(scheduler), clinician, at(TOMORROW, 10), patient=patient.id)
    assert response.status_code == 201, response.json()

    recipients = {email for email, _ in received(Event.APPOINTMENT_BOOKED)}
    assert recipients == {"patient@example.test", "clinician@example.test"}


def test_a_cancellation_is_announced_to_both_with_sms_for_the_patient(
    appointment: Appointment, client_for: Any, texting_patient: Patient
) -> None:
    response = client_for(texting_patient.user).post(appointment_url(appointment, "cancel"))
    assert response.status_code == 200, response.json()

    assert received(Event.APPOINTMENT_CANCELLED) == {
        ("patient@example.test", E),
        ("patient@example.test", S),
        ("patient@example.test", A),
        ("clinician@example.test", A),
    }
    rows = Notification.objects.filter(event=Event.APPOINTMENT_CANCELLED)
    assert {(row.subject_id, row.occurrence) for row in rows} == {(str(appointment.id), "seq:1")}


def test_each_reschedule_is_announced_once(
    appointment: Appointment, client_for: Any, texting_patient: Patient, clinician: Any
) -> None:
    client = client_for(clinician.user)
    for hour in (11, 12):
        response = client.post(
            appointment_url(appointment, "reschedule"),
            {"start": at(TOMORROW, hour).isoformat()},
            format="json",
        )
        assert response.status_code == 200, response.json()

    assert received(Event.APPOINTMENT_RESCHEDULED) == {
        ("patient@example.test", E),
        ("patient@example.test", S),
        ("patient@example.test", A),
        ("clinician@example.test", A),
    }
    in_app = Notification.objects.filter(
        event=Event.APPOINTMENT_RESCHEDULED, channel=A, recipient=texting_patient.user
    )
    # Two changes, two announcements: the occurrence is the sequence after each change.
    assert sorted(in_app.values_list("occurrence", flat=True)) == ["seq:1", "seq:2"]


def test_a_booking_that_loses_the_slot_leaves_no_notification(
    frozen: Any, schedules: None, client_for: Any, patient: Patient, clinician: Any
) -> None:
    rival = PatientFactory(user__email="rival@example.test", state="NY")
    assert book(client_for(patient.user), clinician, at(TOMORROW, 10)).status_code == 201
    before = Notification.objects.count()

    response = book(client_for(rival.user), clinician, at(TOMORROW, 10))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "slot_taken"
    assert Notification.objects.count() == before
    assert not Notification.objects.filter(recipient=rival.user).exists()


def test_a_reschedule_onto_a_taken_slot_leaves_no_notification(
    appointment: Appointment, client_for: Any, patient: Patient, clinician: Any
) -> None:
    rival = PatientFactory(user__email="rival@example.test", state="NY")
    services.appointment_book(
        actor=rival.user,
        patient_id=rival.id,
        clinician_id=clinician.id,
        start=at(TOMORROW, 11),
        visit_type="new",
    )
    before = Notification.objects.count()

    response = client_for(patient.user).post(
        appointment_url(appointment, "reschedule"),
        {"start": at(TOMORROW, 11).isoformat()},
        format="json",
    )

    assert response.status_code == 409
    assert Notification.objects.count() == before
    assert not Notification.objects.filter(event=Event.APPOINTMENT_RESCHEDULED).exists()


def test_a_refused_cancellation_leaves_no_notification(
    appointment: Appointment, client_for: Any, patient: Patient
) -> None:
    client = client_for(patient.user)
    assert client.post(appointment_url(appointment, "cancel")).status_code == 200
    before = Notification.objects.count()

    response = client.post(appointment_url(appointment, "cancel"))

    assert response.status_code == 409
    assert Notification.objects.count() == before


def test_no_patient_data_reaches_any_email_sms_or_in_app_text(
    frozen: Any,
    schedules: None,
    client_for: Any,
    texting_patient: Patient,
    clinician: Any,
    django_capture_on_commit_callbacks: Any,
    eager_celery: None,
) -> None:
    """The PHI canary: a unique reason and unique names go through booking, reschedule,
    reminders, the intake reminder, the pre-visit summary and cancellation; none of it appears
    in any delivered e-mail or SMS, in any in-app title or body, or in any rendered template."""
    canary = "Canary7f3a9c"
    for user in (texting_patient.user, clinician.user):
        user.first_name, user.last_name = canary, f"{canary}son"
        user.save(update_fields=["first_name", "last_name"])
    clinician.user.phone = "+12125550101"
    clinician.user.save(update_fields=["phone"])
    reason = f"{canary} weeping eczema behind the knees"
    patient_client = client_for(texting_patient.user)

    with django_capture_on_commit_callbacks(execute=True):
        created = patient_client.post(
            "/api/v1/appointments/",
            {
                "clinician": str(clinician.id),
                "start": at(TOMORROW, 10).isoformat(),
                "visit_type": "new",
                "reason": reason,
            },
            format="json",
        )
    assert created.status_code == 201, created.json()
    appointment = Appointment.objects.get(pk=created.json()["id"])
    assert appointment.reason == reason
    with django_capture_on_commit_callbacks(execute=True):
        moved = patient_client.post(
            appointment_url(appointment, "reschedule"),
            {"start": at(TOMORROW, 11).isoformat()},
            format="json",
        )
    assert moved.status_code == 200
    appointment.refresh_from_db()
    for before_start in (timedelta(hours=24), timedelta(hours=2), timedelta(hours=1)):
        frozen.move_to(appointment.start_at - before_start)
        with django_capture_on_commit_callbacks(execute=True):
            tasks.send_appointment_reminders()
    with django_capture_on_commit_callbacks(execute=True):
        # A fresh sign-in: the first token has expired over the simulated day.
        cancelled = client_for(texting_patient.user).post(appointment_url(appointment, "cancel"))
    assert cancelled.status_code == 200

    rows = list(Notification.objects.all())
    assert {row.event for row in rows} >= {
        Event.APPOINTMENT_BOOKED,
        Event.APPOINTMENT_RESCHEDULED,
        Event.APPOINTMENT_REMINDER,
        Event.CHECKIN_DUE,
        Event.PREVISIT_SUMMARY,
        Event.APPOINTMENT_CANCELLED,
    }
    assert mail.outbox and LocmemSmsBackend.outbox  # something really went out
    texts = [f"{message.subject}\n{message.body}" for message in mail.outbox]
    texts += [message.body for message in LocmemSmsBackend.outbox]
    texts += [f"{row.title}\n{row.body}\n{row.link_path}" for row in rows]
    for row in rows:
        for channel in Channel.values:
            rendered = render(event=row.event, channel=channel, link_path=row.link_path)
            texts.append(f"{rendered.subject}\n{rendered.body}")
    starts = [appointment.start_at.strftime(pattern) for pattern in ("%H:%M", "%Y-%m-%d", "%d %B")]
    for text in texts:
        assert canary not in text
        assert "eczema" not in text
        for start in starts:
            assert start not in text
