"""Every response carries the strict Content-Security-Policy; no page may be framed."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def test_it_sends_a_strict_policy_with_a_fresh_nonce_on_the_docs_page(client: Client) -> None:
    first = directives(client.get("/api/docs/").headers["Content-Security-Policy"])
    second = directives(client.get("/api/docs/").headers["Content-Security-Policy"])

    assert first["default-src"] == ["'none'"]
    assert first["script-src"][0] == "'self'"
    assert first["script-src"][1].startswith("'nonce-")
    assert first["script-src"][1] != second["script-src"][1]
    assert "'unsafe-inline'" not in first["script-src"] + first["style-src"]
    assert "'unsafe-eval'" not in first["script-src"]
    assert first["frame-ancestors"] == ["'none'"]
    assert first["object-src"] == ["'none'"]


def test_it_sends_the_policy_on_api_responses_too(client: Client) -> None:
    response = client.get("/api/v1/me/")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
