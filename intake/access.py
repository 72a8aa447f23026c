"""Who may read which questionnaire response and intake review.

Built on `patient_visibility` (care team, break-glass, the patient themselves); schedulers never
see answers or scores (their role is refused at the endpoint, and CLINICAL purpose excludes
them here too). Missing and forbidden are the same 404. Every call writes one audit event.
"""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet

from carecore.accounts.access import Purpose, patient_visibility
from carecore.accounts.models import Role, User
from carecore.audit.models import Action, Outcome
from carecore.audit.services import audit_record
from carecore.common.errors import NotFound

from .models import CarePlan, CarePlanStatus, IntakeReview, QuestionnaireResponse


def access_response(
    *, user: User, response_id: UUID | str, for_write: bool = False
) -> QuestionnaireResponse:
    action = Action.UPDATE if for_write else Action.READ
    response = (
        QuestionnaireResponse.objects.filter(
            patient_visibility(user, purpose=Purpose.CLINICAL, patient_ref="patient_id")
        )
        .select_related("version__questionnaire", "patient__user")
        .filter(pk=response_id)
        .first()
    )
    if response is None:
        audit_record(
            actor=user,
            object_type="questionnaire_response",
            object_id=response_id,
            action=action,
            outcome=Outcome.DENIED,
        )
        raise NotFound()
    audit_record(
        actor=user,
        object_type="questionnaire_response",
        object_id=response.id,
        patient_id=response.patient_id,
        action=action,
    )
    return response


def access_review(*, user: User, review_id: UUID | str, for_write: bool = False) -> IntakeReview:
    action = Action.UPDATE if for_write else Action.READ
    review = (
        IntakeReview.objects.filter(
            patient_visibility(user, purpose=Purpose.CLINICAL, patient_ref="patient_id")
        )
        .select_related("response__version__questionnaire")
        .filter(pk=review_id)
        .first()
    )
    if review is None:
        audit_record(
            actor=user,
            object_type="intake_review",
            object_id=review_id,
            action=action,
            outcome=Outcome.DENIED,
        )
        raise NotFound()
    audit_record(
        actor=user,
        object_type="intake_review",
        object_id=review.id,
        patient_id=review.patient_id,
        action=action,
    )
    return review


def care_plans_visible_to(user: User) -> QuerySet[CarePlan]:
    """Plans of patients `user` may see clinically; a patient never sees a draft."""
    plans = CarePlan.objects.filter(
        patient_visibility(user, purpose=Purpose.CLINICAL, patient_ref="patient_id")
    )
    if user.role == Role.PATIENT:
        plans = plans.exclude(status=CarePlanStatus.DRAFT)
    return plans


def access_care_plan(*, user: User, plan_id: UUID | str) -> CarePlan:
    plan = care_plans_visible_to(user).filter(pk=plan_id).first()
    if plan is None:
        audit_record(
            actor=user,
            object_type="care_plan",
            object_id=plan_id,
            action=Action.READ,
            outcome=Outcome.DENIED,
        )
        raise NotFound()
    audit_record(
        actor=user,
        object_type="care_plan",
        object_id=plan.id,
        patient_id=plan.patient_id,
        action=Action.READ,
    )
    return plan
