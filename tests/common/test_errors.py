"""One error shape everywhere; no traceback or exception text ever reaches a client or a log."""

from __future__ import annotations

import logging

import pytest
from django.test import Client, override_settings

from carecore.common import throttling

from .boom_urls import CANARY

pytestmark = pytest.mark.django_db


def assert_error_shape(response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code


@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/v1/patients/not-a-uuid/", "/api/"])
def test_unknown_api_urls_are_a_json_404(client_for, patient, path):
    assert_error_shape(client_for(patient.user).get(path), 404, "not_found")


@pytest.mark.parametrize("path", ["/fhir/R4/Nope/1", "/fhir/", "/fhir/R4/Patient/a/b"])
def test_unknown_fhir_urls_are_an_operation_outcome_404(client_for, patient, path):
    # PRODUCT.md: errors under /fhir/ are OperationOutcomes, not the REST error shape.
    response = client_for(patient.user).get(path)

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "not-found"


@override_settings(DEBUG=True)
def test_unknown_api_urls_are_json_even_with_debug_on(anon):
    assert_error_shape(anon.get("/api/v1/nope/"), 404, "not_found")


def test_a_bad_token_is_401_not_authenticated(anon):
    anon.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-token")

    response = anon.get("/api/v1/me/")

    assert_error_shape(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_malformed_json_is_a_400_validation_error(anon):
    response = anon.generic(
        "POST", "/api/v1/auth/login/", "{not json", content_type="application/json"
    )

    assert_error_shape(response, 400, "validation_error")


def test_a_wrong_method_is_405_in_the_error_shape(client_for, patient):
    assert_error_shape(client_for(patient.user).delete("/api/v1/me/"), 405, "method_not_allowed")


@override_settings(ROOT_URLCONF="tests.common.boom_urls")
def test_an_api_crash_is_a_500_without_details_and_logged_without_its_message(
    client_for, patient, caplog
):
    with caplog.at_level(logging.ERROR):
        response = client_for(patient.user).get("/api/v1/boom/")

    assert_error_shape(response, 500, "internal_error")
    assert CANARY not in response.content.decode()
    assert "RuntimeError" in caplog.text  # the log says where ...
    assert CANARY not in caplog.text  # ... but not what the exception said


@override_settings(ROOT_URLCONF="tests.common.boom_urls")
def test_a_crash_outside_the_api_is_a_json_500_without_details(db):
    client = Client(raise_request_exception=False)

    response = client.get("/plain-boom/")

    assert_error_shape(response, 500, "internal_error")
    assert CANARY not in response.content.decode()


def test_throttling_answers_429_with_retry_after(client_for, patient, monkeypatch):
    monkeypatch.setattr(throttling.UserRateThrottle, "rate", "3/min", raising=False)
    client = client_for(patient.user)

    statuses = [client.get("/api/v1/me/").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/me/")
    assert_error_shape(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 60


def test_anonymous_throttling_applies_to_login(anon, monkeypatch):
    monkeypatch.setattr(throttling.AuthRateThrottle, "rate", "2/min", raising=False)
    body = {"email": "x@example.test", "password": "nope"}

    statuses = [anon.post("/api/v1/auth/login/", body, format="json").status_code for _ in range(3)]

    assert statuses == [400, 400, 429]


def test_every_response_carries_a_request_id(anon):
    response = anon.get("/healthz")

    assert len(response["X-Request-ID"]) >= 8
