"""Django's WSGI handler, letting go of each request's objects once its answer is closed.

A request's objects point at each other in loops: Django's request holds the stand-in for its
messages storage (carecore/common/flash_messages.py) and its lazy `auser`
(AuthenticationMiddleware, django-otp), which both hold the request; DRF's
request holds its view through its parser context, the view holds the request and the answer,
and the answer's renderer context holds all three. Reference counting never frees a loop, so
every request's graph, about 150 objects with the request's headers and everything hung on it,
waited for Python's cyclic garbage collector. Most of it had lived through a young collection
by then (the request was still in flight), so it was collected by the middle generation's, the
slower ones that stop every thread of the process: over a load run of the page and the inbox
they took 4.3-5.3 s of each web process's time, 174-241 of them longer than 10 ms; 0.6-1.0 s and
12-20 with this handler (docs/benchmarks.md, "requests freed by reference counting").

Once the answer is closed (after its last byte, `request.close()` and the streaming's end),
`release_request` empties the request's, DRF's request's and the view's attributes and drops the
answer's renderer context, so the loops are cut and reference counting frees the graph at once.
Nothing reads them later: Django's `request_finished` receivers get no request.

A validated input serializer lets go of its bound fields, which point back at it
(`AllErrorsSerializer.is_valid`, carecore/common/fields.py): about 60 objects for the inbox's
filters. What still loops, smaller or rarer: a list field and its child, a user and their
patient profile once both were read (Django caches each on the other), a closure of Django's SQL
compiler, and a rendered template's context (each `ContextDict` holds its context), which on a
page holds the context's values and the emptied request.
"""

from __future__ import annotations

from functools import partial

import django
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponseBase


def release_request(request: HttpRequest, response: HttpResponseBase) -> None:
    """Cut the reference loops of a finished request (see the module's docstring)."""
    renderer_context = vars(response).pop("renderer_context", None) or {}  # DRF's answers only
    for held in (renderer_context.get("view"), renderer_context.get("request"), request):
        if held is not None:
            vars(held).clear()


class ReleasingWSGIHandler(WSGIHandler):
    """Django's WSGI handler; each answer's closing releases its request (`release_request`)."""

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        response = super().get_response(request)
        # `close()` calls these in order after the last byte, then forgets them: Django's own
        # closer (`request.close()`, uploaded files) is already in the list and runs first.
        # (Not in django-stubs: Django's handler appends to the same list.)
        closers = response._resource_closers  # type: ignore[attr-defined]
        closers.append(partial(release_request, request, response))
        return response


def get_wsgi_application() -> ReleasingWSGIHandler:
    """`django.core.wsgi.get_wsgi_application`, with the releasing handler."""
    django.setup(set_prefix=False)
    return ReleasingWSGIHandler()
