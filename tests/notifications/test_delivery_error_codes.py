"""What the outbox keeps of a failed delivery: a classified code and the provider's status,
never the provider's text, which quotes addresses and numbers (issue 12, item 10)."""

from __future__ import annotations

import smtplib
import uuid

import pytest
import time_machine

from carecore.notifications.errors import (
    DeliveryError,
    PermanentDeliveryError,
    delivery_error_code,
)
from carecore.notifications.models import Channel, Event, Status
from carecore.notifications.services import notification_deliver, notify

pytestmark = pytest.mark.django_db

NOON_NY = "2026-06-10T16:00:00Z"


def _email_row(user):
    subject = uuid.uuid4()
    rows = notify(
        event=Event.APPOINTMENT_REMINDER,
        recipients=[user],
        subject_type="appointment",
        subject_id=subject,
        occurrence="24h",
        link_path=f"/appointments/{subject}",
    )
    return next(row for row in rows if row.channel == Channel.EMAIL)


@time_machine.travel(NOON_NY, tick=False)
@pytest.mark.parametrize(
    ("backend", "code", "status"),
    [
        ("RefusingEmailBackend", "recipient_refused", Status.PENDING),
        ("BouncingDataEmailBackend", "smtp_error:554", Status.PENDING),
    ],
)
def test_an_smtp_refusal_is_stored_as_a_code_without_the_address(
    patient, settings, backend, code, status
):
    settings.EMAIL_BACKEND = f"tests.notifications.failing_backends.{backend}"
    row = _email_row(patient.user)

    assert notification_deliver(notification_id=row.id) == status

    row.refresh_from_db()
    (attempt,) = row.attempts.all()
    assert row.last_error == attempt.error == code
    assert patient.user.email not in row.last_error + attempt.error


def test_every_error_becomes_a_code_from_a_fixed_vocabulary():
    address = "patient@example.test"
    assert delivery_error_code(PermanentDeliveryError("provider_refused", 422)) == (
        "provider_refused:422"
    )
    assert delivery_error_code(DeliveryError("connection_failed")) == "connection_failed"
    assert delivery_error_code(smtplib.SMTPServerDisconnected(address)) == "smtp_disconnected"
    assert delivery_error_code(smtplib.SMTPSenderRefused(550, b"no", address)) == ("smtp_error:550")
    assert delivery_error_code(TimeoutError(address)) == "timeout"
    assert delivery_error_code(ConnectionRefusedError(address)) == "connection_failed"
    assert delivery_error_code(ValueError(f"bad address {address}")) == "unexpected_error"
