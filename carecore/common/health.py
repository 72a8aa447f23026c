"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: it can serve).

Only the database decides readiness. Redis (cache, throttle counts, real-time fan-out) and the
broker (Celery) down make a process *degraded*, not unready: requests still succeed (throttles
count in-process, lockout and the notification outbox live in PostgreSQL, events are replayed
from the database), and taking every web process out of the load balancer because a shared
dependency is down would turn a partial outage into a total one. docs/security.md, "Redis
outage".
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis() -> None:
    cache.set("carecore:readyz", "1", timeout=5)
    if cache.get("carecore:readyz") != "1":
        raise RuntimeError("cache round trip failed")


def _check_broker() -> None:
    from carecore.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


# name -> (check, what its failure makes the process)
_CHECKS = {
    "database": (_check_database, "unavailable"),
    "redis": (_check_redis, "degraded"),
    "broker": (_check_broker, "degraded"),
}


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """200 `ok`; 200 `degraded` when only Redis or the broker fails; 503 `unavailable` when
    the database does. `checks` names each component's state."""
    results: dict[str, str] = {}
    for name, (check, failed_state) in _CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as error:  # the reason is for our logs, not for the public
            results[name] = failed_state
            logger.warning("readiness: %s is %s (%s)", name, failed_state, type(error).__name__)
    if "unavailable" in results.values():
        state = "unavailable"
    elif "degraded" in results.values():
        state = "degraded"
    else:
        state = "ok"
    return JsonResponse(
        {"status": state, "checks": results}, status=503 if state == "unavailable" else 200
    )
