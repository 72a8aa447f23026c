"""A patient record with one of everything FHIR exports, plus the canaries that must never
reach the patient: an internal note and a draft plan.

The clock stands still at Wednesday 2026-06-10 10:00 in New York (care-team hours, so sends
are not answered by the after-hours reply) and moves an hour between the parts of the record,
so `_since` and `_lastUpdated` have something to cut.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from fhir.resources.R4B import get_fhir_model_class
from rest_framework.test import APIClient

from carecore.accounts.models import Clinician, Patient, User
from careplans import services as careplans
from messaging import services as messaging
from tests.intake.helpers import healthy_intake, poem, submit
from tests.portal.conftest import NEW_YORK, at, book_directly, give_availability

NOW = datetime(2026, 6, 10, 14, 0, tzinfo=UTC)
TOMORROW = NOW.astimezone(NEW_YORK).date() + timedelta(days=1)
FHIR = "/fhir/R4"
INTERNAL_CANARY = "INTERNAL-NOTE-CANARY"
DRAFT_CANARY = "DRAFT-PLAN-CANARY"


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def pss10(*values: int) -> dict[str, int]:
    return {f"pss-10-{n}": v for n, v in enumerate(values, start=1)}


@dataclass
class Record:
    patient: Patient
    poem_response: str
    pss_response: str
    isi_response: str
    intake_response: str
    old_plan: str
    active_plan: str
    draft_plan: str
    active_goal: str
    draft_goal: str
    thread: str
    opening: str
    reply: str
    internal_note: str
    follow_up: str
    appointment: str
    care_team: str
    started_at: datetime
    messages_at: datetime

    def observation(self, response_id: str, instrument: str) -> str:
        return f"{response_id}-{instrument}"


def _first_goal_id(plan: Any) -> str:
    goal = plan.goals.first()
    assert goal is not None
    return str(goal.id)


def _completed(client: APIClient, slug: str, answers: dict[str, Any]) -> str:
    response = submit(client, slug, answers)
    assert response.status_code == 201, response.json()
    return response.json()["id"]


@pytest.fixture
def record(
    patient: Patient,
    clinician: Clinician,
    coordinator: User,
    client_for: Callable[[User], APIClient],
    clock: time_machine.Traveller,
) -> Record:
    call_command("sync_questionnaires", verbosity=0)
    started_at = NOW
    patient_client = client_for(patient.user)
    poem_id = _completed(patient_client, "poem", poem(2, 2, 2, 2, 2, 2, 2))
    pss_id = _completed(patient_client, "pss-10", pss10(1, 2, 3, 1, 1, 2, 1, 1, 2, 3))
    isi_id = _completed(patient_client, "isi", {f"isi-{n}": 2 for n in range(1, 8)})
    intake_id = _completed(patient_client, "gut-skin-intake", healthy_intake())

    clock.shift(timedelta(hours=1))
    lead = clinician.user
    old = careplans.care_plan_draft(user=lead, patient_id=patient.id)
    careplans.care_plan_publish(user=lead, plan_id=old.id)
    active = careplans.care_plan_draft(user=lead, patient_id=patient.id)
    careplans.care_plan_publish(user=lead, plan_id=active.id)
    draft = careplans.care_plan_draft(user=lead, patient_id=patient.id)
    careplans.care_plan_edit(user=lead, plan_id=draft.id, summary=DRAFT_CANARY)

    clock.shift(timedelta(hours=1))
    messages_at = NOW + timedelta(hours=2)
    opened = messaging.thread_open(
        actor=patient.user, subject="Dry patches", category="clinical", body="Opening question"
    )
    thread = opened.thread
    reply = messaging.message_send(actor=lead, thread_id=thread.id, body="Clinician reply")
    note = messaging.message_send(
        actor=lead, thread_id=thread.id, body=INTERNAL_CANARY, internal=True
    )
    follow_up = messaging.message_send(actor=patient.user, thread_id=thread.id, body="Thank you")

    give_availability(clinician)
    appointment = book_directly(patient=patient, clinician=clinician, start=at(TOMORROW, 10))
    return Record(
        patient=patient,
        poem_response=poem_id,
        pss_response=pss_id,
        isi_response=isi_id,
        intake_response=intake_id,
        old_plan=str(old.id),
        active_plan=str(active.id),
        draft_plan=str(draft.id),
        active_goal=_first_goal_id(active),
        draft_goal=_first_goal_id(draft),
        thread=str(thread.id),
        opening=str(opened.send.message.id),
        reply=str(reply.message.id),
        internal_note=str(note.message.id),
        follow_up=str(follow_up.message.id),
        appointment=str(appointment.id),
        care_team=str(patient.care_team.id),
        started_at=started_at,
        messages_at=messages_at,
    )


def assert_valid_r4(resource: dict[str, Any]) -> None:
    """Parse into the fhir.resources R4B model of its type (raises if it does not conform)."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in bundle.get("entry", [])]


def next_link(bundle: dict[str, Any]) -> str | None:
    return next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
