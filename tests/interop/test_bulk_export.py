"""Bulk export (FHIR Bulk Data `Patient/$export`): admin only, asynchronous, NDJSON files behind
the same bearer token, every line a valid R4 resource, internal notes never exported."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from carecore.accounts.models import Patient, Role, User
from carecore.audit.models import AuditEvent
from interop.export import export_run

from ..worker import purge_broker, running_worker, wait_until
from .conftest import FHIR, INTERNAL_CANARY, assert_valid_r4

EXPORT = f"{FHIR}/Patient/$export"
ASYNC = {"HTTP_PREFER": "respond-async", "HTTP_ACCEPT": "application/fhir+json"}


def kick_off(client, **params: str):
    return client.get(EXPORT, params, **ASYNC)


def status_path(response) -> str:
    location = response["Content-Location"]
    assert location.startswith("http://testserver/fhir/R4/$export-status/")
    return location.removeprefix("http://testserver")


def download_and_validate(client, manifest: dict) -> dict[str, list[dict]]:
    """Every output file, fetched with the bearer token, parsed line by line as R4."""
    by_type: dict[str, list[dict]] = {}
    for output in manifest["output"]:
        response = client.get(output["url"].removeprefix("http://testserver"))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/fhir+ndjson"
        lines = b"".join(response.streaming_content).decode().splitlines()
        resources = [json.loads(line) for line in lines]
        for resource in resources:
            assert_valid_r4(resource)
            assert resource["resourceType"] == output["type"]
        assert len(resources) == output["count"]
        by_type[output["type"]] = resources
    return by_type


@pytest.mark.django_db
def test_only_admins_may_start_an_export(actors, client_for, anon):
    for name, user in actors.items():
        response = kick_off(client_for(user))
        expected = 202 if user.role == Role.ADMIN else 403
        assert response.status_code == expected, name
    assert kick_off(anon).status_code == 401


@pytest.mark.django_db
def test_the_kick_off_follows_the_bulk_data_contract(client_for, admin_user):
    client = client_for(admin_user)

    assert client.get(EXPORT).status_code == 400  # no Prefer: respond-async
    assert kick_off(client, _outputFormat="text/csv").status_code == 400
    assert kick_off(client, _typeFilter="Patient?active=true").status_code == 400
    assert kick_off(client, _type="Medication").status_code == 400
    accepted = kick_off(client, _outputFormat="application/fhir+ndjson", _type="Patient")
    assert accepted.status_code == 202
    assert client.get(status_path(accepted)).status_code == 202  # not run yet


@pytest.mark.django_db
def test_an_export_writes_every_record_as_valid_ndjson_without_internal_notes(
    client_for, admin_user, record
):
    client = client_for(admin_user)
    path = status_path(kick_off(client))
    job_id = path.rsplit("/", 1)[1]

    export_run(job_id=job_id)

    response = client.get(path)
    assert response.status_code == 200
    manifest = response.json()
    assert manifest["requiresAccessToken"] is True
    assert manifest["transactionTime"]
    by_type = download_and_validate(client, manifest)
    assert {r["id"] for r in by_type["Communication"]} == {
        record.opening,
        record.reply,
        record.follow_up,
    }
    assert {r["id"] for r in by_type["CarePlan"]} == {
        record.old_plan,
        record.active_plan,
        record.draft_plan,
    }
    assert {"Patient", "Practitioner", "Questionnaire", "Observation", "Goal"} <= set(by_type)
    everything = json.dumps(by_type)
    assert INTERNAL_CANARY not in everything
    exported = AuditEvent.objects.filter(action="export", object_type="patient")
    assert set(exported.values_list("patient_id", flat=True)) == set(
        Patient.objects.values_list("id", flat=True)
    )


@pytest.mark.django_db
def test_since_and_type_narrow_an_export(client_for, admin_user, record):
    client = client_for(admin_user)
    since = record.messages_at.isoformat().replace("+00:00", "Z")
    path = status_path(kick_off(client, _type="Communication,CarePlan", _since=since))

    export_run(job_id=path.rsplit("/", 1)[1])

    by_type = download_and_validate(client, client.get(path).json())
    assert set(by_type) == {"Communication"}
    assert len(by_type["Communication"]) == 3


@pytest.mark.django_db
def test_an_export_is_its_requesters_alone_and_can_be_cancelled(client_for, admin_user, record):
    client = client_for(admin_user)
    path = status_path(kick_off(client))
    export_run(job_id=path.rsplit("/", 1)[1])
    manifest = client.get(path).json()
    another_admin = User.objects.create_user(
        "admin2@example.test", "pw", role=Role.ADMIN, first_name="A", last_name="B"
    )
    other = client_for(another_admin)

    assert other.get(path).status_code == 404
    assert other.get(manifest["output"][0]["url"]).status_code == 404
    # Each refused lookup of someone else's job leaves a denied event, like any other 404.
    denied = AuditEvent.objects.filter(
        actor_id=another_admin.id, outcome="denied", object_type__startswith="fhir_export"
    )
    assert denied.count() == 2
    assert client.delete(path).status_code == 202
    assert client.get(path).status_code == 404
    assert client.get(manifest["output"][0]["url"]).status_code == 404


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("staff_groups")  # seed_demo puts its staff in them
def test_a_worker_exports_the_demo_clinic_and_every_line_validates(client_for):
    call_command("seed_demo", force=True)
    admin = User.objects.get(email="admin@demo.carecore.test")
    client = client_for(admin)
    purge_broker()

    with running_worker(log_name="fhir-export"):
        path = status_path(kick_off(client))
        assert wait_until(lambda: client.get(path).status_code == 200, timeout=120)

    by_type = download_and_validate(client, client.get(path).json())
    assert len(by_type["Patient"]) == Patient.objects.count()
    assert by_type["QuestionnaireResponse"] and by_type["Observation"]
    assert by_type["Practitioner"] and by_type["Questionnaire"]


@pytest.mark.django_db
def test_finished_exports_are_deleted_after_the_retention_period(client_for, admin_user, clock):
    from datetime import timedelta

    from interop.export import export_root, exports_expire

    client = client_for(admin_user)
    path = status_path(kick_off(client, _type="Patient"))
    job_id = path.rsplit("/", 1)[1]
    export_run(job_id=job_id)
    assert (export_root() / job_id).exists()

    clock.shift(timedelta(hours=23))
    assert exports_expire() == 0
    clock.shift(timedelta(hours=2))
    assert exports_expire() == 1
    assert exports_expire() == 0

    assert not (export_root() / job_id).exists()
    assert client_for(admin_user).get(path).status_code == 404  # a fresh token: a day went by
