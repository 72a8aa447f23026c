"""A patient's message cursors reveal nothing about internal notes (issue 12, item 10).

A cursor is base64 of the position it stops at: anyone can read it. If a patient's cursors
counted internal notes, the gaps (1, 3, 6...) would tell the patient that staff wrote notes about
them, and how many.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest

from messaging import services

from .conftest import open_thread

pytestmark = pytest.mark.django_db


def _positions(client, url: str) -> tuple[list[str], list[str]]:
    """Follow `next` one message at a time: the bodies, and the position each cursor names."""
    bodies: list[str] = []
    positions: list[str] = []
    while url:
        body = client.get(url).json()
        bodies += [message["body"] for message in body["results"]]
        url = body["next"]
        if url:
            token = parse_qs(urlsplit(url).query)["cursor"][0]
            decoded = base64.b64decode(token + "=" * (-len(token) % 4)).decode()
            positions.append(parse_qs(decoded)["p"][0])
    return bodies, positions


def test_a_patients_cursors_count_only_the_messages_they_see(client_for, patient, clinician):
    thread = open_thread(patient, body="one")
    for body, internal in [
        ("note a", True),
        ("two", False),
        ("note b", True),
        ("note c", True),
        ("three", False),
        ("four", False),
    ]:
        services.message_send(
            actor=clinician.user, thread_id=thread.id, body=body, internal=internal
        )

    bodies, positions = _positions(
        client_for(patient.user), f"/api/v1/threads/{thread.id}/messages/?page_size=1"
    )

    assert bodies == ["one", "two", "three", "four"]
    assert positions == ["1", "2", "3"]  # no gaps where the notes are


def test_staff_cursors_still_walk_every_message(client_for, patient, clinician):
    thread = open_thread(patient, body="one")
    services.message_send(actor=clinician.user, thread_id=thread.id, body="note", internal=True)
    services.message_send(actor=clinician.user, thread_id=thread.id, body="two")

    bodies, _ = _positions(
        client_for(clinician.user), f"/api/v1/threads/{thread.id}/messages/?page_size=1"
    )

    assert bodies == ["one", "note", "two"]
