"""Request throttles: fixed windows counted in Redis in one round trip, or in this process while
Redis does not answer. Rates come from environment variables (REST_FRAMEWORK's
DEFAULT_THROTTLE_RATES, read on each request).

Each throttle counts hits per (scope, identity, window) with one Lua call (INCR, and PEXPIRE on
the first hit), so a request costs one Redis round trip whatever its throttle, and concurrent
requests cannot lose counts (DRF's SimpleRateThrottle reads a list of timestamps and writes it
back: two round trips and a race). A fixed window lets a client send up to twice the rate across
a window boundary; for these limits (abuse brakes, not quotas) that is fine.

If Redis fails, counting moves into this process for `FALLBACK_SECONDS` (then Redis is tried
again) and a warning is logged: no request fails because the throttle store is down, and each
web process still brakes abuse on its own (docs/security.md, "Redis outage").

Identities: the client ip as carecore/common/client_identity.py resolves it (never a header the
client chose), or the user for signed-in requests.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from redis.commands.core import Script
from rest_framework import throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings

from .client_identity import client_ip
from .shared_cache import shared_cache

logger = logging.getLogger(__name__)

# Seconds to count in-process after Redis failed, before asking it again.
FALLBACK_SECONDS = 5.0
# Repeat the "Redis is down" warning at most this often per process.
WARN_EVERY_SECONDS = 60.0
# Keys a process keeps while counting on its own (expired windows are dropped first).
MAX_LOCAL_KEYS = 100_000

_INCREMENT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return count
"""

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """`"20/min"` -> (20 requests, 60 seconds); the period's first letter counts, as in DRF."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0]]


class WindowCounter:
    """Hits per key in fixed windows: in the default cache's Redis, else in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local: dict[str, tuple[float, int]] = {}  # key -> (expires at, count)
        self._shared_down_until = 0.0
        self._warned_at = -WARN_EVERY_SECONDS
        self._script: Script | None = None
        self._cache: BaseCache | None = None

    def hit(self, key: str, *, window_seconds: int) -> int:
        """Count one hit on `key` (already unique to its window); return the window's total."""
        if time.monotonic() >= self._shared_down_until:
            try:
                count = self._hit_shared(key, window_seconds)
            except Exception as error:  # any failure of the store: count here instead
                self._shared_failed(error)
            else:
                if self._shared_down_until:
                    self._shared_down_until = 0.0
                    logger.info("Throttle counting is back in Redis.")
                return count
        return self._hit_local(key, window_seconds)

    def _hit_shared(self, key: str, window_seconds: int) -> int:
        cache = self._shared_cache()
        if not isinstance(cache, RedisCache):  # another backend: two calls, still atomic
            cache.add(key, 0, timeout=window_seconds)
            return int(cache.incr(key))
        full_key = cache.make_and_validate_key(key)
        client = cache._cache.get_client(full_key, write=True)
        if self._script is None:
            self._script = Script(client, _INCREMENT)
        # EVALSHA; the script is loaded again (one more trip) only after a Redis restart.
        return int(self._script(keys=[full_key], args=[window_seconds * 1000], client=client))

    def _shared_cache(self) -> BaseCache:
        """The default cache's backend, one per process (shared_cache.py); the script is
        registered again when that backend is new (a fork, changed settings)."""
        cache = shared_cache()
        if cache is not self._cache:
            self._cache = cache
            self._script = None
        return cache

    def _shared_failed(self, error: Exception) -> None:
        now = time.monotonic()
        self._shared_down_until = now + FALLBACK_SECONDS
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            # The class only: a message could carry a URL with a password in it.
            logger.warning(
                "Redis did not answer the throttle (%s): each web process counts on its own "
                "until it does.",
                type(error).__name__,
            )

    def _hit_local(self, key: str, window_seconds: int) -> int:
        now = time.monotonic()
        with self._lock:
            expires_at, count = self._local.get(key, (now + window_seconds, 0))
            if expires_at <= now:
                expires_at, count = now + window_seconds, 0
            self._local[key] = (expires_at, count + 1)
            if len(self._local) > MAX_LOCAL_KEYS:
                self._prune(now)
            return count + 1

    def _prune(self, now: float) -> None:
        self._local = {key: entry for key, entry in self._local.items() if entry[0] > now}
        if len(self._local) > MAX_LOCAL_KEYS:  # a flood of distinct clients: keep the newest
            newest = sorted(self._local.items(), key=lambda item: item[1][0])[-MAX_LOCAL_KEYS:]
            self._local = dict(newest)

    def reset_local(self) -> None:
        """Forget in-process counts and Redis's state (tests; a process start)."""
        with self._lock:
            self._local.clear()
        self._shared_down_until = 0.0
        self._warned_at = -WARN_EVERY_SECONDS


counter = WindowCounter()


class WindowRateThrottle(throttling.BaseThrottle):
    """A fixed-window limit of `scope`'s rate per identity; subclasses say whose identity."""

    scope = ""
    # A fixed rate for this class; None: the scope's rate from DEFAULT_THROTTLE_RATES.
    rate: str | None = None
    cache_format = "throttle_%(scope)s_%(ident)s"

    def __init__(self) -> None:
        self._wait: float | None = None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        """Whom this request counts against (as DRF's SimpleRateThrottle names it, so its
        subclasses carry over); None: this throttle does not apply to the request."""
        raise NotImplementedError

    def get_ident(self, request: Request | HttpRequest) -> str:
        # A DRF Request, or Django's own (server-rendered pages share the API's counts).
        return client_ip(getattr(request, "_request", request)) or "unknown"

    def key(self, ident: str) -> str:
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: Any) -> bool:
        rate = self.rate or api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        if rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        limit, period = parse_rate(str(rate))
        now = time.time()
        window = int(now // period)
        count = counter.hit(f"{key}:{window}", window_seconds=period)
        if count <= limit:
            return True
        self._wait = (window + 1) * period - now
        return False

    def wait(self) -> float | None:
        return self._wait


class AnonRateThrottle(WindowRateThrottle):
    """Requests without a signed-in user, per client ip."""

    scope = "anon"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.key(self.get_ident(request))


class UserRateThrottle(WindowRateThrottle):
    """Requests of a signed-in user, per user (anonymous ones are AnonRateThrottle's)."""

    scope = "user"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.user and request.user.is_authenticated:
            return self.key(str(request.user.pk))
        return None


class AuthRateThrottle(WindowRateThrottle):
    """Login, registration and MFA enrolment: keyed on the client ip, whoever is signed in."""

    scope = "auth"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.key(self.get_ident(request))
