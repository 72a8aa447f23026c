"""The one guard every server-rendered page stands behind (patient_web, staff_web).

Signed in (else to the pages' sign-in, coming back afterwards), one of the roles the pages are
for (anyone else gets the pages' 403 template), the user's own time zone active for the request,
and a domain 404 (someone else's record, or none at all) rendered as the site's 404 page after
its audit event is made to outlive the rollback. Access itself stays with the services and
selectors: this only keeps each role on its own pages.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render, resolve_url
from django.utils import timezone

from carecore.common.errors import NotFound

View = TypeVar("View", bound=Callable[..., HttpResponse])


def role_page(
    *, roles: Collection[str], refused_template: str, login_url: str | None = None
) -> Callable[[View], View]:
    """A decorator for the pages of `roles`; `login_url` (a URL name or path) defaults to
    settings.LOGIN_URL."""

    def guard(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(
                    request.get_full_path(),
                    login_url=resolve_url(login_url) if login_url else None,
                )
            if user.role not in roles:
                return render(request, refused_template, status=403)
            with timezone.override(user.zone):
                try:
                    return view(request, *args, **kwargs)
                except NotFound as error:
                    error.after_rollback()
                    raise Http404 from None

        return cast(View, wrapped)

    return guard
