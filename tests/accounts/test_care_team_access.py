"""access_care_team: the care team by id to whoever may see the patient's demographics."""

from __future__ import annotations

import pytest

from carecore.accounts.access import access_care_team
from carecore.audit.models import AuditEvent
from carecore.common.errors import NotFound

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["patient", "clinician", "coordinator", "scheduler"])
def test_it_returns_the_team_to_those_who_see_the_patient(name, actors, patient):
    team = access_care_team(user=actors[name], care_team_id=patient.care_team.id)

    assert team.patient_id == patient.id
    event = AuditEvent.objects.latest("id")
    assert (event.object_type, event.patient_id, event.outcome) == (
        "care_team",
        patient.id,
        "success",
    )


@pytest.mark.parametrize("name", ["other_patient", "other_clinician", "admin"])
def test_someone_elses_patients_team_is_not_found_and_audited(name, actors, patient):
    with pytest.raises(NotFound):
        access_care_team(user=actors[name], care_team_id=patient.care_team.id)

    event = AuditEvent.objects.latest("id")
    assert (event.object_type, event.outcome, event.patient_id) == ("care_team", "denied", None)
