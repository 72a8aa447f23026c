"""The access matrix on every read, search and bundle: exactly the REST API's rules.

patient          their own record: 200
other_patient    404 on reads and $everything, empty searches
clinician        on the patient's care team: 200, drafts included
coordinator      on the care team: 200
other_clinician  another team: 404 / empty
scheduler        demographics and appointments only: clinical types 403 (as REST)
admin            no break-glass grant: 404 / empty
anonymous        401
Errors are OperationOutcomes; writes are 405 whoever sends them.
"""

from __future__ import annotations

import pytest

from .conftest import FHIR, Record, entries

pytestmark = pytest.mark.django_db

DEMOGRAPHIC = {"Patient", "CareTeam", "Appointment"}
CLINICAL = {"QuestionnaireResponse", "Observation", "CarePlan", "Goal", "Communication"}
SEES_EVERYTHING = {"patient", "clinician", "coordinator"}
SEES_NOTHING = {"other_patient", "other_clinician", "admin"}
ACTORS = sorted(SEES_EVERYTHING | SEES_NOTHING | {"scheduler"})


def record_paths(record: Record) -> dict[str, str]:
    return {
        "Patient": f"Patient/{record.patient.id}",
        "CareTeam": f"CareTeam/{record.care_team}",
        "Appointment": f"Appointment/{record.appointment}",
        "QuestionnaireResponse": f"QuestionnaireResponse/{record.poem_response}",
        "Observation": f"Observation/{record.observation(record.poem_response, 'poem')}",
        "CarePlan": f"CarePlan/{record.active_plan}",
        "Goal": f"Goal/{record.active_goal}",
        "Communication": f"Communication/{record.opening}",
    }


def expected_read_status(actor: str, type_name: str) -> int:
    if actor in SEES_EVERYTHING:
        return 200
    if actor == "scheduler":
        return 200 if type_name in DEMOGRAPHIC else 403
    return 404


def assert_outcome(response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.content)
    assert response["Content-Type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] == "error"


@pytest.mark.parametrize("actor", ACTORS)
def test_every_read_follows_the_access_matrix(actor, actors, client_for, record):
    client = client_for(actors[actor])

    for type_name, path in record_paths(record).items():
        response = client.get(f"{FHIR}/{path}")
        status = expected_read_status(actor, type_name)
        if status == 200:
            assert response.status_code == 200, (actor, path, response.content)
            assert response.json()["resourceType"] == type_name
        else:
            assert_outcome(response, status)


@pytest.mark.parametrize("actor", ACTORS)
def test_every_search_follows_the_access_matrix(actor, actors, client_for, record):
    client = client_for(actors[actor])

    for type_name in DEMOGRAPHIC | CLINICAL:
        by_patient = "_id" if type_name == "Patient" else "patient"
        response = client.get(f"{FHIR}/{type_name}", {by_patient: str(record.patient.id)})
        status = expected_read_status(actor, type_name)
        if status == 403:
            assert_outcome(response, 403)
            continue
        assert response.status_code == 200, (actor, type_name, response.content)
        found = entries(response.json())
        if status == 200:
            assert found, (actor, type_name)
            assert {resource["resourceType"] for resource in found} == {type_name}
        else:
            assert found == [], (actor, type_name)


@pytest.mark.parametrize(
    ("actor", "types"),
    [
        ("patient", DEMOGRAPHIC | CLINICAL),
        ("clinician", DEMOGRAPHIC | CLINICAL),
        ("coordinator", DEMOGRAPHIC | CLINICAL),
        ("scheduler", DEMOGRAPHIC),
    ],
)
def test_everything_holds_what_the_caller_may_see(actor, types, actors, client_for, record):
    response = client_for(actors[actor]).get(
        f"{FHIR}/Patient/{record.patient.id}/$everything", {"_count": 200}
    )

    assert response.status_code == 200
    assert {resource["resourceType"] for resource in entries(response.json())} == types


@pytest.mark.parametrize("actor", sorted(SEES_NOTHING))
def test_everything_of_someone_elses_patient_is_404(actor, actors, client_for, record):
    response = client_for(actors[actor]).get(f"{FHIR}/Patient/{record.patient.id}/$everything")

    assert_outcome(response, 404)


def test_anonymous_callers_get_401_on_reads_searches_and_bundles(anon, record):
    paths = [*record_paths(record).values(), "Patient", "Communication"]
    paths.append(f"Patient/{record.patient.id}/$everything")

    for path in paths:
        response = anon.get(f"{FHIR}/{path}")
        assert_outcome(response, 401)
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_is_401(client_for, patient, record):
    client = client_for(patient.user)
    client.post("/api/v1/auth/logout/")

    assert_outcome(client.get(f"{FHIR}/Patient/{patient.id}"), 401)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writes_are_405_for_everyone(method, anon, client_for, clinician, record):
    for client in (anon, client_for(clinician.user)):
        for path in (f"Patient/{record.patient.id}", "Patient", "Communication"):
            response = getattr(client, method)(f"{FHIR}/{path}", {}, format="json")
            assert_outcome(response, 405)


def test_unknown_types_and_paths_are_operation_outcomes(client_for, patient):
    client = client_for(patient.user)

    assert_outcome(client.get(f"{FHIR}/Medication/abc"), 404)
    assert_outcome(client.get(f"{FHIR}/Medication"), 404)
    assert_outcome(client.get("/fhir/R4/Patient/a/b/c"), 404)
    assert_outcome(client.get(f"{FHIR}/Patient/not-a-uuid"), 404)


def test_practitioners_and_questionnaires_are_public_to_signed_in_users(
    client_for, scheduler, clinician, record
):
    client = client_for(scheduler)

    assert client.get(f"{FHIR}/Practitioner/{clinician.id}").status_code == 200
    assert client.get(f"{FHIR}/Questionnaire/poem").status_code == 200
    assert_outcome(client.get(f"{FHIR}/Questionnaire/no-such-thing"), 404)


def test_break_glass_lets_an_admin_read_like_the_rest_api(client_for, admin_user, record):
    client = client_for(admin_user)
    opened = client.post(
        f"/api/v1/patients/{record.patient.id}/break-glass/",
        {"reason": "Patient called about a severe reaction; team unreachable."},
        format="json",
    )
    assert opened.status_code == 201

    assert client.get(f"{FHIR}/Patient/{record.patient.id}").status_code == 200
    assert client.get(f"{FHIR}/Communication/{record.opening}").status_code == 200
