"""The CapabilityStatement at /fhir/R4/metadata: what this server supports, from record.SPECS."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from .codes import FHIR_VERSION
from .record import SPECS

_PARAM_TYPES = {
    "_id": "token",
    "_lastUpdated": "date",
    "patient": "reference",
    "subject": "reference",
    "status": "token",
    "lifecycle-status": "token",
    "date": "date",
    "category": "token",
    "code": "token",
}


def _resource(type_name: str) -> dict[str, Any]:
    spec = SPECS[type_name]
    params = [{"name": name, "type": _PARAM_TYPES[name]} for name in sorted(spec.search_params)] + [
        {"name": "_count", "type": "number"}
    ]
    resource: dict[str, Any] = {
        "type": type_name,
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": params,
    }
    if type_name == "Patient":
        resource["operation"] = [
            {
                "name": "everything",
                "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
            },
            {
                "name": "export",
                "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export",
            },
        ]
    return resource


def capability_statement(*, base_url: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": timezone.now().date().isoformat(),
        "publisher": "CareCore",
        "kind": "instance",
        "software": {"name": "CareCore"},
        "implementation": {"description": "CareCore FHIR R4 API (read-only)", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Read-only. Bearer tokens from /api/v1/auth/login/; the same access rules and "
                    "audit trail as the REST API. Bulk export (Patient/$export) is for admins."
                ),
                "security": {
                    "description": (
                        "Authorization: Bearer <token> (the CareCore API token); SMART on FHIR "
                        "scopes are not offered yet (docs/fhir.md says how they would be added)."
                    )
                },
                "resource": [_resource(type_name) for type_name in SPECS],
            }
        ],
    }
