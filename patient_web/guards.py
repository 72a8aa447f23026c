"""What every patient page shares: who may open it, in which time zone, and how errors show.

- `patient_page`: signed in (else to the sign-in page, coming back afterwards), a patient (staff
  and admins get a 403 page: the care team works elsewhere), the patient's own time zone active
  for the request, and a domain 404 (someone else's thread or visit, or none at all) rendered
  as the portal's 404 page after its audit event is made to outlive the rollback.
- `auth_throttled`: sign-in, sign-up and password reset share the API's per-ip throttle (the
  same cache keys, so the two front doors count together).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from rest_framework.views import APIView

from carecore.accounts.models import Role, User
from carecore.common.errors import ApplicationError, NotFound
from carecore.common.throttling import AuthRateThrottle

View = TypeVar("View", bound=Callable[..., HttpResponse])


def signed_in(request: HttpRequest) -> User:
    """The request's user, behind `patient_page` always our signed-in `User`."""
    return cast(User, request.user)


def refused(request: HttpRequest) -> HttpResponse:
    return render(request, "patient_web/refused.html", status=403)


def patient_page(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if user.role != Role.PATIENT:
            return refused(request)
        with timezone.override(user.zone):
            try:
                return view(request, *args, **kwargs)
            except NotFound as error:
                error.after_rollback()
                raise Http404 from None

    return cast(View, wrapped)


class _ThrottleView(APIView):
    """DRF's throttles ask the view for nothing but its existence."""


def auth_throttled(request: HttpRequest) -> bool:
    """True when this client ip has used up the sign-in/sign-up rate (counted with the API's)."""
    return not AuthRateThrottle().allow_request(request, _ThrottleView())  # type: ignore[arg-type]


def too_many(request: HttpRequest) -> HttpResponse:
    response = render(request, "patient_web/too_many.html", status=429)
    response["Retry-After"] = "60"
    return response


def form_errors(form: Any, error: ApplicationError) -> None:
    """Put a service's field errors next to the form's fields (the rest above the form)."""
    for field, messages in error.fields.items():
        for message in messages if isinstance(messages, list) else [messages]:
            form.add_error(field if field in form.fields else None, str(message))
    if not error.fields:
        form.add_error(None, error.message)
