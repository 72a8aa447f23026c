"""Middleware that gives every request an id and remembers the client ip for the audit trail."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from . import request_context

# A request id set by our own proxy is kept if it looks like one; anything else is replaced.
_REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def _trusted_proxy_in_front() -> bool:
    # Only behind a proxy we run (CARECORE_PROXY_COUNT > 0) is X-Request-ID ours and not the
    # client's: a client must not choose the id its requests are audited under.
    return bool(getattr(settings, "AXES_IPWARE_PROXY_COUNT", 0))


def client_ip(request: HttpRequest) -> str | None:
    """The client's ip: REMOTE_ADDR, or the n-th address from the right behind n trusted proxies."""
    proxies = getattr(settings, "AXES_IPWARE_PROXY_COUNT", 0) or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "") if _trusted_proxy_in_front() else ""
        request_id = incoming if _REQUEST_ID_PATTERN.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_context.activate(
            request_context.RequestContext(request_id=request_id, ip=client_ip(request))
        )
        try:
            response = self.get_response(request)
        finally:
            request_context.deactivate(token)
        response["X-Request-ID"] = request_id
        return response
