"""Every instrument's measures at once (the care team's patient chart): the same timelines and
goals as one instrument at a time, behind one audited access check, in a fixed number of
queries; and the version diff of two plans already read, without a query."""

from __future__ import annotations

from typing import Any

import pytest

from carecore.accounts.models import Clinician, Patient, User
from carecore.audit.models import Action, AuditEvent
from carecore.common.errors import NotFound
from careplans import selectors
from careplans import services as careplans
from careplans.models import CarePlan
from intake import services as intake
from tests.careplans.helpers import plan_published_after_intake
from tests.intake.helpers import poem

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(patient: Patient, clinician: Clinician) -> None:
    """POEM 14 and a healthy intake, plan 1 published (a POEM goal), then POEM 7 and an ISI."""
    plan_published_after_intake(patient, clinician)
    intake.response_create(
        user=patient.user, slug="poem", answers=poem(1, 1, 1, 1, 1, 1, 1), status="completed"
    )
    intake.response_create(
        user=patient.user,
        slug="isi",
        answers={f"isi-{n}": 2 for n in range(1, 8)},
        status="completed",
    )


def test_it_matches_one_instrument_at_a_time(
    patient: Patient, clinician: Clinician, scored: None
) -> None:
    every = {
        progress.instrument: progress
        for progress in selectors.measures_progress_all(user=clinician.user, patient_id=patient.id)
    }

    assert {"poem", "isi"} <= set(every)
    for instrument, progress in every.items():
        one = selectors.measures_progress(
            user=clinician.user, patient_id=patient.id, instrument=instrument
        )
        assert progress.results == one.results, instrument
        assert progress.goal == one.goal, instrument
    assert [point.total for point in every["poem"].results] == [14, 7]
    assert every["poem"].goal is not None and every["poem"].goal.target_value == 10.6
    assert every["isi"].goal is None


def test_it_is_one_audited_read_in_a_fixed_number_of_queries(
    patient: Patient, clinician: Clinician, scored: None, django_assert_num_queries: Any
) -> None:
    before = AuditEvent.objects.count()

    # The access check and its READ event, the active goals, every completed response.
    with django_assert_num_queries(4):
        selectors.measures_progress_all(user=clinician.user, patient_id=patient.id)

    event = AuditEvent.objects.order_by("id")[before:].get()
    assert (event.object_type, event.action) == ("measures", Action.READ)
    assert str(event.patient_id) == str(patient.id)


@pytest.mark.parametrize("role", ["other_clinician", "scheduler", "other_patient"])
def test_anyone_else_gets_not_found(
    role: str, actors: dict[str, User], patient: Patient, scored: None
) -> None:
    with pytest.raises(NotFound):
        selectors.measures_progress_all(user=actors[role], patient_id=patient.id)


def test_the_version_diff_of_loaded_plans_needs_no_query(
    patient: Patient, clinician: Clinician, scored: None, django_assert_num_queries: Any
) -> None:
    draft = careplans.care_plan_draft(user=clinician.user, patient_id=patient.id)
    careplans.care_plan_edit(user=clinician.user, plan_id=draft.id, summary="Focus on sleep first.")
    newer, older = selectors.care_plan_list(user=clinician.user, patient_id=patient.id).order_by(
        "-number"
    )
    assert isinstance(older, CarePlan) and older.number == 1

    with django_assert_num_queries(0):
        diff = selectors.care_plan_versions_diff(selectors.plans_compared(older=older, newer=newer))

    assert diff == selectors.care_plan_diff(
        user=clinician.user, plan_id=newer.id, against_id=older.id
    )
    assert diff["summary_changed"] is True
