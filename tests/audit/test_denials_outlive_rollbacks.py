"""A denied attempt is audited even though the service's transaction rolls back.

The access helpers run inside the services' transactions, so the 404 leaving a service rolls
back the denied event written there; `DeniedNotFound.after_rollback` writes it again once the
error has left every atomic block. Each case below is a write whose service checks access
inside its transaction: someone else's thread, care plan and intake review.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from carecore.accounts.access import deny
from carecore.accounts.models import Clinician, Patient, User
from carecore.audit.models import Action, AuditEvent, Outcome
from carecore.audit.services import DeniedNotFound
from careplans.models import CarePlan
from intake import services as intake_services
from messaging import services as messaging_services

from ..intake.helpers import poem

pytestmark = pytest.mark.django_db


def denied_events(user: User, object_type: str, object_id: Any) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            actor_id=user.id,
            object_type=object_type,
            object_id=str(object_id),
            outcome=Outcome.DENIED,
        )
    )


def test_a_message_to_someone_elses_thread_is_a_404_with_a_denied_event(
    client_for: Any, patient: Patient, other_patient: Patient
) -> None:
    others = messaging_services.thread_open(
        actor=other_patient.user, subject="Bill", category="billing", body="A question."
    ).thread

    response = client_for(patient.user).post(
        f"/api/v1/threads/{others.id}/messages/", {"body": "hello"}, format="json"
    )

    assert response.status_code == 404
    [event] = denied_events(patient.user, "message_thread", others.id)
    assert (event.action, event.patient_id) == (Action.UPDATE, None)


def test_publishing_someone_elses_plan_is_a_404_with_a_denied_event(
    client_for: Any, clinician: Clinician, other_clinician: Clinician, other_patient: Patient
) -> None:
    plan = CarePlan.objects.create(patient=other_patient, number=1, created_by=other_clinician.user)

    response = client_for(clinician.user).post(f"/api/v1/care-plans/{plan.id}/publish/")

    assert response.status_code == 404
    [event] = denied_events(clinician.user, "care_plan", plan.id)
    assert (event.action, event.patient_id) == (Action.UPDATE, None)
    assert CarePlan.objects.get(pk=plan.pk).status == "draft"


def test_completing_someone_elses_review_is_a_404_with_a_denied_event(
    client_for: Any, clinician: Clinician, other_patient: Patient, questionnaires: None
) -> None:
    intake_services.response_create(
        user=other_patient.user, slug="poem", answers=poem(1, 1, 1, 1, 1, 1, 1), status="completed"
    )
    review = other_patient.intake_reviews.get()

    answer = client_for(clinician.user).post(
        f"/api/v1/intake-reviews/{review.id}/complete/", {"note": "seen"}, format="json"
    )

    assert answer.status_code == 404
    [event] = denied_events(clinician.user, "intake_review", review.id)
    assert (event.action, event.patient_id) == (Action.UPDATE, None)


def test_a_denial_caught_outside_the_transaction_is_written_once(patient: Patient) -> None:
    with pytest.raises(DeniedNotFound) as caught, transaction.atomic():
        deny(user=patient.user, object_type="patient", object_id="x", action=Action.READ)
    assert denied_events(patient.user, "patient", "x") == []  # rolled back with the block

    caught.value.after_rollback()
    caught.value.after_rollback()

    assert len(denied_events(patient.user, "patient", "x")) == 1


def test_a_denial_outside_any_rollback_is_written_once(patient: Patient) -> None:
    with pytest.raises(DeniedNotFound) as caught:
        deny(user=patient.user, object_type="patient", object_id="y", action=Action.READ)

    caught.value.after_rollback()

    assert len(denied_events(patient.user, "patient", "y")) == 1
