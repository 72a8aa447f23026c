"""OpenAPI generation (drf-spectacular), made to say what the API really answers.

- Lists answer `{"results": [...], "next": url|null, "previous": url|null}` and take `cursor`
  and `page_size` (carecore/common/pagination.py): every GET that returns many items is
  documented that way, whether or not its view declares a paginator.
- Every operation documents the errors it can answer, each in the one error shape
  (`{"error": {"code", "message", "fields"}}`) with an example: 400 when it takes input, 401
  and 403 when it needs a signed-in user, 404 when its path names something, 409 for writes,
  413 and 415 for bodies and 429 everywhere (throttles); a view lists any other it answers in
  `error_statuses` (the event list's 410).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from .pagination import CursorPagination

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class ErrorDetailOutput(serializers.Serializer):
    code = serializers.CharField(
        help_text="Stable, machine-readable: validation_error, not_authenticated, "
        "permission_denied, not_found, throttled, or a domain code such as slot_taken."
    )
    message = serializers.CharField(help_text="For people; may change.")
    # A declared field named `fields`: DRF takes it off the class, so it does not shadow
    # Serializer.fields at run time (the stubs see a class attribute).
    fields = serializers.DictField(  # type: ignore[assignment]
        help_text="Invalid fields, each with its messages (nested inputs nest); some domain "
        "errors name an id here instead (e.g. draft_id). Empty when no field is to blame."
    )


class ErrorOutput(serializers.Serializer):
    """The one error shape of the API."""

    error = ErrorDetailOutput()


# status: (description, example code, example message, example fields)
ERRORS: dict[int, tuple[str, str, str, dict[str, Any]]] = {
    400: (
        "The input is not valid; `fields` names every invalid field at once.",
        "validation_error",
        "Some fields are not valid.",
        {"visit_type": ['"foo" is not valid. Use one of: follow_up, new.']},
    ),
    401: (
        "No bearer token, or it expired or was revoked.",
        "not_authenticated",
        "Authentication credentials were not provided or are not valid.",
        {},
    ),
    403: (
        "The caller's role may not use this operation.",
        "permission_denied",
        "Your role does not give access to this endpoint.",
        {},
    ),
    404: (
        "Nothing with this id, or nothing the caller may see (the two look the same).",
        "not_found",
        "Not found.",
        {},
    ),
    406: (
        "The Accept header admits none of the types this operation answers (a file is sent in "
        "its own type: ask for it, a range holding it such as `image/*`, or `*/*`).",
        "not_acceptable",
        "This file is image/png: ask for it with Accept: image/png (or */*).",
        {},
    ),
    409: (
        "The request conflicts with the current state; `code` says how.",
        "conflict",
        "The request conflicts with the current state.",
        {},
    ),
    413: (
        "The body is over its size cap (a JSON body over 1 MiB by default, a file over the "
        "upload limit); the server stops reading it there (docs/security.md).",
        "payload_too_large",
        "The request body is too large: at most 1048576 bytes are accepted.",
        {},
    ),
    410: (
        "What was asked for is no longer kept (`events_pruned`: events after `after` were pruned,"
        " or `after` is beyond the latest); reload and continue from the latest sequence number.",
        "events_pruned",
        "Events after this sequence number are no longer kept; reload and continue from the "
        "latest sequence number.",
        {},
    ),
    415: (
        "The body is not in a media type this operation reads.",
        "unsupported_media_type",
        'Unsupported media type "text/plain" in request.',
        {},
    ),
    429: (
        "Too many requests (`throttled`), or sign-in locked out (`throttled` for this address, "
        "`account_locked` for the account); `Retry-After` says when to try again.",
        "throttled",
        "Too many requests. Try again later.",
        {},
    ),
}


class AutoSchema(SpectacularAutoSchema):
    def _get_serializer_name(self, serializer: Any, direction: str, *args: Any) -> str:
        """Name nested serializers after their view, so every view's `InputSerializer` gets its
        own component ("RegisterApiInput") instead of colliding with the others."""
        name = super()._get_serializer_name(serializer, direction, *args)
        qualname = type(serializer).__qualname__
        if "." in qualname and not getattr(
            getattr(serializer, "Meta", None), "component_name", None
        ):
            owner = qualname.split(".")[0]
            if not name.startswith(owner):
                name = f"{owner}{name}"
        return name

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        """Input serializers may say which sets of fields are required as alternatives
        (`schema_required_any_of`), e.g. a care-plan item: an `id`, or what a new one needs."""
        schema = super()._map_basic_serializer(serializer, direction)
        alternatives = getattr(serializer, "schema_required_any_of", None)
        if alternatives and direction == "request":
            schema["anyOf"] = [{"required": list(names)} for names in alternatives]
        return schema

    def _get_request_for_media_type(self, serializer: Any, direction: str = "request") -> Any:
        """A body of one of several kinds (a `PolymorphicProxySerializer`: an availability rule
        or time off) is required: it must at least say its kind. drf-spectacular requires a body
        only when its one serializer has required fields, and a oneOf has none of its own."""
        schema, required = super()._get_request_for_media_type(serializer, direction)
        if isinstance(force_instance(serializer), PolymorphicProxySerializer):
            required = True
        return schema, required

    def _get_paginator(self) -> Any:
        # Only asked for list responses; our views paginate by hand with CursorPagination.
        return super()._get_paginator() or CursorPagination()

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        for status in self._error_statuses(operation):
            operation["responses"].setdefault(str(status), self._error_response(status))
        return operation

    def _requires_sign_in(self) -> bool:
        return not any(isinstance(p, AllowAny) for p in self.view.get_permissions())

    def _error_statuses(self, operation: dict[str, Any]) -> list[int]:
        takes_query = any(p.get("in") == "query" for p in operation.get("parameters", []))
        statuses = [429]
        if takes_query or "requestBody" in operation:
            statuses.append(400)
        if self._requires_sign_in():
            statuses += [401, 403]
        names_something = "{" in self.path or takes_query or "requestBody" in operation
        if names_something and self._requires_sign_in():
            # An id in the path, a filter or the body that is unknown, or not the caller's
            # (the same 404), or an unknown list cursor.
            statuses.append(404)
        if self.method in UNSAFE_METHODS:
            statuses.append(409)
        if "requestBody" in operation:
            statuses += [413, 415]
        statuses += getattr(self.view, "error_statuses", ())
        return sorted(statuses)

    def _error_response(self, status: int) -> dict[str, Any]:
        description, code, message, fields = ERRORS[status]
        response = self._get_response_for_code(ErrorOutput(), str(status))
        body = response["content"]["application/json"]
        body["examples"] = {
            code: {"value": {"error": {"code": code, "message": message, "fields": fields}}}
        }
        # Errors are JSON whatever the operation's own media types (e.g. text/calendar).
        return {"description": description, "content": {"application/json": body}}
