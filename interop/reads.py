"""One resource by id, through the owning app's access helper (audited there, 404 if not
visible), exactly as the REST endpoint for the same row."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from carecore.accounts.access import Purpose, access_care_team, access_patient
from carecore.accounts.models import User
from carecore.accounts.selectors import clinician_list, patient_with_care_team
from carecore.common.errors import NotFound
from careplans.access import access_care_plan, access_care_plan_goal
from careplans.selectors import care_plan_with_items
from intake.access import access_response
from intake.selectors import questionnaire_current
from messaging.access import access_public_message
from messaging.selectors import public_thread_places
from portal.access import access_appointment, can_see_reason

from . import record, resources
from .resources import Resource


def uuid_or_404(value: str) -> str:
    """Ids that cannot be UUIDs are missing rows; the helpers would fail on them."""
    try:
        return str(UUID(value))
    except ValueError as exc:
        raise NotFound() from exc


def _patient(user: User, resource_id: str) -> Resource:
    patient = access_patient(
        user=user, patient_id=uuid_or_404(resource_id), purpose=Purpose.DEMOGRAPHICS
    )
    return resources.patient_resource(patient_with_care_team(patient=patient))


def _practitioner(user: User, resource_id: str) -> Resource:
    # Public clinician profiles (the REST /clinicians/ list): not patient data, not audited.
    clinician = clinician_list().filter(pk=uuid_or_404(resource_id)).first()
    if clinician is None:
        raise NotFound()
    return resources.practitioner_resource(clinician)


def _care_team(user: User, resource_id: str) -> Resource:
    care_team = access_care_team(user=user, care_team_id=uuid_or_404(resource_id))
    patient = patient_with_care_team(patient=care_team.patient)
    return resources.care_team_resource(patient.care_team)


def _appointment(user: User, resource_id: str) -> Resource:
    appointment = access_appointment(user=user, appointment_id=uuid_or_404(resource_id))
    return resources.appointment_resource(appointment, with_reason=can_see_reason(user))


def _questionnaire(user: User, resource_id: str) -> Resource:
    version = questionnaire_current(slug=resource_id)
    if version is None:
        raise NotFound()
    return resources.questionnaire_resource(version)


def _questionnaire_response(user: User, resource_id: str) -> Resource:
    response = access_response(user=user, response_id=uuid_or_404(resource_id))
    return resources.questionnaire_response_resource(response)


def _observation(user: User, resource_id: str) -> Resource:
    parts = resources.split_observation_id(resource_id)
    if parts is None:
        raise NotFound()
    response_id, instrument = parts
    response = access_response(user=user, response_id=response_id)
    if instrument not in resources.scored_instruments(response):
        raise NotFound()
    return resources.observation_resource(response, instrument)


def _care_plan(user: User, resource_id: str) -> Resource:
    plan = access_care_plan(user=user, plan_id=uuid_or_404(resource_id))
    return resources.care_plan_resource(care_plan_with_items(plan_id=plan.id))


def _goal(user: User, resource_id: str) -> Resource:
    return resources.goal_resource(
        access_care_plan_goal(user=user, goal_id=uuid_or_404(resource_id))
    )


def _communication(user: User, resource_id: str) -> Resource:
    message = access_public_message(user=user, message_id=uuid_or_404(resource_id))
    places = public_thread_places([message])
    return record.communication_of(message, places[message.id])


READERS: dict[str, Callable[[User, str], Resource]] = {
    "Patient": _patient,
    "Practitioner": _practitioner,
    "CareTeam": _care_team,
    "Appointment": _appointment,
    "Questionnaire": _questionnaire,
    "QuestionnaireResponse": _questionnaire_response,
    "Observation": _observation,
    "CarePlan": _care_plan,
    "Goal": _goal,
    "Communication": _communication,
}


def read(*, user: User, type_name: str, resource_id: str) -> Resource:
    return READERS[type_name](user, resource_id)
