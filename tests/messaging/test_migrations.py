"""Migration 0008 gives a thread whose time disagrees with its last public message's that
message's time, then holds the pair in step; 0009 gives each sent attachment its message's time,
then holds that pair in step too (docs/scaling.md, "Growing tables")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from messaging.models import Attachment, Thread

from .conftest import open_thread
from .test_attachments import PDF, send_with, upload

BEFORE = [("messaging", "0007_found_by_composite_indexes")]
AFTER = [("messaging", "0008_last_public_message_keyed_by_its_time")]


def migrate(targets: list[tuple[str, str]]) -> None:
    MigrationExecutor(connection).migrate(targets)


def migrate_to_the_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_a_thread_gets_its_last_messages_time_and_keeps_it(patient):
    in_step = open_thread(patient, subject="In step")
    drifted = open_thread(patient, subject="Drifted")
    migrate(BEFORE)
    try:
        # Before 0008 nothing held the two together.
        Thread.objects.filter(pk=drifted.pk).update(
            last_message_at=drifted.last_message_at + timedelta(seconds=3)
        )

        migrate(AFTER)

        for thread in (in_step, drifted):
            thread.refresh_from_db()
            last = thread.last_public_message
            assert last is not None and thread.last_message_at == last.created_at
        with pytest.raises(IntegrityError, match="violates reference"), transaction.atomic():
            Thread.objects.filter(pk=drifted.pk).update(
                last_message_at=drifted.last_message_at - timedelta(seconds=1)
            )
    finally:
        migrate_to_the_latest()


@pytest.mark.django_db(transaction=True)
def test_a_sent_attachment_gets_its_messages_time_and_keeps_it(patient, client_for):
    thread = open_thread(patient)
    sender = client_for(patient.user)
    sent = upload(sender, PDF, "labs.pdf", "application/pdf").json()["id"]
    assert send_with(sender, thread, sent).status_code == 201
    unsent = upload(sender, PDF, "later.pdf", "application/pdf").json()["id"]
    migrate(AFTER)  # before 0009: the column is gone with what it held
    try:
        migrate_to_the_latest()

        attachment = Attachment.objects.select_related("message").get(pk=sent)
        assert attachment.message is not None
        assert attachment.message_created_at == attachment.message.created_at
        assert Attachment.objects.get(pk=unsent).message_created_at is None
        with pytest.raises(IntegrityError, match="violates reference"), transaction.atomic():
            Attachment.objects.filter(pk=sent).update(
                message_created_at=attachment.message_created_at - timedelta(seconds=1)
            )
    finally:
        migrate_to_the_latest()
