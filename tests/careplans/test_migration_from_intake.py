"""An existing database keeps every care plan when care plans move from intake to careplans.

The database is migrated back to the schema before the move (intake 0004, no careplans), filled
with a published plan, its goal and activity, and a check-in answered by a response, through
the historical models of that schema; then migrated forward. Everything reads back through the
new app's models, the immutability triggers still guard the renamed tables, and the content
types (admin permissions) moved with the models.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from carecore.accounts.models import Clinician, Patient
from careplans.models import CarePlan, CarePlanActivity, CarePlanGoal, CheckIn
from intake.models import QuestionnaireResponse

pytestmark = pytest.mark.django_db(transaction=True)

LAST_BEFORE_THE_MOVE = ("intake", "0004_published_care_plans_are_immutable")
BEFORE_THE_MOVE = [LAST_BEFORE_THE_MOVE, ("careplans", None)]


def _migrate(targets: list[tuple[str, str | None]] | None = None) -> None:
    """Migrate to `targets` (default: every app's latest migration)."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets or executor.loader.graph.leaf_nodes())


@pytest.fixture
def old_schema() -> Iterator[Any]:
    """The database as it was before the move, and the models of that schema."""
    try:
        _migrate(BEFORE_THE_MOVE)
        yield MigrationExecutor(connection).loader.project_state([LAST_BEFORE_THE_MOVE]).apps
    finally:
        _migrate()  # whatever happened, later tests get the current schema


def _response(old_schema: Any, patient: Patient) -> Any:
    # Intake's own tables are not part of the move, but they are written through the historical
    # models too: intake's later migrations add columns the old schema does not have.
    questionnaire = old_schema.get_model("intake", "Questionnaire").objects.create(
        slug="poem", title="POEM"
    )
    version = old_schema.get_model("intake", "QuestionnaireVersion").objects.create(
        questionnaire=questionnaire, version="1", url="https://example.test/poem", definition={}
    )
    return old_schema.get_model("intake", "QuestionnaireResponse").objects.create(
        patient_id=patient.id, version=version, status="completed", completed_at=timezone.now()
    )


def test_plans_goals_activities_and_check_ins_survive_the_move(
    old_schema: Any, patient: Patient, clinician: Clinician
) -> None:
    OldPlan = old_schema.get_model("intake", "CarePlan")
    OldGoal = old_schema.get_model("intake", "CarePlanGoal")
    OldActivity = old_schema.get_model("intake", "CarePlanActivity")
    OldCheckIn = old_schema.get_model("intake", "CheckIn")
    response = _response(old_schema, patient)
    plan = OldPlan.objects.create(
        patient_id=patient.id, number=1, created_by_id=clinician.user_id, summary="Calm the skin"
    )
    goal = OldGoal.objects.create(
        plan=plan,
        position=0,
        code="poem-down",
        title="Less eczema",
        instrument="poem",
        baseline=12,
        target_change=4,
        repeat_every_weeks=2,
    )
    activity = OldActivity.objects.create(
        plan=plan,
        position=0,
        code="emollient",
        category="skin",
        title="Moisturise",
        instructions="Twice a day",
        evidence=["NICE CG57"],
    )
    check_in = OldCheckIn.objects.create(
        patient_id=patient.id,
        goal=goal,
        instrument="poem",
        due_at=timezone.now() + timedelta(weeks=2),
        response_id=response.id,
    )
    OldPlan.objects.filter(pk=plan.pk).update(status="active", published_at=timezone.now())

    _migrate()

    moved = CarePlan.objects.get(pk=plan.pk)
    assert (moved.patient_id, moved.status, moved.summary) == (
        patient.id,
        "active",
        "Calm the skin",
    )
    assert list(moved.goals.values_list("id", "target_change")) == [(goal.id, 4.0)]
    assert list(moved.activities.values_list("id", "evidence")) == [(activity.id, ["NICE CG57"])]
    assert CheckIn.objects.get(pk=check_in.pk).response_id == response.id
    assert QuestionnaireResponse.objects.get(pk=response.id).check_in.goal_id == goal.id


def test_the_immutability_triggers_guard_the_moved_tables(
    old_schema: Any, patient: Patient, clinician: Clinician
) -> None:
    OldPlan = old_schema.get_model("intake", "CarePlan")
    OldGoal = old_schema.get_model("intake", "CarePlanGoal")
    plan = OldPlan.objects.create(patient_id=patient.id, number=1, created_by_id=clinician.user_id)
    OldGoal.objects.create(
        plan=plan, position=0, code="x", title="Goal", instrument="poem", target_change=1
    )
    OldPlan.objects.filter(pk=plan.pk).update(status="active", published_at=timezone.now())

    _migrate()

    never_changes = pytest.raises(DatabaseError, match="published care plan never changes")
    with never_changes, transaction.atomic():
        CarePlanGoal.objects.filter(plan_id=plan.pk).update(title="Changed")
    with never_changes, transaction.atomic():
        CarePlanActivity.objects.create(
            plan_id=plan.pk, position=1, code="x", category="skin", title="t", instructions="i"
        )


def test_the_content_types_move_with_the_models() -> None:
    ContentType.objects.get_or_create(app_label="careplans", model="careplan")
    try:
        _migrate(BEFORE_THE_MOVE)
        assert ContentType.objects.filter(app_label="intake", model="careplan").exists()
    finally:
        _migrate()

    assert ContentType.objects.filter(app_label="careplans", model="careplan").exists()
    assert not ContentType.objects.filter(app_label="intake", model="careplan").exists()
