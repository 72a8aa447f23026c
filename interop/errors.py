"""Errors under /fhir/ leave as OperationOutcome resources, never the REST error shape."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from carecore.common.errors import ApplicationError, log_unhandled


class FhirBadRequest(ApplicationError):
    code = "invalid"
    status_code = status.HTTP_400_BAD_REQUEST
    default_message = "The request is not valid."


# Our error codes (and DRF's), mapped onto FHIR's IssueType codes.
_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    415: "not-supported",
    429: "throttled",
    500: "exception",
}
_MESSAGES = {
    401: "Authentication credentials were not provided or are not valid.",
    403: "You do not have permission to do this.",
    404: "Not found.",
    405: "This FHIR server is read-only: only GET is supported here.",
    429: "Too many requests. Try again later.",
    500: "Something went wrong on our side. It has been logged.",
}


def operation_outcome(status_code: int, message: str, *, severity: str = "error") -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": severity,
                "code": _ISSUE_CODES.get(status_code, "processing"),
                "diagnostics": message,
            }
        ],
    }


def outcome_response(
    status_code: int, message: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    text = message or _MESSAGES.get(status_code, "The request could not be completed.")
    return Response(operation_outcome(status_code, text), status=status_code, headers=headers)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Like carecore.common.errors.exception_handler, in FHIR's shape. No traceback, exception
    text or patient data reaches the client."""
    if isinstance(exc, ApplicationError):
        return outcome_response(exc.status_code, exc.message)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, exceptions.APIException):
        headers: dict[str, str] = {}
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            headers["WWW-Authenticate"] = 'Bearer realm="fhir"'
        wait = getattr(exc, "wait", None)
        if isinstance(exc, exceptions.Throttled) and wait is not None:
            headers["Retry-After"] = str(max(1, int(wait + 0.999)))
        status_code = exc.status_code
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            status_code = status.HTTP_401_UNAUTHORIZED
        return outcome_response(status_code, None, headers)
    log_unhandled(exc)
    return outcome_response(500)
