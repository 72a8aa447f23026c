"""Patient.meta.lastUpdated follows the patient's demographics, whoever changes them (a service,
the admin, plain SQL: database triggers keep `Patient.updated_at`), so a client syncing with
`_lastUpdated` or `$everything?_since` sees a new phone number or name.

The tests' clock is frozen in June 2026 for Python; the triggers stamp PostgreSQL's own `now()`,
which is later. The assertions only compare moments read back from the database."""

from __future__ import annotations

from datetime import datetime

import pytest

from carecore.accounts.models import Patient, User

from .conftest import FHIR, entries

pytestmark = pytest.mark.django_db


def last_updated(client, patient_id) -> datetime:
    response = client.get(f"{FHIR}/Patient/{patient_id}")
    assert response.status_code == 200, response.content
    return datetime.fromisoformat(response.json()["meta"]["lastUpdated"])


def found_since(client, moment: datetime) -> set[str]:
    response = client.get(f"{FHIR}/Patient", {"_lastUpdated": f"gt{moment.isoformat()}"})
    assert response.status_code == 200, response.content
    return {resource["id"] for resource in entries(response.json())}


@pytest.mark.parametrize(
    "change",
    [
        {"last_name": "Okafor-Reyes"},
        {"first_name": "Adaeze"},
        {"email": "new-address@example.test"},
        {"phone": "+12125550199"},
        {"is_active": False},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_demographic_change_on_the_user_moves_the_patients_last_updated(
    client_for, clinician, record, change
):
    client = client_for(clinician.user)
    before = last_updated(client, record.patient.id)
    assert str(record.patient.id) not in found_since(client, before)

    User.objects.filter(pk=record.patient.user_id).update(**change)

    after = last_updated(client, record.patient.id)
    assert after > before
    assert after == Patient.objects.get(pk=record.patient.id).updated_at
    assert str(record.patient.id) in found_since(client, before)


def test_a_new_state_or_birth_date_moves_it_too(client_for, clinician, record):
    client = client_for(clinician.user)
    before = last_updated(client, record.patient.id)

    Patient.objects.filter(pk=record.patient.id).update(state="NJ")

    assert last_updated(client, record.patient.id) > before


def test_what_fhir_does_not_show_leaves_it_alone(client_for, clinician, record):
    client = client_for(clinician.user)
    before = last_updated(client, record.patient.id)

    User.objects.filter(pk=record.patient.user_id).update(timezone="America/Chicago")
    User.objects.filter(pk=record.patient.user_id).update(last_name=record.patient.user.last_name)

    assert last_updated(client, record.patient.id) == before
