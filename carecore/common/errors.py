"""One error shape for every client-facing failure.

Domain code raises `ApplicationError` subclasses with a stable `code`; the DRF exception handler
and Django's 404/500 handlers below render everything as

    {"error": {"code": "...", "message": "...", "fields": {...}}}

No traceback, exception text or patient data ever reaches a client.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.csrf import csrf_failure as default_csrf_failure
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger("carecore.errors")


class ApplicationError(Exception):
    """A domain error with a stable, documented `code`; subclasses set code and status."""

    code: str = "application_error"
    status_code: int = status.HTTP_400_BAD_REQUEST
    default_message: str = "The request could not be completed."

    def __init__(self, message: str | None = None, *, fields: dict[str, Any] | None = None):
        self.message = message or self.default_message
        self.fields = fields or {}
        super().__init__(self.message)

    def after_rollback(self) -> None:
        """Work that must happen although the transaction this error left was rolled back
        (e.g. the audit event of a denied attempt). The exception handler calls it once the
        error has left every atomic block; other callers that catch the error call it too."""


class ValidationFailed(ApplicationError):
    code = "validation_error"
    default_message = "Some fields are not valid."


class NotFound(ApplicationError):
    """Missing and forbidden look the same, so ids cannot be probed."""

    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND
    default_message = "Not found."


class Forbidden(ApplicationError):
    code = "permission_denied"
    status_code = status.HTTP_403_FORBIDDEN
    default_message = "You do not have permission to do this."


class Conflict(ApplicationError):
    code = "conflict"
    status_code = status.HTTP_409_CONFLICT
    default_message = "The request conflicts with the current state."


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


# DRF's own exceptions, mapped onto the contract's codes.
_DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ValidationError: "validation_error",
    exceptions.ParseError: "validation_error",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}

_DEFAULT_MESSAGES = {
    "validation_error": "Some fields are not valid.",
    "not_authenticated": "Authentication credentials were not provided or are not valid.",
    "permission_denied": "You do not have permission to do this.",
    "not_found": "Not found.",
    "throttled": "Too many requests. Try again later.",
    "payload_too_large": "The request body is too large.",
}


def _flatten_fields(detail: Any) -> dict[str, Any]:
    """Turn DRF's nested ValidationError detail into {field: [messages]} (nested stays nested)."""
    if isinstance(detail, dict):
        return {key: _flatten_value(value) for key, value in detail.items()}
    return {"non_field_errors": _flatten_value(detail)}


def _flatten_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _flatten_value(inner) for key, inner in value.items()}
    if isinstance(value, list):
        if all(isinstance(item, str) for item in value):
            return [str(item) for item in value]
        return [_flatten_value(item) for item in value]
    return [str(value)]


def _drf_code(exc: exceptions.APIException) -> str:
    for exc_type, code in _DRF_CODES.items():
        if isinstance(exc, exc_type):
            return code
    return "error"


def _render_api_exception(exc: exceptions.APIException) -> Response:
    code = _drf_code(exc)
    fields: dict[str, Any] = {}
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten_fields(exc.detail)
        message = _DEFAULT_MESSAGES["validation_error"]
    elif isinstance(exc.detail, str | exceptions.ErrorDetail):
        message = str(exc.detail)
    else:
        message = _DEFAULT_MESSAGES.get(code, "The request could not be completed.")
    headers: dict[str, str] = {}
    if isinstance(exc, exceptions.Throttled):
        message = _DEFAULT_MESSAGES["throttled"]
        wait = getattr(exc, "wait", None)  # set by DRF; missing from the stubs
        if wait is not None:
            headers["Retry-After"] = str(max(1, int(wait + 0.999)))
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return Response(error_body(code, message, fields), status=exc.status_code, headers=headers)


def _too_large_message() -> str:
    cap = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if cap is None:
        return _DEFAULT_MESSAGES["payload_too_large"]
    return f"The request body is too large: at most {cap} bytes are accepted."


def log_unhandled(exc: BaseException) -> None:
    """Log where an unexpected error happened without its message (which may carry data)."""
    frames = traceback.format_tb(exc.__traceback__)
    logger.error(
        "unhandled %s.%s\n%s",
        type(exc).__module__,
        type(exc).__qualname__,
        "".join(frames),
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every error leaves as the contract's shape."""
    if isinstance(exc, ApplicationError):
        exc.after_rollback()
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        # DATA_UPLOAD_MAX_MEMORY_SIZE, checked by request.body (which DRF parses JSON from) and
        # by the multipart parser for form fields, before the body is read.
        return Response(
            error_body("payload_too_large", _too_large_message()),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, TooManyFilesSent | TooManyFieldsSent):
        # DATA_UPLOAD_MAX_NUMBER_FILES / _FIELDS, checked by Django's parsers while reading.
        return Response(
            error_body("validation_error", "The request has too many files or fields."),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.APIException):
        return _render_api_exception(exc)
    log_unhandled(exc)
    return Response(
        error_body("internal_error", "Something went wrong on our side. It has been logged."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


# --- Django's own handlers (URLs outside DRF, e.g. an unknown path under /api/) -----------------


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/fhir/"))


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not _is_api(request) and exception is not None:
        return defaults.page_not_found(request, exception)  # the admin's own HTML page
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not _is_api(request) and exception is not None:
        # A staff member on an admin page their group does not cover: Django's HTML page.
        return defaults.permission_denied(request, exception)
    return JsonResponse(
        error_body("permission_denied", _DEFAULT_MESSAGES["permission_denied"]), status=403
    )


def handler400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    if isinstance(exception, RequestDataTooBig):
        # A body over its cap outside DRF (Django answers SuspiciousOperation through here).
        if isinstance(exception, ApplicationError):
            body = error_body(exception.code, exception.message, exception.fields)
        else:
            body = error_body("payload_too_large", _too_large_message())
        return JsonResponse(body, status=413)
    return JsonResponse(
        error_body("bad_request", "The request could not be understood."), status=400
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW. Under /api/ (a session-authenticated write without a CSRF token; API
    clients use bearer tokens and never meet it) in the contract's shape; elsewhere (the admin)
    Django's own page."""
    if not request.path.startswith("/api/"):
        return default_csrf_failure(request, reason)
    return JsonResponse(
        error_body("permission_denied", "CSRF check failed; send a bearer token instead."),
        status=403,
    )


def handler500(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        error_body("internal_error", "Something went wrong on our side. It has been logged."),
        status=500,
    )
