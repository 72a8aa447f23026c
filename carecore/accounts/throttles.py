"""Sign-up throttles (docs/security.md, "Sign-up enumeration"), on the project's throttle
mechanism (carecore/common/throttling.py): per client like the other auth throttles, and per
target address whoever asks, so neither many addresses from one client nor one address from
many clients gets far. Rates: the `signup` and `signup_address` scopes in settings."""

from __future__ import annotations

import hashlib
from typing import Any

from django.http import HttpRequest
from rest_framework.views import APIView

from carecore.common.throttling import AuthRateThrottle


class SignUpRateThrottle(AuthRateThrottle):
    """Sign-ups per client (ip), on top of the shared `auth` rate."""

    scope = "signup"


class SignUpAddressThrottle(AuthRateThrottle):
    """Sign-ups per target e-mail address (normalised as sign-up stores it), from any client."""

    scope = "signup_address"

    # DRF's contract: None means "do not throttle this request" (the base class never needs it).
    def get_cache_key(self, request: Any, view: Any) -> str | None:
        # DRF's parsed body; a web form's POST for the portal's sign-up page.
        data = request.data if hasattr(request, "data") else request.POST
        email = data.get("email") if isinstance(data, dict) else None
        if not isinstance(email, str) or not email.strip():
            return None  # no address: the serializer refuses the request
        # A digest, so the cache holds no address.
        ident = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


class _ThrottleView(APIView):
    """DRF's throttles ask the view for nothing but its existence."""


def sign_up_throttled(request: HttpRequest) -> bool:
    """For sign-up outside DRF (the portal's page): True when either sign-up throttle refuses.
    The same cache keys as the API's, so the two front doors count together."""
    view = _ThrottleView()
    allowed = [
        throttle().allow_request(request, view)  # type: ignore[arg-type]
        for throttle in (SignUpRateThrottle, SignUpAddressThrottle)
    ]
    return not all(allowed)
