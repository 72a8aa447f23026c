"""Searchset Bundles: stable order, opaque `next` links, every page valid; $everything paging and
`_since`; the search parameters a client tries first."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from .conftest import FHIR, assert_valid_r4, entries, next_link

pytestmark = pytest.mark.django_db


def follow(client, url: str) -> tuple[list[dict], int]:
    """Every resource over every page (each page validated), and the number of pages."""
    found, pages = [], 0
    next_url: str | None = url
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200, response.content
        bundle = response.json()
        assert_valid_r4(bundle)
        assert bundle["type"] == "searchset"
        found.extend(entries(bundle))
        pages += 1
        next_url = next_link(bundle)
    return found, pages


def keys(resources: list[dict]) -> list[str]:
    return [f"{resource['resourceType']}/{resource['id']}" for resource in resources]


def test_following_next_through_everything_returns_each_resource_exactly_once(
    client_for, clinician, record
):
    client = client_for(clinician.user)
    everything = f"{FHIR}/Patient/{record.patient.id}/$everything"

    paged, pages = follow(client, f"{everything}?_count=2")
    whole, _ = follow(client, f"{everything}?_count=200")

    assert pages == (len(whole) + 1) // 2
    counts = Counter(keys(paged))
    assert all(count == 1 for count in counts.values()), counts
    assert keys(paged) == keys(whole)
    assert keys(paged)[0] == f"Patient/{record.patient.id}"
    assert set(counts) >= {
        f"CarePlan/{record.draft_plan}",
        f"Communication/{record.follow_up}",
        f"Appointment/{record.appointment}",
        f"Observation/{record.observation(record.poem_response, 'poem')}",
    }


def test_next_links_are_opaque(client_for, clinician, record):
    bundle = (
        client_for(clinician.user)
        .get(f"{FHIR}/Patient/{record.patient.id}/$everything", {"_count": 2})
        .json()
    )

    url = next_link(bundle)
    assert url is not None
    query = url.split("?", 1)[1]
    assert query.startswith("_page=") and "&" not in query
    assert str(record.patient.id) not in query.split("=", 1)[1]


def test_a_tampered_page_token_is_a_400_outcome(client_for, clinician, record):
    client = client_for(clinician.user)
    url = next_link(client.get(f"{FHIR}/Communication", {"_count": 1}).json())
    assert url is not None

    response = client.get(url[:-3] + "xyz")

    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_since_keeps_only_what_changed(client_for, clinician, record):
    client = client_for(clinician.user)
    everything = f"{FHIR}/Patient/{record.patient.id}/$everything"
    since = (record.messages_at - timedelta(minutes=1)).isoformat()

    found, _ = follow(client, f"{everything}?_since={since.replace('+', '%2B')}")

    types = Counter(resource["resourceType"] for resource in found)
    assert types["Patient"] == 1  # the anchor is always there
    assert types["Communication"] == 3  # the internal note is never exported
    assert types["Appointment"] == 1
    assert "QuestionnaireResponse" not in types and "CarePlan" not in types


def test_type_narrows_everything(client_for, patient, record):
    found, _ = follow(
        client_for(patient.user),
        f"{FHIR}/Patient/{record.patient.id}/$everything?_type=Observation,Goal",
    )

    assert {resource["resourceType"] for resource in found} == {"Observation", "Goal"}


def test_a_search_pages_in_a_stable_order(client_for, patient, record):
    client = client_for(patient.user)

    paged, pages = follow(client, f"{FHIR}/Communication?_count=1")

    assert pages == 3
    assert sorted(keys(paged)) == keys(paged)


def test_search_by_id_status_and_last_updated(client_for, clinician, record):
    client = client_for(clinician.user)

    def ids(type_name: str, **params: str) -> set[str]:
        response = client.get(f"{FHIR}/{type_name}", params)
        assert response.status_code == 200, response.content
        return {resource["id"] for resource in entries(response.json())}

    assert ids("CarePlan", status="revoked") == {record.old_plan}
    assert ids("CarePlan", status="draft,active") == {record.draft_plan, record.active_plan}
    assert ids("Goal", **{"lifecycle-status": "proposed"}) == {record.draft_goal}
    assert ids("CarePlan", _id=record.active_plan) == {record.active_plan}
    assert ids("QuestionnaireResponse", subject=f"Patient/{record.patient.id}") == {
        record.poem_response,
        record.pss_response,
        record.isi_response,
        record.intake_response,
    }
    day = record.messages_at.date().isoformat()
    assert len(ids("Communication", _lastUpdated=day)) == 3
    assert ids("Communication", _lastUpdated=f"lt{record.messages_at.isoformat()}") == set()
    assert ids("Appointment", date=f"gt{day}") == {record.appointment}
    assert ids("Appointment", date=f"le{day}") == set()
    assert ids("Appointment", status="booked") == {record.appointment}


def test_observation_search_by_category_and_code(client_for, patient, record):
    client = client_for(patient.user)

    def ids(**params: str) -> set[str]:
        return {r["id"] for r in entries(client.get(f"{FHIR}/Observation", params).json())}

    poem = record.observation(record.poem_response, "poem")
    assert ids(code="http://loinc.org|89870-0") == {poem}
    assert ids(code="89870-0") == {poem}
    assert ids(code="https://carecore.example/fhir/CodeSystem/instrument-score|poem") == {poem}
    assert ids(category="survey", code="isi") == {record.observation(record.isi_response, "isi")}
    assert ids(category="laboratory") == set()
    assert ids(_id=poem) == {poem}
    assert len(ids()) == 3


def test_unsupported_parameters_are_refused_not_ignored(client_for, patient, record):
    client = client_for(patient.user)

    for path, params in [
        ("Communication", {"recipient": "x"}),
        ("Patient", {"name": "x"}),
        ("Appointment", {"date": "yesterday"}),
        ("Appointment", {"_count": "lots"}),
        (f"Patient/{record.patient.id}/$everything", {"start": "2026-01-01"}),
    ]:
        response = client.get(f"{FHIR}/{path}", params)
        assert response.status_code == 400, (path, params)
        assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("count", ["٣", "+5", " 5", "5_0", "²", "-1", "0"])
def test_a_count_not_written_with_ascii_digits_from_1_is_refused(client_for, patient, count):
    response = client_for(patient.user).get(f"{FHIR}/Appointment", {"_count": count})

    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_a_huge_count_is_capped(client_for, patient):
    response = client_for(patient.user).get(f"{FHIR}/Appointment", {"_count": "9" * 5000})

    assert response.status_code == 200


def test_an_everything_page_costs_the_same_queries_whatever_the_record_size(
    client_for, patient, clinician, record
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from messaging import services as messaging

    client = client_for(patient.user)
    url = f"{FHIR}/Patient/{record.patient.id}/$everything?_count=200"

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    before = queries()
    for n in range(10):
        messaging.message_send(actor=clinician.user, thread_id=record.thread, body=f"More {n}")
    after = queries()

    # the token with its user and their patient row (1); access_patient (the patient) + its audit
    # row; per type: Patient and CareTeam (row + members each), Appointment,
    # QuestionnaireResponse, Observation, CarePlan (+ goals, activities), Goal, Communication
    # (+ attachments, thread places); the list audit INSERT.
    assert before == after == 18
