"""What every patient page shares: who may open it, in which time zone, and how errors show.

- `patient_page`: signed in (else to the sign-in page, coming back afterwards), a patient (staff
  and admins get a 403 page: the care team works elsewhere), the patient's own time zone active
  for the request, and a domain 404 (someone else's thread or visit, or none at all) rendered
  as the portal's 404 page after its audit event is made to outlive the rollback.
- `auth_throttled`: sign-in, sign-up and password reset share the API's per-ip throttle (the
  same cache keys, so the two front doors count together).
- `user_throttle_wait`: every signed-in page request takes the API's per-user throttle (one
  budget per user, whichever door: patient_web/middleware.py); `throttle_exempt` marks the one
  view that never does (signing out).
- `too_many`: the pages' 429 page, with `Retry-After`.
- `sign_in_attempt` and `local_next_url`: the POST of a sign-in page and where it goes after,
  shared by the portal's and the workspace's sign-in pages (staff_web/pages.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from rest_framework.views import APIView

from carecore.accounts import services as account_services
from carecore.accounts.models import Role, User
from carecore.accounts.page_guards import role_page
from carecore.accounts.services import OtpRequired
from carecore.common.errors import ApplicationError
from carecore.common.throttling import AuthRateThrottle, UserRateThrottle

View = TypeVar("View", bound=Callable[..., HttpResponse])


def signed_in(request: HttpRequest) -> User:
    """The request's user, behind `patient_page` always our signed-in `User`."""
    return cast(User, request.user)


patient_page = role_page(roles={Role.PATIENT}, refused_template="patient_web/refused.html")


class _ThrottleView(APIView):
    """DRF's throttles ask the view for nothing but its existence."""


def auth_throttled(request: HttpRequest) -> bool:
    """True when this client ip has used up the sign-in/sign-up rate (counted with the API's)."""
    return not AuthRateThrottle().allow_request(request, _ThrottleView())  # type: ignore[arg-type]


def user_throttle_wait(request: HttpRequest) -> int | None:
    """For a signed-in request: None while the user's budget has room (and this request is
    counted against it), else the whole seconds until it has room again. The API's `user`
    throttle and its cache keys, so pages and API share one budget; one Redis round trip."""
    throttle = UserRateThrottle()
    if throttle.allow_request(request, _ThrottleView()):  # type: ignore[arg-type]
        return None
    return max(1, math.ceil(throttle.wait() or 0))


def throttle_exempt(view: View) -> View:
    """Mark a page the per-user budget never refuses (patient_web/middleware.py)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return view(request, *args, **kwargs)

    wrapped.throttle_exempt = True  # type: ignore[attr-defined]
    return cast(View, wrapped)


def too_many(
    request: HttpRequest, *, retry_after: int = 60, per_user: bool = False
) -> HttpResponse:
    """The 429 page: too many sign-in attempts from one place, or (`per_user`) too many requests
    of one signed-in user; `Retry-After` says when to try again."""
    response = render(
        request,
        "patient_web/too_many.html",
        {"per_user": per_user, "retry_after": retry_after},
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


def form_errors(form: Any, error: ApplicationError) -> None:
    """Put a service's field errors next to the form's fields (the rest above the form)."""
    for field, messages in error.fields.items():
        for message in messages if isinstance(messages, list) else [messages]:
            form.add_error(field if field in form.fields else None, str(message))
    if not error.fields:
        form.add_error(None, error.message)


@dataclass(frozen=True)
class SignInAttempt:
    """How a sign-in POST went: signed in as `user`, or answered with `refused` (too many
    attempts), or neither (the form carries the errors; `needs_code`: ask for the MFA code)."""

    user: User | None = None
    refused: HttpResponse | None = None
    needs_code: bool = False


def sign_in_attempt(request: HttpRequest, form: Any) -> SignInAttempt:
    """A sign-in page's POST: the per-ip throttle, then the one sign-in service (lockout, MFA
    rule, audit) with the form's email, password and code; its refusal goes on the form."""
    if auth_throttled(request):
        return SignInAttempt(refused=too_many(request))
    if not form.is_valid():
        return SignInAttempt()
    try:
        user = account_services.auth_session_login(
            request=request,
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password"],
            otp=form.cleaned_data["otp"] or None,
        )
    except ApplicationError as error:
        error.after_rollback()
        if error.status_code == 429:
            return SignInAttempt(refused=too_many(request))
        form_errors(form, error)
        return SignInAttempt(needs_code=isinstance(error, OtpRequired))
    return SignInAttempt(user=user)


def local_next_url(request: HttpRequest, default: str) -> str:
    """The `next` the request asks for when it is a URL of this site, else `default`."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return default
