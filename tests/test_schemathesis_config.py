"""tests/schemathesis.toml's exceptions apply to exactly the operations it names.

Each exception lets schemathesis's positive_data_acceptance check accept one more status for
schema-valid input on a few operations (the file says why for each). An entry filtered by
`include-path` and `include-method` applied to every operation matching either, and the first
entry that applied won: until December 2026 every GET, POST, PUT and PATCH accepted a 400 for
valid input, which hid what the check is for. The entries now name operations ("METHOD /path")."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import schemathesis
from rest_framework.test import APIClient
from schemathesis.config import SchemathesisConfig
from schemathesis.core.result import Ok

from tests.openapi_fuzz import CONFIG

pytestmark = pytest.mark.django_db

DEFAULT = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # schemathesis's own
REFUSES_WELL_FORMED_INPUT = ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]
EXPECTED = {
    "POST /api/v1/auth/login/": REFUSES_WELL_FORMED_INPUT,
    "POST /api/v1/auth/register/": REFUSES_WELL_FORMED_INPUT,
    "POST /api/v1/auth/mfa/enroll/": REFUSES_WELL_FORMED_INPUT,
    "POST /api/v1/auth/mfa/confirm/": REFUSES_WELL_FORMED_INPUT,
    "POST /api/v1/me/phone/confirm/": REFUSES_WELL_FORMED_INPUT,
    "POST /api/v1/appointments/": REFUSES_WELL_FORMED_INPUT,
    "POST /api/v1/appointments/{appointment_id}/reschedule/": REFUSES_WELL_FORMED_INPUT,
    "POST /api/v1/push-subscriptions/": REFUSES_WELL_FORMED_INPUT,
    "PATCH /api/v1/care-plans/{plan_id}/": REFUSES_WELL_FORMED_INPUT,
    "GET /api/v1/slots/earliest/": REFUSES_WELL_FORMED_INPUT,
    "POST /api/v1/threads/": REFUSES_WELL_FORMED_INPUT,
    "POST /api/v1/threads/{thread_id}/messages/": REFUSES_WELL_FORMED_INPUT,
    "GET /api/v1/appointments/": REFUSES_WELL_FORMED_INPUT,
    "PATCH /api/v1/me/": REFUSES_WELL_FORMED_INPUT,
    "POST /api/v1/attachments/": REFUSES_WELL_FORMED_INPUT,
    "POST /api/v1/questionnaire-responses/": REFUSES_WELL_FORMED_INPUT,
    "PATCH /api/v1/questionnaire-responses/{response_id}/": REFUSES_WELL_FORMED_INPUT,
    "POST /api/v1/clinicians/{clinician_id}/availability/": REFUSES_WELL_FORMED_INPUT,
    "PATCH /api/v1/clinicians/{clinician_id}/availability/rules/{rule_id}/": (
        REFUSES_WELL_FORMED_INPUT
    ),
    "PUT /api/v1/patients/{patient_id}/care-team/": REFUSES_WELL_FORMED_INPUT,
    "PUT /api/v1/notification-preferences/": REFUSES_WELL_FORMED_INPUT,
    "GET /api/v1/events/": ["2xx", "3xx", "401", "403", "404", "409", "410", "429"],
}


def test_each_exception_applies_to_the_operations_it_names_and_no_other(tmp_path, monkeypatch):
    # The file reads real object ids from the environment; any value loads it.
    for name in re.findall(r"\$\{(\w+)\}", CONFIG.read_text()):
        monkeypatch.setenv(name, "x")
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(APIClient().get("/api/schema/", {"format": "json"}).json()))
    schema = schemathesis.openapi.from_path(
        str(schema_file), config=SchemathesisConfig.from_path(str(CONFIG))
    )

    accepted = {}
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # every operation of our schema loads
        operation = result.ok()
        checks = schema.config.checks_config_for(operation=operation, phase=None)
        accepted[operation.label] = checks.positive_data_acceptance.expected_statuses

    assert set(EXPECTED) <= set(accepted), "an exception names an operation the API lacks"
    for label, statuses in accepted.items():
        assert statuses == EXPECTED.get(label, DEFAULT), label


def test_the_file_names_its_operations_one_filter_each():
    settings = [line for line in Path(CONFIG).read_text().splitlines() if not line.startswith("#")]

    assert not [line for line in settings if line.startswith(("include-path", "include-method"))]
