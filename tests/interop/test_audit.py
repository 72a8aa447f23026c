"""Every FHIR read of patient data leaves the same audit event as the REST API would."""

from __future__ import annotations

import pytest

from carecore.audit.models import AuditEvent

from .conftest import FHIR

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "object_type", "object_attr"),
    [
        ("Patient/{record.patient.id}", "patient", "patient.id"),
        ("CareTeam/{record.care_team}", "care_team", "care_team"),
        ("Appointment/{record.appointment}", "appointment", "appointment"),
        ("QuestionnaireResponse/{record.poem_response}", "questionnaire_response", "poem_response"),
        ("CarePlan/{record.active_plan}", "care_plan", "active_plan"),
        ("Goal/{record.active_goal}", "care_plan_goal", "active_goal"),
        ("Communication/{record.opening}", "message", "opening"),
    ],
)
def test_each_read_is_one_audit_event(client_for, patient, record, path, object_type, object_attr):
    before = AuditEvent.objects.count()

    response = client_for(patient.user).get(f"{FHIR}/{path.format(record=record)}")

    assert response.status_code == 200
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert len(events) == 1, [(e.object_type, e.action) for e in events]
    (event,) = events
    object_id = record
    for part in object_attr.split("."):
        object_id = getattr(object_id, part)
    assert (event.object_type, event.object_id) == (object_type, str(object_id))
    assert (event.actor_id, event.patient_id) == (patient.user.id, patient.id)
    assert (event.action, event.outcome) == ("read", "success")


def test_an_observation_read_is_audited_as_its_response(client_for, patient, record):
    before = AuditEvent.objects.count()

    client_for(patient.user).get(
        f"{FHIR}/Observation/{record.observation(record.poem_response, 'poem')}"
    )

    (event,) = AuditEvent.objects.order_by("id")[before:]
    assert (event.object_type, event.object_id) == ("questionnaire_response", record.poem_response)


def test_a_denied_read_is_audited_as_denied(client_for, other_patient, record):
    before = AuditEvent.objects.count()

    response = client_for(other_patient.user).get(f"{FHIR}/CarePlan/{record.active_plan}")

    assert response.status_code == 404
    (event,) = AuditEvent.objects.order_by("id")[before:]
    assert (event.outcome, event.object_id, event.patient_id) == (
        "denied",
        record.active_plan,
        None,
    )


def test_searches_and_bundles_audit_one_event_per_resource_shown(client_for, patient, record):
    client = client_for(patient.user)
    before = AuditEvent.objects.count()

    bundle = client.get(f"{FHIR}/Patient/{record.patient.id}/$everything", {"_count": 200}).json()

    events = AuditEvent.objects.order_by("id")[before:]
    listed = {(e.object_type, e.object_id) for e in events if e.action == "list"}
    shown = {entry["resource"]["id"] for entry in bundle["entry"]}
    assert {object_id for _, object_id in listed} == shown
    assert all(e.patient_id == patient.id for e in events)
    # And the patient check itself, as on every page.
    assert [(e.object_type, e.action) for e in events if e.action == "read"] == [
        ("patient", "read")
    ]
