"""Internal notes never leave as FHIR, to anyone; draft plans never reach the patient through a
read, a search or a bundle (the care team sees them, as `draft`)."""

from __future__ import annotations

import pytest

from .conftest import DRAFT_CANARY, FHIR, INTERNAL_CANARY, Record, entries, next_link

pytestmark = pytest.mark.django_db


def everything_bodies(client, record: Record) -> list[bytes]:
    bodies = []
    url: str | None = f"{FHIR}/Patient/{record.patient.id}/$everything?_count=3"
    while url:
        response = client.get(url)
        assert response.status_code == 200
        bodies.append(response.content)
        url = next_link(response.json())
    return bodies


def patient_reachable_bodies(client, record: Record) -> list[bytes]:
    bodies = everything_bodies(client, record)
    for type_name in ("CarePlan", "Goal", "Communication"):
        bodies.append(client.get(f"{FHIR}/{type_name}").content)
        bodies.append(
            client.get(f"{FHIR}/{type_name}", {"patient": str(record.patient.id)}).content
        )
    bodies.append(client.get(f"{FHIR}/CarePlan", {"status": "draft"}).content)
    return bodies


def test_the_patient_never_gets_an_internal_note_or_a_draft_plan(client_for, patient, record):
    client = client_for(patient.user)

    for body in patient_reachable_bodies(client, record):
        assert INTERNAL_CANARY.encode() not in body
        assert DRAFT_CANARY.encode() not in body
        assert record.internal_note.encode() not in body
        assert record.draft_plan.encode() not in body
        assert record.draft_goal.encode() not in body
    assert entries(client.get(f"{FHIR}/CarePlan", {"_id": record.draft_plan}).json()) == []
    assert entries(client.get(f"{FHIR}/Goal", {"_id": record.draft_goal}).json()) == []
    assert client.get(f"{FHIR}/CarePlan/{record.draft_plan}").status_code == 404
    assert client.get(f"{FHIR}/Goal/{record.draft_goal}").status_code == 404
    assert client.get(f"{FHIR}/Communication/{record.internal_note}").status_code == 404


def test_internal_notes_are_never_exported_even_to_the_care_team(client_for, clinician, record):
    client = client_for(clinician.user)

    for body in everything_bodies(client, record):
        assert INTERNAL_CANARY.encode() not in body
    assert client.get(f"{FHIR}/Communication/{record.internal_note}").status_code == 404
    communications = entries(client.get(f"{FHIR}/Communication").json())
    assert [c["id"] for c in communications] and record.internal_note not in [
        c["id"] for c in communications
    ]


def test_the_care_team_gets_the_draft_in_its_bundles(client_for, clinician, record):
    bodies = everything_bodies(client_for(clinician.user), record)

    assert any(DRAFT_CANARY.encode() in body for body in bodies)
