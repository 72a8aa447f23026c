"""Middleware that gives every request an id and remembers the client ip for the audit trail
(as carecore/common/client_identity.py resolves it behind our proxies)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from . import request_context
from .client_identity import client_ip, peer_is_trusted_proxy

__all__ = ["RequestContextMiddleware", "client_ip"]

# A request id set by our own proxy is kept if it looks like one; anything else is replaced.
_REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Only a proxy we run (CARECORE_TRUSTED_PROXIES) may name the request: a client must not
        # choose the id its requests are audited under.
        incoming = (
            request.META.get("HTTP_X_REQUEST_ID", "") if peer_is_trusted_proxy(request) else ""
        )
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
