"""Read replicas: what tolerates lag reads a replica; what must see a fresh write reads the primary.

Built on django-multidb-router's pinning router (docs/scaling.md, "Read replicas"). A read goes
to the primary when
- this thread is pinned: a request with an unsafe method (it writes), a client that wrote within
  the pinning window (a cookie for browsers, the bearer token for API clients: see
  `ReplicaPinningMiddleware`), or a Celery task (pinned for its whole run, so on-commit hooks and
  deliveries see what the request committed);
- it runs inside a transaction on the primary: access checks that guard a write happen in the
  service's transaction, and must not see a replica's older state;
- it reads authentication state (tokens, sessions, lockout, OTP devices), which a client uses
  the moment after a login committed it;
- no replica is healthy: each replica's replay lag is checked every few seconds, and one that
  lags more than `CARECORE_REPLICA_MAX_LAG_SECONDS` (or does not answer) is taken out until it
  catches up.
Everything else (lists, timelines, FHIR searches) may read a replica, round-robin.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from multidb import PinningReplicaRouter
from multidb.middleware import READ_ONLY_METHODS, PinningRouterMiddleware
from multidb.pinning import pin_this_thread, this_thread_is_pinned, unpin_this_thread

logger = logging.getLogger(__name__)

# Authentication state is written by a login and read by the very next request.
PRIMARY_ONLY_APPS = frozenset({"knox", "sessions", "axes", "otp_totp", "django_otp"})

# Replay lag in seconds; 0 when the replica has replayed everything it received. (An idle
# primary sends nothing, so "time since the last replayed transaction" alone would call a
# caught-up replica lagging.)
LAG_SQL = """
    SELECT CASE
        WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
        ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
    END
"""


class ReplicaHealth:
    """Per process: which replicas are usable now, re-checked every few seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checked_at: dict[str, float] = {}
        self._usable: dict[str, bool] = {}
        self._order: Iterator[str] | None = None

    def usable_replica(self) -> str | None:
        replicas = list(getattr(settings, "REPLICA_DATABASES", []))
        if not replicas:
            return None
        if self._order is None:
            self._order = itertools.cycle(replicas)
        for _ in replicas:
            alias = next(self._order)
            if self.is_usable(alias):
                return alias
        return None

    def is_usable(self, alias: str) -> bool:
        now = time.monotonic()
        with self._lock:
            fresh = now - self._checked_at.get(alias, float("-inf"))
            if fresh < settings.CARECORE_REPLICA_LAG_CHECK_SECONDS:
                return self._usable[alias]
            self._checked_at[alias] = now
        usable = self._measure(alias)
        with self._lock:
            self._usable[alias] = usable
        return usable

    def _measure(self, alias: str) -> bool:
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute(LAG_SQL)
                (lag,) = cursor.fetchone()
        except Exception as error:  # any failure: the replica is out until the next check
            logger.warning("replica %s is out: %s", alias, type(error).__name__)
            return False
        if float(lag) > settings.CARECORE_REPLICA_MAX_LAG_SECONDS:
            logger.warning("replica %s is out: %.1f s behind the primary", alias, float(lag))
            return False
        return True


replica_health = ReplicaHealth()


class PrimaryWhenItMattersRouter(PinningReplicaRouter):
    """multidb's pinning router, plus the cases above that must read the primary."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        if this_thread_is_pinned():
            return DEFAULT_DB_ALIAS
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        if model._meta.app_label in PRIMARY_ONLY_APPS:
            return DEFAULT_DB_ALIAS
        return replica_health.usable_replica() or DEFAULT_DB_ALIAS


def _token_pin_key(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    # A digest: the token itself never becomes a cache key.
    return "replica-pin:" + hashlib.sha256(header[7:].encode()).hexdigest()


class ReplicaPinningMiddleware(PinningRouterMiddleware):
    """Pins a client to the primary for `MULTIDB_PINNING_SECONDS` after it wrote.

    multidb's middleware does it with a cookie, which API clients do not send back; for them the
    bearer token's digest is remembered in the shared cache instead, so the window holds across
    every web process. If the cache cannot answer, the request reads the primary (fresh beats
    fast).
    """

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        key = _token_pin_key(request)
        if this_thread_is_pinned() or key is None:
            return
        try:
            recently_wrote = cache.get(key) is not None
        except Exception:
            recently_wrote = True
        if recently_wrote:
            pin_this_thread()

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        response = super().process_response(request, response)
        key = _token_pin_key(request)
        if key is not None and request.method not in READ_ONLY_METHODS:
            try:
                cache.set(key, 1, timeout=settings.MULTIDB_PINNING_SECONDS)
            except Exception:
                logger.warning("replica pin not remembered: cache unavailable")
        unpin_this_thread()  # the next request on this thread starts unpinned
        return response
