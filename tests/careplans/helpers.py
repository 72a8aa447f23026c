"""Care-plan test helpers shared by the API, page and browser tests."""

from __future__ import annotations

from django.core.management import call_command

from carecore.accounts.models import Clinician, Patient
from careplans import services as careplans
from careplans.models import CarePlan
from intake import services as intake
from tests.intake.helpers import healthy_intake, poem


def plan_published_after_intake(patient: Patient, clinician: Clinician) -> CarePlan:
    """The questionnaires synced, a POEM of 14 and a healthy gut-skin intake completed, and the
    clinician's first plan drafted from them (a POEM goal) and published."""
    call_command("sync_questionnaires", verbosity=0)
    intake.response_create(
        user=patient.user, slug="poem", answers=poem(2, 2, 2, 2, 2, 2, 2), status="completed"
    )
    intake.response_create(
        user=patient.user, slug="gut-skin-intake", answers=healthy_intake(), status="completed"
    )
    draft = careplans.care_plan_draft(user=clinician.user, patient_id=patient.id)
    return careplans.care_plan_publish(user=clinician.user, plan_id=draft.id)
