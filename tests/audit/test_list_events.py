"""The shape of a list event (docs/architecture.md, "The shape of a list event"): one event per
request and patient, naming every row shown; the admin's search still finds them by row id."""

from __future__ import annotations

import uuid

from django.test import Client

from carecore.accounts import services
from carecore.accounts.models import Role
from carecore.audit.models import AuditEvent
from carecore.audit.services import AuditTarget, audit_record_list, audit_record_many


def test_a_list_writes_one_event_per_patient_naming_its_rows_in_order(
    clinician, patient, other_patient
):
    rows = [
        (uuid.uuid4(), patient.id),
        (uuid.uuid4(), other_patient.id),
        (uuid.uuid4(), patient.id),
    ]

    audit_record_list(actor=clinician.user, object_type="message_thread", rows=rows)

    events = {event.patient_id: event for event in AuditEvent.objects.filter(action="list")}
    assert set(events) == {patient.id, other_patient.id}
    assert events[patient.id].detail["object_ids"] == [str(rows[0][0]), str(rows[2][0])]
    assert events[other_patient.id].detail["object_ids"] == [str(rows[1][0])]
    assert {event.object_id for event in events.values()} == {""}


def test_an_empty_list_writes_nothing(clinician, django_assert_num_queries):
    with django_assert_num_queries(0):  # not even an INSERT of no rows
        audit_record_list(actor=clinician.user, object_type="message_thread", rows=[])

    assert not AuditEvent.objects.filter(action="list").exists()


def test_the_admin_search_finds_the_list_events_that_showed_a_row(clinician, patient):
    shown, other = uuid.uuid4(), uuid.uuid4()
    audit_record_list(actor=clinician.user, object_type="message", rows=[(shown, patient.id)])
    audit_record_list(actor=clinician.user, object_type="message", rows=[(other, patient.id)])
    admin = services.staff_user_create(
        actor=None,
        email="audit-admin@example.test",
        password="a-long-staff-passphrase",
        first_name="Audit",
        last_name="Admin",
        role=Role.ADMIN,
    )
    client = Client()
    client.force_login(admin)

    response = client.get("/admin/audit/auditevent/", {"q": str(shown)})

    assert response.status_code == 200
    found = list(response.context["cl"].result_list)
    assert [event.detail["object_ids"] for event in found] == [[str(shown)]]


def test_one_insert_of_many_events_marks_only_the_reads_under_a_grant(
    other_clinician, patient, other_patient, django_assert_num_queries
):
    # other_clinician is on other_patient's care team and reads patient under a grant.
    grant = services.break_glass_open(
        user=other_clinician.user, patient_id=patient.id, reason="On call, team unreachable."
    )
    under_grant, own = uuid.uuid4(), uuid.uuid4()

    with django_assert_num_queries(1):
        audit_record_list(
            actor=other_clinician.user,
            object_type="message_thread",
            rows=[(under_grant, patient.id), (own, other_patient.id)],
            detail={"page": 1},
        )

    events = {event.patient_id: event for event in AuditEvent.objects.filter(action="list")}
    assert events[patient.id].detail == {
        "page": 1,
        "object_ids": [str(under_grant)],
        "break_glass": True,
        "grant_id": str(grant.id),
    }
    assert events[other_patient.id].detail == {"page": 1, "object_ids": [str(own)]}
    assert {
        (event.actor_id, event.actor_role, event.object_type, event.outcome)
        for event in events.values()
    } == {(other_clinician.user.id, "clinician", "message_thread", "success")}


def test_many_events_without_a_patient_are_written_as_given(admin_user):
    audit_record_many(
        actor=admin_user,
        targets=[AuditTarget("user", "u-1", None), AuditTarget("user", "u-2", None)],
        action="export",
    )

    events = AuditEvent.objects.filter(action="export").order_by("id")
    assert [(event.object_id, event.patient_id, event.detail) for event in events] == [
        ("u-1", None, {}),
        ("u-2", None, {}),
    ]
    assert {event.actor_role for event in events} == {"admin"}
