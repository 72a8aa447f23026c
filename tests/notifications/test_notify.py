"""notify(): the outbox rows it writes, in the caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.db import transaction

from carecore.accounts.models import Role
from carecore.common.errors import ValidationFailed
from carecore.notifications.models import (
    AttemptOutcome,
    Channel,
    Event,
    Notification,
    NotificationPreference,
    QuietHours,
    Status,
)
from carecore.notifications.services import notify

from ..factories import UserFactory

pytestmark = pytest.mark.django_db

# 15:00 in New York: outside everyone's default quiet hours (21:00-08:00).
AFTERNOON = "2026-06-10T19:00:00Z"


def _rows(**filters: object) -> set[tuple[str, str]]:
    return {(row.recipient.email, row.channel) for row in Notification.objects.filter(**filters)}


@time_machine.travel(AFTERNOON, tick=False)
def test_it_writes_one_row_per_recipient_and_enabled_channel_by_role(patient, clinician):
    patient.user.phone = "+12125550100"
    patient.user.save()
    subject = uuid.uuid4()

    created = notify(
        event=Event.APPOINTMENT_REMINDER,
        recipients=[patient.user, clinician.user],
        subject_type="appointment",
        subject_id=subject,
        occurrence="24h",
        link_path=f"/appointments/{subject}",
    )

    # Patients: reminders by e-mail, SMS and in the app; clinicians: in the app only.
    assert {(row.recipient_id, row.channel) for row in created} == {
        (patient.user.id, Channel.EMAIL),
        (patient.user.id, Channel.SMS),
        (patient.user.id, Channel.IN_APP),
        (clinician.user.id, Channel.IN_APP),
    }
    assert all(row.subject_id == str(subject) and row.occurrence == "24h" for row in created)


def test_it_creates_nothing_new_for_the_same_occurrence(patient):
    subject = uuid.uuid4()
    kwargs: dict[str, Any] = {
        "event": Event.APPOINTMENT_REMINDER,
        "recipients": [patient.user],
        "subject_type": "appointment",
        "subject_id": subject,
    }

    first = notify(**kwargs, occurrence="24h")
    again = notify(**kwargs, occurrence="24h")
    next_reminder = notify(**kwargs, occurrence="1h")

    assert first and again == [] and next_reminder
    assert Notification.objects.filter(occurrence="24h").count() == len(first)


def test_it_writes_no_sms_row_without_a_phone_number(patient):
    assert not patient.user.phone

    notify(
        event=Event.APPOINTMENT_REMINDER,
        recipients=[patient.user],
        subject_type="appointment",
        subject_id=uuid.uuid4(),
    )

    assert not Notification.objects.filter(channel=Channel.SMS).exists()


def test_it_follows_the_recipients_own_preferences(patient):
    NotificationPreference.objects.create(
        user=patient.user, event=Event.MESSAGE_RECEIVED, channel=Channel.EMAIL, enabled=False
    )
    NotificationPreference.objects.create(
        user=patient.user, event=Event.CHECKIN_DUE, channel=Channel.IN_APP, enabled=False
    )

    notify(
        event=Event.MESSAGE_RECEIVED,
        recipients=[patient.user],
        subject_type="thread",
        subject_id=uuid.uuid4(),
    )
    notify(
        event=Event.CHECKIN_DUE,
        recipients=[patient.user],
        subject_type="care_plan",
        subject_id=uuid.uuid4(),
    )

    assert _rows() == {(patient.user.email, Channel.IN_APP), (patient.user.email, Channel.EMAIL)}
    assert Notification.objects.get(event=Event.CHECKIN_DUE).channel == Channel.EMAIL


def test_it_skips_deactivated_accounts(patient):
    patient.user.is_active = False
    patient.user.save()

    created = notify(
        event=Event.CARE_PLAN_PUBLISHED,
        recipients=[patient.user],
        subject_type="care_plan",
        subject_id=uuid.uuid4(),
    )

    assert created == []


def test_it_delivers_in_app_rows_in_the_event_transaction_with_a_delivery_record(patient):
    created = notify(
        event=Event.MESSAGE_RECEIVED,
        recipients=[patient.user],
        subject_type="thread",
        subject_id=uuid.uuid4(),
    )

    in_app = next(row for row in created if row.channel == Channel.IN_APP)
    assert in_app.status == Status.SENT
    assert in_app.title == "New secure message"
    assert in_app.body == "You have a new secure message. Sign in to read it."
    assert [attempt.outcome for attempt in in_app.attempts.all()] == [AttemptOutcome.SENT]


def test_a_rollback_leaves_no_notification_and_publishes_nothing(
    patient, django_capture_on_commit_callbacks
):
    with (
        mock.patch("carecore.notifications.services.enqueue_deliveries") as enqueue,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        notify(
            event=Event.MESSAGE_RECEIVED,
            recipients=[patient.user],
            subject_type="thread",
            subject_id=uuid.uuid4(),
        )
        raise RuntimeError("the event failed")

    assert not Notification.objects.exists()
    assert callbacks == []
    enqueue.assert_not_called()


@time_machine.travel(AFTERNOON, tick=False)
def test_a_commit_publishes_the_email_and_sms_rows_for_delivery(
    patient, django_capture_on_commit_callbacks, eager_celery, sms_outbox
):
    patient.user.phone = "+12125550100"
    patient.user.save()

    with django_capture_on_commit_callbacks(execute=True):
        notify(
            event=Event.APPOINTMENT_CANCELLED,
            recipients=[patient.user],
            subject_type="appointment",
            subject_id=uuid.uuid4(),
        )

    assert len(mail.outbox) == 1 and len(sms_outbox) == 1
    assert set(Notification.objects.values_list("status", flat=True)) == {Status.SENT}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("link_path", "/threads/Jane Doe"),
        ("link_path", "/search?q=eczema"),
        ("subject_type", "Thread About Eczema"),
        ("subject_id", "eczema flare"),
        ("event", "eczema_flare"),
    ],
)
def test_it_rejects_arguments_that_could_carry_data_without_echoing_them(patient, field, value):
    kwargs = {
        "event": Event.MESSAGE_RECEIVED,
        "recipients": [patient.user],
        "subject_type": "thread",
        "subject_id": str(uuid.uuid4()),
        "link_path": "/threads/x",
        field: value,
    }

    with pytest.raises(ValidationFailed) as error:
        notify(**kwargs)

    assert "eczema" not in str(error.value.fields).lower()
    assert "Jane" not in str(error.value.fields)


@time_machine.travel("2026-06-10T03:00:00Z", tick=False)  # 23:00 in New York
def test_quiet_hours_defer_email_and_sms_but_not_the_in_app_row(patient):
    QuietHours.objects.create(user=patient.user, start="22:00", end="07:00")

    created = notify(
        event=Event.CARE_PLAN_PUBLISHED,
        recipients=[patient.user],
        subject_type="care_plan",
        subject_id=uuid.uuid4(),
    )

    by_channel = {row.channel: row for row in created}
    assert by_channel[Channel.IN_APP].status == Status.SENT
    assert by_channel[Channel.EMAIL].due_at.isoformat() == "2026-06-10T11:00:00+00:00"
    # Too far ahead to publish with a countdown: the sweeper publishes it when it is due.
    assert by_channel[Channel.EMAIL].enqueued_at is None


@time_machine.travel("2026-06-10T03:00:00Z", tick=False)  # 23:00 in New York
def test_urgent_events_reach_staff_during_quiet_hours_but_wait_for_patients(patient, clinician):
    created = notify(
        event=Event.INTAKE_RED_FLAG,
        recipients=[clinician.user, patient.user],
        subject_type="intake_review",
        subject_id=uuid.uuid4(),
        urgent=True,
    )

    email = {row.recipient.role: row for row in created if row.channel == Channel.EMAIL}
    assert email[Role.CLINICIAN].due_at.isoformat() == "2026-06-10T03:00:00+00:00"
    assert Role.PATIENT not in email  # patients get no e-mail for this event by default


@time_machine.travel("2026-06-10T03:00:00Z", tick=False)
def test_urgent_does_not_override_a_patients_quiet_hours(patient):
    created = notify(
        event=Event.APPOINTMENT_CANCELLED,
        recipients=[patient.user],
        subject_type="appointment",
        subject_id=uuid.uuid4(),
        urgent=True,
    )

    email = next(row for row in created if row.channel == Channel.EMAIL)
    # The default quiet hours (21:00-08:00) end at 08:00 in New York.
    assert email.due_at.isoformat() == "2026-06-10T12:00:00+00:00"


def test_staff_of_every_role_get_the_in_app_row_by_default(actors):
    users = [UserFactory(role=role) for role in Role.values]

    created = notify(
        event=Event.THREAD_ESCALATED,
        recipients=users,
        subject_type="thread",
        subject_id=uuid.uuid4(),
    )

    assert {row.recipient_id for row in created if row.channel == Channel.IN_APP} == {
        user.id for user in users
    }
