"""What leaves CareCore as a patient's messages (FHIR Communication): never an internal note,
whoever reads; the thread position of each message among those the patient sees."""

from __future__ import annotations

import pytest

from carecore.common.errors import NotFound
from messaging import services
from messaging.access import access_public_message
from messaging.selectors import public_message_list, public_thread_places

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(thread, clinician):
    opening = thread.messages.get()
    reply = services.message_send(actor=clinician.user, thread_id=thread.id, body="Reply").message
    note = services.message_send(
        actor=clinician.user, thread_id=thread.id, body="Staff only", internal=True
    ).message
    follow_up = services.message_send(
        actor=thread.patient.user, thread_id=thread.id, body="Thanks"
    ).message
    return opening, reply, note, follow_up


def test_internal_notes_are_never_public_even_to_the_care_team(conversation, clinician):
    opening, reply, note, follow_up = conversation

    listed = list(public_message_list(user=clinician.user))

    assert [m.id for m in sorted(listed, key=lambda m: m.position)] == [
        opening.id,
        reply.id,
        follow_up.id,
    ]
    with pytest.raises(NotFound):
        access_public_message(user=clinician.user, message_id=note.id)


def test_someone_elses_message_is_not_found(conversation, other_patient):
    with pytest.raises(NotFound):
        access_public_message(user=other_patient.user, message_id=conversation[0].id)
    assert list(public_message_list(user=other_patient.user)) == []


def test_thread_places_skip_internal_notes(conversation):
    opening, reply, _note, follow_up = conversation

    places = public_thread_places([opening, reply, follow_up])

    assert places[opening.id].previous_message_id is None
    assert places[reply.id].first_message_id == opening.id
    assert places[follow_up.id].previous_message_id == reply.id
    assert places[follow_up.id].previous_sender_kind == "staff"
