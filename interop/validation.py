"""Checking what we send against the FHIR R4 specification, with fhir.resources' R4B models.

The package's top-level models are R5 and differ from R4 in places (e.g. Appointment, CarePlan),
so only `fhir.resources.R4B` is used. R4B changed no resource we serve from R4 4.0.1. The
builders in resources.py produce plain JSON-shaped dicts; every response is parsed into its
R4B model when `CARECORE_FHIR_VALIDATE` is on (DEBUG and the test suite), and always in the
bulk export before a line is written.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from fhir.resources.R4B import get_fhir_model_class


class InvalidResource(ValueError):
    """A resource we built does not conform: a bug in a builder, never the client's fault."""


def validate(resource: dict[str, Any]) -> None:
    model = get_fhir_model_class(resource["resourceType"])
    try:
        model.model_validate(resource)
    except ValueError as exc:
        # The pydantic message can quote values (patient data): only the type goes in the log.
        raise InvalidResource(f"{resource['resourceType']} does not validate as R4") from exc


def validate_if_enabled(resource: dict[str, Any]) -> None:
    if settings.CARECORE_FHIR_VALIDATE:
        validate(resource)
