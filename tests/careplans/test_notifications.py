"""Care-plan events reach the right people through the outbox: a published plan, due check-ins."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from careplans.models import CheckIn
from careplans.services import check_ins_remind

from ..intake.helpers import healthy_intake, poem, submit
from ..outbox import recipients, rows
from .test_apis import _complete_reviews, draft, plan_url

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("questionnaires")]


def test_publishing_a_plan_notifies_the_patient(client_for, patient, clinician):
    submit(
        client_for(patient.user), "gut-skin-intake", healthy_intake(**{"water-glasses-daily": 2})
    )
    staff = client_for(clinician.user)
    plan = draft(staff, patient.id).json()
    assert not rows("care_plan_published").exists()  # drafts are invisible to the patient
    _complete_reviews(staff)

    staff.post(plan_url(plan["id"], "publish"))

    assert recipients("care_plan_published") == {patient.user_id}
    assert {row.link_path for row in rows("care_plan_published")} == {"/care-plan/"}


@pytest.fixture
def published_skin_plan(client_for, patient, clinician):
    client = client_for(patient.user)
    submit(client, "poem", poem(3, 3, 3, 3, 3, 3, 3))
    submit(client, "gut-skin-intake", healthy_intake())
    staff = client_for(clinician.user)
    plan = draft(staff, patient.id).json()
    _complete_reviews(staff)
    staff.post(plan_url(plan["id"], "publish"))
    return plan


def test_a_due_check_in_is_reminded_once(patient, published_skin_plan):
    first_due = CheckIn.objects.order_by("due_at")[0].due_at

    assert check_ins_remind(now=first_due - timedelta(minutes=1)) == 0
    with time_machine.travel(first_due + timedelta(minutes=5)):
        reminded = check_ins_remind(now=timezone.now())
        again = check_ins_remind(now=timezone.now())

    assert (reminded, again) == (1, 0)
    assert recipients("checkin_due") == {patient.user_id}
    assert {row.link_path for row in rows("checkin_due")} == {"/questionnaires/poem/"}


def test_an_answered_check_in_is_not_reminded(client_for, patient, published_skin_plan):
    first_due = CheckIn.objects.order_by("due_at")[0].due_at
    with time_machine.travel(first_due - timedelta(days=1)):
        submit(client_for(patient.user), "poem", poem(1, 1, 1, 1, 1, 1, 1))

    with time_machine.travel(first_due + timedelta(minutes=5)):
        assert check_ins_remind(now=timezone.now()) == 0
