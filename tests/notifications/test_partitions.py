"""The outbox partitioned by month (notifications migration 0005, docs/scaling.md "Growing
tables"): the idempotency key still holds across a month boundary, and delivery attempts still
point only at notifications that exist (triggers instead of a foreign key)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction

from carecore.notifications.models import DeliveryAttempt, Event, Notification
from carecore.notifications.services import notify

from ..common.test_partitions import month_boundary, partition_of

pytestmark = pytest.mark.django_db


def test_the_same_reminder_the_next_month_creates_nothing_new(patient):
    boundary = month_boundary()
    kwargs: dict[str, Any] = {
        "event": Event.APPOINTMENT_REMINDER,
        "recipients": [patient.user],
        "subject_type": "appointment",
        "subject_id": uuid.uuid4(),
        "occurrence": "24h",
    }

    with time_machine.travel(boundary - timedelta(seconds=1), tick=False):
        first = notify(**kwargs)
    with time_machine.travel(boundary, tick=False):
        again = notify(**kwargs)

    assert first and again == []
    assert Notification.objects.count() == len(first)
    previous_month = f"notifications_notification_p{boundary - timedelta(days=1):%Y_%m}"
    assert {partition_of("notifications_notification", row.pk) for row in first} == {previous_month}


def test_a_delivery_attempt_cannot_name_a_notification_that_does_not_exist():
    with pytest.raises(IntegrityError, match="violates reference"), transaction.atomic():
        DeliveryAttempt.objects.create(
            notification_id=uuid.uuid4(), number=1, claim_token=uuid.uuid4()
        )
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_a_notification_with_attempts_cannot_be_deleted_behind_djangos_back(patient):
    row = notify(
        event=Event.MESSAGE_RECEIVED,
        recipients=[patient.user],
        subject_type="thread",
        subject_id=uuid.uuid4(),
        occurrence="m1",
    )[0]
    DeliveryAttempt.objects.get_or_create(
        notification=row, number=1, defaults={"claim_token": uuid.uuid4()}
    )

    with (
        pytest.raises(IntegrityError, match="violates reference"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM notifications_notification WHERE id = %s", [row.id])
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
