"""The shape of a list event (docs/architecture.md, "The shape of a list event"): one event per
request and patient, naming every row shown; the admin's search still finds them by row id."""

from __future__ import annotations

import uuid

from django.test import Client

from carecore.accounts import services
from carecore.accounts.models import Role
from carecore.audit.models import AuditEvent
from carecore.audit.services import audit_record_list


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


def test_an_empty_list_writes_nothing(clinician):
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
