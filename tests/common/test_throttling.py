"""Throttle counting: one Redis round trip per request (API or signed-in page), in-process while
Redis is away, and the same counts for the API and for server-rendered pages."""

from __future__ import annotations

import logging
import threading

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from rest_framework.views import APIView

from carecore.common import throttling

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"
UNREACHABLE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}


def test_a_throttled_request_costs_one_redis_round_trip(client_for, patient):
    client = client_for(patient.user)
    client.get(ME)  # the first request loads the counting script into Redis
    redis = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    redis.config_resetstat()

    assert client.get(ME).status_code == 200

    stats = redis.info("commandstats")
    calls = {
        name.removeprefix("cmdstat_"): value["calls"]
        for name, value in stats.items()
        # Our own CONFIG RESETSTAT and INFO (newer servers count CONFIG's subcommands apart,
        # as "config|resetstat").
        if not name.startswith(("cmdstat_config", "cmdstat_info"))
    }
    # One command from the client (EVALSHA); Redis also counts the INCR the script runs inside
    # it. PEXPIRE runs only on a window's first hit.
    assert calls == {"evalsha": 1, "incr": 1}


def test_a_signed_in_page_costs_the_same_one_redis_round_trip(patient):
    # patient_web/middleware.py: the API's `user` throttle, counted the same way.
    client = Client()
    client.force_login(patient.user)
    client.get("/messages/")
    redis = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    redis.config_resetstat()

    assert client.get("/messages/").status_code == 200

    stats = redis.info("commandstats")
    calls = {
        name.removeprefix("cmdstat_"): value["calls"]
        for name, value in stats.items()
        if not name.startswith(("cmdstat_config", "cmdstat_info"))
    }
    assert calls == {"evalsha": 1, "incr": 1}
    assert any(cache._cache.get_client().keys(f"*throttle_user_{patient.user.pk}:*"))  # type: ignore[attr-defined]


# Committed data: each thread reads it over a database connection of its own.
@pytest.mark.django_db(transaction=True)
def test_requests_on_many_threads_share_one_redis_connection_pool(client_for, patient):
    # Under ASGI each request gets a cache backend of its own (`caches` is per context), as each
    # thread does here: counting through it opened a Redis connection per request.
    client = client_for(patient.user)
    client.get(ME)
    redis = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    before = redis.info("stats")["total_connections_received"]

    statuses: list[int] = []

    def one_request() -> None:
        statuses.append(client.get(ME).status_code)
        connection.close()  # back to the pool (the test client keeps it open)

    for _ in range(10):
        thread = threading.Thread(target=one_request)
        thread.start()
        thread.join()

    assert statuses == [200] * 10
    # New connections: at most one for this test's own INFO call and one spare, not ten.
    assert redis.info("stats")["total_connections_received"] - before <= 2


def test_counts_survive_between_requests_and_answer_429_with_retry_after(client_for, patient):
    client = client_for(patient.user)
    with override_settings(
        REST_FRAMEWORK={
            **_rest_framework(),
            "DEFAULT_THROTTLE_RATES": {"anon": "5/min", "user": "2/min", "auth": "5/min"},
        }
    ):
        statuses = [client.get(ME).status_code for _ in range(3)]
        refused = client.get(ME)

    assert statuses == [200, 200, 429]
    assert 0 < int(refused["Retry-After"]) <= 60


def test_while_redis_is_unreachable_throttles_count_in_the_process_and_warn_once(
    client_for, patient, monkeypatch, caplog
):
    monkeypatch.setattr(throttling.UserRateThrottle, "rate", "3/min")
    client = client_for(patient.user)

    with override_settings(CACHES=UNREACHABLE), caplog.at_level(logging.WARNING):
        statuses = [client.get(ME).status_code for _ in range(5)]

    assert statuses == [200, 200, 200, 429, 429]
    warnings = [r for r in caplog.records if r.name == "carecore.common.throttling"]
    assert len(warnings) == 1
    assert "Redis did not answer" in warnings[0].getMessage()


def test_counting_returns_to_redis_once_it_answers_again(client_for, patient, monkeypatch):
    monkeypatch.setattr(throttling, "FALLBACK_SECONDS", 0.0)
    monkeypatch.setattr(throttling.UserRateThrottle, "rate", "100/min")
    client = client_for(patient.user)
    with override_settings(CACHES=UNREACHABLE):
        assert client.get(ME).status_code == 200

    assert client.get(ME).status_code == 200

    assert any(key for key in cache._cache.get_client().keys("*throttle_user*"))  # type: ignore[attr-defined]


def test_server_rendered_pages_share_the_apis_auth_counts(anon, monkeypatch):
    monkeypatch.setattr(throttling.AuthRateThrottle, "rate", "2/min")
    body = {"email": "someone@example.test", "password": "guess"}
    assert anon.post("/api/v1/auth/login/", body, format="json").status_code == 400

    page_request = RequestFactory().post("/sign-in/", REMOTE_ADDR="127.0.0.1")
    allowed = [
        throttling.AuthRateThrottle().allow_request(page_request, APIView())  # type: ignore[arg-type]
        for _ in range(2)
    ]

    assert allowed == [True, False]


def _rest_framework() -> dict:
    from django.conf import settings

    return dict(settings.REST_FRAMEWORK)
