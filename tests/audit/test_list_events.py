"""The shape of a list event (docs/architecture.md, "The shape of a list event"): one event per
request, naming every row shown and whose each row is; the admin's search still finds them by row
id, and the trail's lookups by patient find the events of several patients too."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test import Client

from carecore.accounts import services
from carecore.accounts.break_glass import read_under_grant
from carecore.accounts.models import Role
from carecore.audit.models import AuditEvent
from carecore.audit.selectors import audit_event_list
from carecore.audit.services import AuditTarget, audit_record_list, audit_record_many
from tests.factories import ClinicianFactory, PatientFactory


def test_a_list_of_one_patients_rows_names_the_patient_and_its_rows_in_order(clinician, patient):
    rows = [(uuid.uuid4(), patient.id), (uuid.uuid4(), patient.id)]

    audit_record_list(actor=clinician.user, object_type="message", rows=rows)

    (event,) = AuditEvent.objects.filter(action="list")
    assert (event.patient_id, event.patient_ids, event.object_id) == (patient.id, [], "")
    assert event.detail == {"object_ids": [str(rows[0][0]), str(rows[1][0])]}


def test_a_list_of_several_patients_rows_is_one_event_naming_each_rows_patient(
    clinician, patient, other_patient, django_assert_num_queries
):
    rows = [
        (uuid.uuid4(), patient.id),
        (uuid.uuid4(), other_patient.id),
        (uuid.uuid4(), patient.id),
    ]

    with django_assert_num_queries(1):
        audit_record_list(actor=clinician.user, object_type="message_thread", rows=rows)

    (event,) = AuditEvent.objects.filter(action="list")
    assert event.patient_id is None
    # In step with object_ids: row i is patient_ids[i]'s.
    assert event.patient_ids == [patient.id, other_patient.id, patient.id]
    assert event.detail == {"object_ids": [str(object_id) for object_id, _ in rows]}
    assert (event.actor_id, event.actor_role, event.object_type, event.outcome) == (
        clinician.user.id,
        "clinician",
        "message_thread",
        "success",
    )


def test_the_events_about_a_patient_include_the_lists_that_showed_them_among_others(
    clinician, patient, other_patient
):
    third_patient = PatientFactory()
    audit_record_list(
        actor=clinician.user,
        object_type="message_thread",
        rows=[(uuid.uuid4(), patient.id), (uuid.uuid4(), other_patient.id)],
    )
    audit_record_list(
        actor=clinician.user, object_type="message", rows=[(uuid.uuid4(), patient.id)]
    )

    def kinds_about(someone):
        return sorted(event.object_type for event in audit_event_list(patient_id=someone.id))

    assert kinds_about(patient) == ["message", "message_thread"]
    assert kinds_about(other_patient) == ["message_thread"]
    assert kinds_about(third_patient) == []


def test_the_lookup_by_patient_uses_an_index_for_lists_of_several_patients(patient):
    # Whether both halves of the OR can be answered from an index: a tiny test table is cheaper
    # to scan whole, and whether its month had been analysed decided the plan.
    audit_record_list(actor=None, object_type="message", rows=[(uuid.uuid4(), patient.id)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditevent")  # the month analysed, as after a long run
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = audit_event_list(patient_id=patient.id).explain()

    # Each month's partition has its own copies of the two indexes, named after the partition.
    index_conditions = [line.strip() for line in plan.splitlines() if "Index Cond" in line]
    assert f"Index Cond: (patient_ids @> '{{{patient.id}}}'::uuid[])" in index_conditions
    assert f"Index Cond: (patient_id = '{patient.id}'::uuid)" in index_conditions
    assert "Seq Scan" not in plan


def test_an_empty_list_writes_nothing(clinician, django_assert_num_queries):
    with django_assert_num_queries(0):  # not even an INSERT of no rows
        audit_record_list(actor=clinician.user, object_type="message_thread", rows=[])

    assert not AuditEvent.objects.filter(action="list").exists()


@pytest.fixture
def admin_site(db):
    """A client signed in to the Django admin as an admin."""
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
    return client


def test_the_admin_search_finds_the_list_events_that_showed_a_row(clinician, patient, admin_site):
    shown, other = uuid.uuid4(), uuid.uuid4()
    audit_record_list(actor=clinician.user, object_type="message", rows=[(shown, patient.id)])
    audit_record_list(actor=clinician.user, object_type="message", rows=[(other, patient.id)])
    response = admin_site.get("/admin/audit/auditevent/", {"q": str(shown)})

    assert response.status_code == 200
    found = list(response.context["cl"].result_list)
    assert [event.detail["object_ids"] for event in found] == [[str(shown)]]


def test_the_admin_search_by_patient_finds_the_lists_that_showed_the_patient_among_others(
    clinician, patient, other_patient, admin_site
):
    audit_record_list(
        actor=clinician.user,
        object_type="message_thread",
        rows=[(uuid.uuid4(), patient.id), (uuid.uuid4(), other_patient.id)],
    )
    audit_record_list(
        actor=clinician.user, object_type="message", rows=[(uuid.uuid4(), other_patient.id)]
    )

    response = admin_site.get("/admin/audit/auditevent/", {"q": str(patient.id)})

    found = list(response.context["cl"].result_list)
    assert [event.object_type for event in found] == ["message_thread"]


def test_a_list_of_several_patients_marks_only_the_patients_read_under_a_grant(
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

    (event,) = AuditEvent.objects.filter(action="list")
    assert event.detail == {
        "page": 1,
        "object_ids": [str(under_grant), str(own)],
        "break_glass_grants": {str(patient.id): str(grant.id)},
    }
    assert read_under_grant(detail=event.detail, patient_id=patient.id)
    assert not read_under_grant(detail=event.detail, patient_id=other_patient.id)


def test_a_list_of_one_patient_read_under_a_grant_is_marked_as_one_read_is(
    other_clinician, patient
):
    grant = services.break_glass_open(
        user=other_clinician.user, patient_id=patient.id, reason="On call, team unreachable."
    )
    shown = uuid.uuid4()

    audit_record_list(actor=other_clinician.user, object_type="message", rows=[(shown, patient.id)])

    (event,) = AuditEvent.objects.filter(action="list")
    assert event.detail == {
        "object_ids": [str(shown)],
        "break_glass": True,
        "grant_id": str(grant.id),
    }


def test_a_grant_held_by_somebody_else_marks_nobody_elses_list(
    other_clinician, patient, other_patient
):
    services.break_glass_open(
        user=ClinicianFactory().user, patient_id=patient.id, reason="On call, team unreachable."
    )

    audit_record_list(
        actor=other_clinician.user,
        object_type="message_thread",
        rows=[(uuid.uuid4(), patient.id), (uuid.uuid4(), other_patient.id)],
    )

    (event,) = AuditEvent.objects.filter(action="list")
    assert "break_glass_grants" not in event.detail


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
