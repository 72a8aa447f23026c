"""What every workspace page shares (docs/web-portal.md, "Care-team workspace").

- `care_team_page`: signed in (else to the workspace's sign-in page, coming back afterwards), a
  clinician or coordinator (schedulers, patients and admins get the workspace's 403 page: a
  scheduler never sees message bodies, a patient has the portal, the admin the Django admin),
  and a domain 404 (a thread of another team's patient, or none at all) rendered as a 404 page
  after its audit event is made to outlive the rollback. Access itself stays with the services
  and selectors: this only keeps each role on its own pages.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from carecore.accounts.models import CARE_TEAM_ROLES, User
from carecore.common.errors import NotFound

View = TypeVar("View", bound=Callable[..., HttpResponse])


def staff_user(request: HttpRequest) -> User:
    """The request's user, behind `care_team_page` always a signed-in clinician or coordinator."""
    return cast(User, request.user)


def refused(request: HttpRequest) -> HttpResponse:
    return render(request, "staff_web/refused.html", status=403)


def care_team_page(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(
                request.get_full_path(), login_url=reverse("staff_web:sign-in")
            )
        if user.role not in CARE_TEAM_ROLES:
            return refused(request)
        with timezone.override(user.zone):
            try:
                return view(request, *args, **kwargs)
            except NotFound as error:
                error.after_rollback()
                raise Http404 from None

    return cast(View, wrapped)
