"""Walk every URL pattern: nothing answers an anonymous caller unless public by design."""

from __future__ import annotations

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# Reachable without signing in, on purpose.
PUBLIC = {
    "healthz",
    "readyz",
    "api/schema/",
    "api/docs/",
    "api/v1/auth/register/",
    "api/v1/auth/login/",
    "api/v1/auth/mfa/enroll/",
    "api/v1/auth/mfa/confirm/",
}

SAMPLE_BY_CONVERTER = {
    "uuid": str(uuid.uuid4()),
    "int": "1",
    "slug": "poem",
    "str": "x",
    "path": "x",
}


def walk(patterns, prefix: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def concrete(route: str) -> str:
    parts = []
    for piece in route.split("<"):
        if ">" in piece:
            spec, rest = piece.split(">", 1)
            converter = spec.split(":")[0] if ":" in spec else "str"
            parts.append(SAMPLE_BY_CONVERTER[converter] + rest)
        else:
            parts.append(piece)
    return "/" + "".join(parts)


def api_routes():
    for route, _pattern in walk(get_resolver().url_patterns):
        if route.startswith("admin/") or route.startswith("^") or route in PUBLIC:
            continue
        yield route


def test_the_walk_finds_the_api():
    assert "api/v1/me/" in set(api_routes())


@pytest.mark.parametrize("route", sorted(set(api_routes())))
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_every_non_public_endpoint_requires_authentication(anon, route, method):
    response = getattr(anon, method)(concrete(route))

    assert response.status_code == 401, f"{method.upper()} {route} -> {response.status_code}"
    assert response.json()["error"]["code"] == "not_authenticated"


def test_the_admin_sends_anonymous_callers_to_its_login(anon):
    response = anon.get("/admin/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
