"""The partitioning migrations on a database with rows, both ways (messaging 0003, audit 0004,
notifications 0005, realtime 0002): every row survives, ids keep counting, the references still
hold, and the tables end partitioned again. docs/scaling.md, "Converting an existing database".
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.db import connection

from carecore.audit.models import AuditEvent
from carecore.audit.services import audit_record
from carecore.notifications.models import DeliveryAttempt, Event, Notification
from carecore.notifications.services import notify
from carecore.realtime.models import FeedEvent
from messaging import services as messaging
from messaging.models import Attachment, Message

# Migrations are DDL that must be committed to be seen by the next step.
pytestmark = pytest.mark.django_db(transaction=True)

STEPS = [
    ("messaging", "0002_triage_hits_and_soon_priority", "0003_partition_messages_by_month"),
    ("audit", "0003_admin_audit_permissions", "0004_partition_audit_events_by_month"),
    ("notifications", "0004_break_glass_opened_event", "0005_partition_notifications_by_month"),
    ("realtime", "0001_feed_events_and_sequences", "0002_partition_feed_events_by_month"),
]
TABLES = [
    "messaging_message",
    "audit_auditevent",
    "notifications_notification",
    "realtime_feedevent",
]


def _kinds() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, relkind FROM pg_class WHERE relname = ANY(%s)", [TABLES])
        return dict(cursor.fetchall())


def _counts() -> dict[str, int]:
    return {
        "messages": Message.objects.count(),
        "attachments": Attachment.objects.filter(message__isnull=False).count(),
        "audit": AuditEvent.objects.count(),
        "notifications": Notification.objects.count(),
        "attempts": DeliveryAttempt.objects.count(),
        "feed": FeedEvent.objects.count(),
    }


@pytest.fixture
def migrated_back_and_forth() -> Iterator[None]:
    yield
    # Whatever happened, leave the suite's database fully migrated.
    call_command("migrate", verbosity=0)


def test_the_migrations_move_every_row_both_ways(migrated_back_and_forth, patient, clinician):
    thread = messaging.thread_open(
        actor=patient.user, subject="Rash", category="clinical", body="Itchy."
    ).thread
    messaging.message_send(actor=clinician.user, thread_id=thread.id, body="Photo please.")
    first_message = thread.messages.earliest("position")
    Attachment.objects.create(
        uploaded_by=patient.user,
        message=first_message,
        message_created_at=first_message.created_at,
        content_type="image/png",
        size=1,
        sha256="0" * 64,
        storage_name="migration.png",
    )
    notify(
        event=Event.MESSAGE_RECEIVED,
        recipients=[patient.user],
        subject_type="thread",
        subject_id=uuid.uuid4(),
    )
    before = _counts()
    assert all(before.values()), before
    assert set(_kinds().values()) == {"p"}

    for app, previous, _ in STEPS:
        call_command("migrate", app, previous, verbosity=0)
    assert set(_kinds().values()) == {"r"}
    assert _counts() == before
    last_audit_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True)[0]

    for app, _, latest in STEPS:
        call_command("migrate", app, latest, verbosity=0)
    assert set(_kinds().values()) == {"p"}
    assert _counts() == before
    # And the migrations after the partitioning ones (going back undid them too).
    call_command("migrate", verbosity=0)

    # Ids carry on after the rows moved; the app works on the rebuilt tables.
    assert (
        audit_record(actor=None, object_type="patient", object_id="x", action="read").id
        > last_audit_id
    )
    messaging.message_send(actor=patient.user, thread_id=thread.id, body="Here it is.")
    assert Message.objects.filter(thread=thread).count() == before["messages"] + 1
