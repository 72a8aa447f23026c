"""Request throttles (DRF's, backed by the Redis cache); rates come from environment variables."""

from __future__ import annotations

from typing import Any

from rest_framework import throttling


class AnonRateThrottle(throttling.AnonRateThrottle):
    scope = "anon"


class UserRateThrottle(throttling.UserRateThrottle):
    scope = "user"


class AuthRateThrottle(throttling.SimpleRateThrottle):
    """Login, registration and MFA enrolment: keyed on the client ip, whoever is signed in."""

    scope = "auth"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
