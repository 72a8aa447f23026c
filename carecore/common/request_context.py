"""Per-request facts (request id, client ip) that audit events and log lines carry.

Set by `RequestContextMiddleware`; context variables so they also work under ASGI.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str = "-"
    ip: str | None = None


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "carecore_request_context",
    default=RequestContext(),  # noqa: B039 (a frozen dataclass is immutable)
)


def current() -> RequestContext:
    return _current.get()


def activate(context: RequestContext) -> contextvars.Token[RequestContext]:
    return _current.set(context)


def deactivate(token: contextvars.Token[RequestContext]) -> None:
    _current.reset(token)
