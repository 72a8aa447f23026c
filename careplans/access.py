"""Who may read which care plan.

Built on `patient_visibility` (care team, break-glass, the patient themselves) with the clinical
purpose: schedulers never see plans. A patient never sees a draft. Missing and forbidden are the
same 404, and every call writes one audit event (denied ones included).
"""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet

from carecore.accounts.access import Purpose, audited_get, patient_visibility, patients_visible_to
from carecore.accounts.models import Role, User
from carecore.audit.models import Action

from .models import CarePlan, CarePlanGoal, CarePlanStatus


def care_plans_visible_to(user: User, *, for_write: bool = False) -> QuerySet[CarePlan]:
    """Plans of patients `user` may see clinically (with `for_write`, change: never under
    break-glass); a patient never sees a draft."""
    plans = CarePlan.objects.filter(
        patient_visibility(
            user, purpose=Purpose.CLINICAL, patient_ref="patient_id", for_write=for_write
        )
    )
    if user.role == Role.PATIENT:
        plans = plans.exclude(status=CarePlanStatus.DRAFT)
    return plans


def access_care_plan(
    *,
    user: User,
    plan_id: UUID | str,
    for_write: bool = False,
    lock: bool = False,
    detail: dict[str, object] | None = None,
) -> CarePlan:
    """The plan if `user` may see it; else NotFound. One query, one audit event (the write's
    own event when `for_write`, with `detail`). `lock=True` takes the plan row FOR UPDATE (the
    caller must be in a transaction)."""
    return audited_get(
        care_plans_visible_to(user, for_write=for_write),
        user=user,
        object_id=plan_id,
        object_type="care_plan",
        action=Action.UPDATE if for_write else Action.READ,
        detail=detail,
        lock=lock,
    )


def may_change_care_plans(*, user: User, patient_id: UUID | str) -> bool:
    """Whether `user` may draft, edit, publish and discard this patient's plans: a clinician on
    the care team (never a coordinator, never under break-glass). For pages deciding which
    controls to show and refusing a forced POST early; the services check again."""
    if user.role != Role.CLINICIAN:
        return False
    writable = patients_visible_to(user, purpose=Purpose.CLINICAL, for_write=True)
    return writable.filter(pk=patient_id).exists()


def care_plan_goals_visible_to(user: User) -> QuerySet[CarePlanGoal]:
    """Goals of the plans `user` may see (so a patient never sees a draft plan's goals)."""
    return CarePlanGoal.objects.filter(plan__in=care_plans_visible_to(user))


def access_care_plan_goal(*, user: User, goal_id: UUID | str) -> CarePlanGoal:
    return audited_get(
        care_plan_goals_visible_to(user).select_related("plan"),
        user=user,
        object_id=goal_id,
        object_type="care_plan_goal",
        patient_id_of=lambda goal: goal.plan.patient_id,
    )
