"""What a locked-out login attempt gets back (django-axes' AXES_LOCKOUT_CALLABLE).

The contract's 429 `throttled` with `Retry-After`, for the API and the admin login alike.
"""

from __future__ import annotations

from typing import Any

from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponse, JsonResponse

from carecore.common.errors import error_body

MESSAGE = "Too many failed sign-in attempts. Try again later."


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    cool_off = get_cool_off(request)
    retry_after = str(int(cool_off.total_seconds())) if cool_off else "900"
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(error_body("throttled", MESSAGE), status=429)
    else:
        response = HttpResponse(MESSAGE, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = retry_after
    return response
