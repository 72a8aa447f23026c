"""Django's messages middleware (the portal's and the admin's one-time notices), with a request's
message storage made only when something uses it.

Django makes the storage for every request (a fallback storage of a signed cookie and the
session, its signer included: about 35 microseconds) and asks it after the answer whether
anything was read or added. An API request never uses it, nor does most of the portal: made
lazily, an unused storage is never made, and there is then nothing to store either (Django's
`update` stores only messages read or added).
"""

from __future__ import annotations

from functools import partial

from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty


class MessageStorageOnFirstUse(SimpleLazyObject):
    """A request's message storage, made (`default_storage`) when first used."""


class LazyMessageMiddleware(MessageMiddleware):
    """`MessageMiddleware` with the storage made on first use (module docstring)."""

    def process_request(self, request: HttpRequest) -> None:
        request._messages = MessageStorageOnFirstUse(  # type: ignore[attr-defined]
            partial(default_storage, request)
        )

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if _never_used(getattr(request, "_messages", None)):
            return response
        return super().process_response(request, response)


def _never_used(storage: object) -> bool:
    return isinstance(storage, MessageStorageOnFirstUse) and storage._wrapped is empty
