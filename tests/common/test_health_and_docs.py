from __future__ import annotations

import re

import pytest
from django.test import override_settings
from openapi_spec_validator import validate

from ..worker import broker_at

pytestmark = pytest.mark.django_db


def test_healthz_answers_while_the_process_is_up(anon):
    response = anon.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_database_redis_and_broker(anon):
    response = anon.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok", "broker": "ok"},
    }


def test_readyz_stays_200_but_degraded_when_the_broker_is_unreachable(anon):
    # Web processes keep serving without the broker (the outbox waits in PostgreSQL), so the
    # load balancer must not take them all out for it.
    with broker_at("redis://127.0.0.1:1/0"):
        response = anon.get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["broker"] == "degraded"


def test_readyz_stays_200_but_degraded_when_redis_is_unreachable(anon):
    unreachable = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    with override_settings(CACHES=unreachable):
        response = anon.get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["redis"] == "degraded"
    assert response.json()["checks"]["database"] == "ok"


def test_the_openapi_schema_is_valid_openapi_3(anon):
    response = anon.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.")
    validate(spec)
    assert "/api/v1/auth/login/" in spec["paths"]


def test_the_api_docs_work_without_internet(anon):
    page = anon.get("/api/docs/")

    assert page.status_code == 200
    html = page.content.decode()
    assert not re.search(r"(src|href)=\"https?://", html), "docs must not load assets from a CDN"
    assets = re.findall(r"(?:src|href)=\"(/static/[^\"]+)\"", html)
    assert assets
    for asset in assets:
        assert anon.get(asset).status_code == 200, asset
