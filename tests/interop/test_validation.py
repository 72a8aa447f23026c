"""The R4 check (fhir.resources R4B) every response passes in DEBUG and in the suite."""

from __future__ import annotations

import pytest
from django.test import override_settings
from fhir.resources.careplan import CarePlan as R5CarePlan

from interop.apis import FhirJsonRenderer
from interop.validation import InvalidResource, validate

NOT_R4 = {"resourceType": "Patient", "id": "x", "birthDate": "last spring"}


def test_it_refuses_what_r4_refuses_without_quoting_the_value():
    with pytest.raises(InvalidResource) as refused:
        validate(NOT_R4)

    assert "last spring" not in str(refused.value)


def test_it_checks_against_r4_not_r5():
    # R4's CarePlan.activity.detail no longer exists in R5 (it became plannedActivityDetail).
    r4_plan = {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "subject": {"reference": "Patient/1"},
        "activity": [{"detail": {"status": "in-progress", "description": "Walk"}}],
    }

    validate(r4_plan)
    with pytest.raises(ValueError):
        R5CarePlan.model_validate(r4_plan)


def test_responses_are_checked_when_enabled_and_left_alone_otherwise():
    renderer = FhirJsonRenderer()

    with override_settings(CARECORE_FHIR_VALIDATE=True), pytest.raises(InvalidResource):
        renderer.render(NOT_R4)
    with override_settings(CARECORE_FHIR_VALIDATE=False):
        assert b"last spring" in renderer.render(NOT_R4)
