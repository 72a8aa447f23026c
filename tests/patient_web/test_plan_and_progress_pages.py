"""The care plan and progress pages: the published plan's goals and activities (never a draft),
scores per instrument as chart data and as a table with the goal; reads audited."""

from __future__ import annotations

import json
from collections.abc import Callable
from html import unescape

import pytest
from django.test import Client

from carecore.accounts.models import Clinician, Patient, User
from carecore.audit.models import Action, AuditEvent
from careplans import services as careplans
from careplans.models import CarePlan
from intake import services as intake
from tests.careplans.helpers import plan_published_after_intake
from tests.intake.helpers import poem

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(patient: Patient, clinician: Clinician) -> CarePlan:
    """A published plan with a POEM goal, from a POEM of 14 and a healthy intake."""
    return plan_published_after_intake(patient, clinician)


def test_it_shows_the_published_plans_goals_and_activities_and_audits_the_read(
    plan: CarePlan, patient: Patient, clinician: Clinician, web_for: Callable[[User], Client]
) -> None:
    # A newer draft stays invisible to the patient.
    careplans.care_plan_draft(user=clinician.user, patient_id=patient.id)

    html = web_for(patient.user).get("/care-plan/").content.decode()

    goal = plan.goals.get()
    assert unescape(goal.title) in unescape(html)
    for activity in plan.activities.all():
        assert activity.title in unescape(html)
    assert "Plan 1, published" in html
    assert AuditEvent.objects.filter(
        actor_id=patient.user.id, object_id=str(plan.id), action=Action.READ
    ).exists()


def test_it_says_so_when_there_is_no_plan(
    patient: Patient, web_for: Callable[[User], Client]
) -> None:
    html = web_for(patient.user).get("/care-plan/").content.decode()

    assert "has not published a care plan" in html


def test_it_shows_each_instruments_scores_as_chart_data_and_a_table_with_the_goal(
    plan: CarePlan, patient: Patient, web_for: Callable[[User], Client]
) -> None:
    intake.response_create(
        user=patient.user, slug="poem", answers=poem(1, 1, 1, 1, 1, 1, 1), status="completed"
    )

    html = web_for(patient.user).get("/progress/").content.decode()

    section = html.split('id="poem"')[1].split("</section>")[0]
    chart = json.loads(unescape(section.split('data-chart="')[1].split('"')[0]))
    goal = plan.goals.get()
    assert chart["values"] == [14, 7]
    assert chart["goal"] == goal.target_value
    assert chart["min"] == 0 and chart["max"] == 28
    assert [band["name"] for band in chart["bands"]][:2] == ["clear", "mild"]
    assert "<table>" in section
    assert "<td>14</td>" in section and "<td>7</td>" in section
    assert 'src="/static/vendor/chart.js/4.6.1/chart.umd.min.js"' in html
    assert AuditEvent.objects.filter(
        actor_id=patient.user.id, object_type="measures", action=Action.READ
    ).exists()


def test_it_refuses_staff_the_plan_and_progress_pages(
    clinician: Clinician, web_for: Callable[[User], Client]
) -> None:
    client = web_for(clinician.user)

    assert client.get("/care-plan/").status_code == 403
    assert client.get("/progress/").status_code == 403
