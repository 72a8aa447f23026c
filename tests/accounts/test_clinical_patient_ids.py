"""clinical_patient_ids: the patients a user may read clinically, found from the user's side.
It must name exactly the patients that `patient_visibility` keeps, for every role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.postgres.expressions import ArraySubquery
from django.utils import timezone

from carecore.accounts.access import (
    Purpose,
    clinical_patient_ids,
    clinical_patient_ids_query,
    patients_found_by_query,
    patients_visible_to,
)
from carecore.accounts.models import BreakGlassGrant, Patient, Role

from ..conftest import ACTOR_NAMES

pytestmark = pytest.mark.django_db


def _by_the_rule(user) -> set:
    return set(patients_visible_to(user, purpose=Purpose.CLINICAL).values_list("id", flat=True))


@pytest.mark.parametrize(
    "name",
    ACTOR_NAMES,
)
def test_it_names_exactly_the_patients_the_rule_keeps(name, actors, patient, other_patient):
    user = actors[name]

    assert set(clinical_patient_ids(user)) == _by_the_rule(user)


@pytest.mark.parametrize("name", ["other_clinician", "admin"])
@pytest.mark.parametrize("open_for", [timedelta(hours=1), -timedelta(minutes=1)])
def test_an_open_break_glass_grant_adds_its_patient_and_an_expired_one_does_not(
    name, open_for, actors, patient
):
    user = actors[name]
    BreakGlassGrant.objects.create(
        user=user,
        patient=patient,
        reason="Covering an emergency.",
        created_at=timezone.now() - timedelta(hours=2),
        expires_at=timezone.now() + open_for,
    )

    assert (patient.id in clinical_patient_ids(user)) is (open_for > timedelta(0))
    assert set(clinical_patient_ids(user)) == _by_the_rule(user)


def test_an_inactive_user_sees_nobody(actors):
    clinician = actors["clinician"]
    clinician.is_active = False

    assert clinical_patient_ids(clinician) == [] and _by_the_rule(clinician) == set()


def test_it_is_one_query(actors, patient, django_assert_num_queries):
    with django_assert_num_queries(1):
        clinical_patient_ids(actors["clinician"])


@pytest.mark.parametrize("name", ACTOR_NAMES)
def test_the_roles_found_by_a_query_are_the_staff_who_read_through_teams_and_grants(name, actors):
    user = actors[name]

    assert patients_found_by_query(user) is (
        user.role in (Role.CLINICIAN, Role.COORDINATOR, Role.ADMIN)
    )
    user.is_active = False
    assert not patients_found_by_query(user)


@pytest.mark.parametrize("name", ["clinician", "other_clinician", "coordinator", "admin"])
@pytest.mark.parametrize("open_for", [timedelta(hours=1), -timedelta(minutes=1)])
def test_its_query_nested_in_another_names_the_same_patients(
    name, open_for, actors, patient, other_patient
):
    """What the inbox nests in its page's query (`clinical_patient_ids_query`, as an array)."""
    user = actors[name]
    now = timezone.now()
    BreakGlassGrant.objects.create(
        user=user,
        patient=patient,
        reason="Covering an emergency.",
        created_at=now - timedelta(hours=2),
        expires_at=now + open_for,
    )
    patients = clinical_patient_ids_query(user.role, user_id=user.id, now=now)

    nested = Patient.objects.filter(id__any=ArraySubquery(patients)).values_list("id", flat=True)

    assert set(nested) == set(clinical_patient_ids(user)) == _by_the_rule(user)


def test_no_query_finds_the_patients_of_a_patient_or_a_scheduler(actors):
    for name in ("patient", "scheduler"):
        with pytest.raises(ValueError, match="not found by a query"):
            clinical_patient_ids_query(
                actors[name].role, user_id=actors[name].id, now=timezone.now()
            )
