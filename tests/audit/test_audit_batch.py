"""`audit_batch`: successful events of a read held back and written in one INSERT when the block
ends, normally or by an error; denials written at once."""

from __future__ import annotations

import uuid

import pytest

from carecore.audit.models import AuditEvent
from carecore.audit.services import (
    AuditNote,
    audit_batch,
    audit_denied,
    audit_record_list,
    audit_record_together,
)

pytestmark = pytest.mark.django_db


def test_a_read_and_its_list_are_written_in_one_insert_when_the_block_ends(
    clinician, patient, django_assert_num_queries
):
    thread_id, shown = uuid.uuid4(), [uuid.uuid4(), uuid.uuid4()]

    with django_assert_num_queries(1) as context, audit_batch():
        audit_record_together(
            actor=clinician.user,
            patient_id=patient.id,
            notes=[AuditNote("message_thread", thread_id, "read")],
        )
        audit_record_list(
            actor=clinician.user,
            object_type="message",
            rows=[(message_id, patient.id) for message_id in shown],
        )
        written_inside = list(context.captured_queries)

    assert written_inside == []  # nothing was written before the block ended
    assert context.captured_queries[0]["sql"].startswith("INSERT INTO")
    events = list(AuditEvent.objects.order_by("id"))
    assert [(event.object_type, event.action) for event in events] == [
        ("message_thread", "read"),
        ("message", "list"),
    ]
    assert events[0].object_id == str(thread_id)
    assert events[1].detail["object_ids"] == [str(message_id) for message_id in shown]
    assert {event.patient_id for event in events} == {patient.id}
    assert {event.actor_id for event in events} == {clinician.user.id}
    assert events[0].occurred_at == events[1].occurred_at


def test_events_held_back_are_written_when_the_block_ends_by_an_error(clinician, patient):
    with pytest.raises(RuntimeError), audit_batch():
        audit_record_together(
            actor=clinician.user,
            patient_id=patient.id,
            notes=[AuditNote("message_thread", uuid.uuid4(), "read")],
        )
        raise RuntimeError("the page could not be read")

    assert AuditEvent.objects.filter(object_type="message_thread", action="read").count() == 1


def test_a_denial_is_written_at_once(clinician, django_assert_num_queries):
    with audit_batch():
        with django_assert_num_queries(1):
            audit_denied(
                actor=clinician.user,
                object_type="message_thread",
                object_id=uuid.uuid4(),
                action="read",
            )
        assert AuditEvent.objects.filter(outcome="denied").count() == 1


def test_each_actor_gets_its_own_events(clinician, other_clinician, patient, other_patient):
    with audit_batch():
        for actor, owner in ((clinician, patient), (other_clinician, other_patient)):
            audit_record_list(
                actor=actor.user, object_type="message", rows=[(uuid.uuid4(), owner.id)]
            )

    written = {(event.actor_id, event.patient_id) for event in AuditEvent.objects.all()}
    assert written == {(clinician.user.id, patient.id), (other_clinician.user.id, other_patient.id)}


def test_outside_a_block_events_are_written_at_once(clinician, patient, django_assert_num_queries):
    with django_assert_num_queries(1):
        audit_record_list(
            actor=clinician.user, object_type="message", rows=[(uuid.uuid4(), patient.id)]
        )
    assert AuditEvent.objects.filter(action="list").count() == 1
