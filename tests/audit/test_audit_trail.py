"""The audit trail is append-only in PostgreSQL itself, and readable only by admins."""

from __future__ import annotations

import uuid

import pytest
from django.db import DatabaseError, transaction
from django.test import override_settings

from carecore.audit.models import AuditEvent
from carecore.audit.services import audit_record, audit_record_list

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/audit-events/"


@pytest.fixture
def event(patient):
    return audit_record(
        actor=patient.user, object_type="patient", object_id=patient.id, patient_id=patient.id
    )


def test_the_database_refuses_to_update_an_audit_event(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="delete")


def test_the_database_refuses_to_delete_an_audit_event(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()


def test_the_database_refuses_raw_sql_deletes_too(event):
    from django.db import connection

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")


@override_settings(CARECORE_TRUSTED_PROXIES=["198.51.100.7"])
def test_an_event_records_actor_patient_object_action_outcome_ip_and_request(
    client_for, clinician, patient
):
    client_for(clinician.user).get(
        f"/api/v1/patients/{patient.id}/",
        REMOTE_ADDR="198.51.100.7",
        HTTP_X_REQUEST_ID="req-12345678",
    )

    event = AuditEvent.objects.get(object_type="patient", action="read")
    assert event.actor_id == clinician.user_id
    assert event.actor_role == "clinician"
    assert event.patient_id == patient.id
    assert event.object_id == str(patient.id)
    assert event.outcome == "success"
    assert event.ip == "198.51.100.7"
    assert event.request_id == "req-12345678"
    assert event.occurred_at is not None


@pytest.mark.parametrize("actor", ["patient", "clinician", "coordinator", "scheduler"])
def test_only_admins_read_the_audit_trail(actors, client_for, actor):
    response = client_for(actors[actor]).get(EVENTS)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_admins_filter_the_trail_by_patient_and_actor(
    client_for, admin_user, clinician, patient, other_patient
):
    client_for(clinician.user).get(f"/api/v1/patients/{patient.id}/")
    client_for(other_patient.user).get(f"/api/v1/patients/{other_patient.id}/")
    admin = client_for(admin_user)

    by_patient = admin.get(EVENTS, {"patient": str(patient.id)}).json()["results"]
    by_actor = admin.get(EVENTS, {"actor": str(other_patient.user_id)}).json()["results"]

    assert {row["patient_id"] for row in by_patient} == {str(patient.id)}
    assert {row["actor_id"] for row in by_actor} == {str(other_patient.user_id)}


def test_the_patient_filter_finds_the_lists_that_showed_the_patient_among_others(
    client_for, admin_user, clinician, patient, other_patient
):
    shown = [(uuid.uuid4(), patient.id), (uuid.uuid4(), other_patient.id)]
    audit_record_list(actor=clinician.user, object_type="message_thread", rows=shown)
    admin = client_for(admin_user)

    by_patient = admin.get(EVENTS, {"patient": str(patient.id), "action": "list"}).json()

    # (The admin's own read of the trail is a list event about the patient too.)
    (row,) = [row for row in by_patient["results"] if row["object_type"] == "message_thread"]
    assert row["patient_id"] is None
    assert row["patient_ids"] == [str(patient.id), str(other_patient.id)]
    assert row["detail"]["object_ids"] == [str(object_id) for object_id, _ in shown]


def test_admins_filter_the_trail_by_time(client_for, admin_user, event):
    admin = client_for(admin_user)

    later = admin.get(EVENTS, {"since": "2999-01-01T00:00:00Z"}).json()["results"]
    earlier = admin.get(EVENTS, {"until": "2999-01-01T00:00:00Z", "action": "read"}).json()[
        "results"
    ]

    assert later == []
    assert [row["id"] for row in earlier] == [event.id]


def test_bad_filters_are_a_validation_error(client_for, admin_user):
    response = client_for(admin_user).get(EVENTS, {"patient": "not-a-uuid"})

    assert response.status_code == 400
    assert "patient" in response.json()["error"]["fields"]


def test_reading_the_trail_is_itself_audited(client_for, admin_user, patient):
    client_for(admin_user).get(EVENTS, {"patient": str(patient.id)})

    assert AuditEvent.objects.filter(
        object_type="audit_event", actor_id=admin_user.id, patient_id=patient.id
    ).exists()


def test_the_audit_list_query_count_does_not_grow(
    client_for, admin_user, patient, django_assert_num_queries
):
    for _ in range(3):
        audit_record(actor=patient.user, object_type="patient", patient_id=patient.id)
    admin = client_for(admin_user)
    # the token with its user, the audit INSERT for this read, the page
    with django_assert_num_queries(3):
        admin.get(EVENTS)
    for _ in range(20):
        audit_record(actor=patient.user, object_type="patient", patient_id=patient.id)
    with django_assert_num_queries(3):
        admin.get(EVENTS)


def test_a_client_cannot_choose_its_audit_request_id(client_for, clinician, patient):
    client_for(clinician.user).get(
        f"/api/v1/patients/{patient.id}/", HTTP_X_REQUEST_ID="chosen-by-client"
    )

    event = AuditEvent.objects.get(object_type="patient", action="read")
    assert event.request_id != "chosen-by-client"
    assert len(event.request_id) == 32
