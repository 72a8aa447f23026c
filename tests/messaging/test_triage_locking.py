"""Triage runs before the send's transaction: no transaction and no thread row lock is held
while a patient's text is screened (screening a long message takes tens of milliseconds, and
every other writer of the thread would wait for it). Committed data: the lock is looked for
from a second database connection."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from django.db import OperationalError, connection, connections

from messaging import services, triage

from .conftest import open_thread

pytestmark = pytest.mark.django_db(transaction=True)


def _thread_row_locked(thread_id: UUID) -> bool:
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            try:
                cursor.execute(
                    "SELECT 1 FROM messaging_thread WHERE id = %s FOR UPDATE NOWAIT", [thread_id]
                )
            except OperationalError:
                return True
            finally:
                cursor.execute("ROLLBACK")
        return False
    finally:
        other.close()


def _spy_on_screening(monkeypatch: pytest.MonkeyPatch, thread_id: UUID | None) -> list[Any]:
    seen: list[Any] = []
    real = triage.screen_message

    def spy(**kwargs: str) -> triage.Screening:
        locked = _thread_row_locked(thread_id) if thread_id else None
        seen.append((connection.in_atomic_block, locked))
        return real(**kwargs)

    monkeypatch.setattr(triage, "screen_message", spy)
    return seen


def test_a_message_is_screened_before_the_transaction_and_the_row_lock(patient, monkeypatch):
    thread = open_thread(patient)
    seen = _spy_on_screening(monkeypatch, thread.id)

    result = services.message_send(actor=patient.user, thread_id=thread.id, body="chest pain")

    assert seen == [(False, False)]
    assert result.triage_flags == ["chest_pain"]


def test_a_new_thread_is_screened_before_its_transaction(patient, monkeypatch):
    seen = _spy_on_screening(monkeypatch, None)

    thread = open_thread(patient, subject="I can't breathe", body="since lunch")

    assert seen == [(False, None)]
    assert thread.priority == "urgent"
