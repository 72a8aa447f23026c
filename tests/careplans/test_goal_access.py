"""access_care_plan_goal / care_plan_goal_list: a goal is visible exactly when its plan is."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from carecore.common.errors import NotFound
from careplans import services
from careplans.access import access_care_plan_goal
from careplans.selectors import care_plan_goal_list
from tests.intake.helpers import healthy_intake, poem, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def goals(client_for, patient, clinician):
    """(the active plan's goal, the draft plan's goal) of `patient`."""
    call_command("sync_questionnaires", verbosity=0)
    client = client_for(patient.user)
    submit(client, "poem", poem(2, 2, 2, 2, 2, 2, 2))
    submit(client, "gut-skin-intake", healthy_intake())
    active = services.care_plan_draft(user=clinician.user, patient_id=patient.id)
    services.care_plan_publish(user=clinician.user, plan_id=active.id)
    draft = services.care_plan_draft(user=clinician.user, patient_id=patient.id)
    return active.goals.get(), draft.goals.get()


def test_a_patient_never_gets_a_draft_plans_goal(goals, patient):
    active, draft = goals

    with pytest.raises(NotFound):
        access_care_plan_goal(user=patient.user, goal_id=draft.id)
    assert access_care_plan_goal(user=patient.user, goal_id=active.id) == active
    assert list(care_plan_goal_list(user=patient.user)) == [active]


def test_the_care_team_gets_every_goal(goals, clinician, patient):
    assert access_care_plan_goal(user=clinician.user, goal_id=goals[1].id).plan.status == "draft"
    assert set(care_plan_goal_list(user=clinician.user, patient_id=patient.id)) == set(goals)


def test_another_team_gets_none(goals, other_clinician):
    with pytest.raises(NotFound):
        access_care_plan_goal(user=other_clinician.user, goal_id=goals[0].id)
    assert not care_plan_goal_list(user=other_clinician.user).exists()
