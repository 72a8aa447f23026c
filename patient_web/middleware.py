"""The per-user request budget on every signed-in page (docs/web-portal.md, "Throttling").

The API throttles each request in DRF (carecore/common/throttling.py: `user` per signed-in user,
`anon` per ip). Pages are not DRF views, so this middleware gives every signed-in request to a
page (the portal, the care-team workspace, their htmx and script fragments, and the Django
admin) the same `user` throttle with the same cache keys: one budget per user, whichever door a
request comes through. Over it, the pages' 429 page with `Retry-After`.

Not counted here: DRF views (they count themselves, so an API request is never counted twice),
requests without a signed-in user (the sign-in, sign-up and reset pages keep their per-ip `auth`
throttle), and views marked `throttle_exempt` (signing out must always work).

After SessionIdleTimeoutMiddleware, which has already loaded the session's user: no query here,
one Redis round trip per counted request. After CsrfViewMiddleware too: a forged POST is refused
before it can use up someone's budget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from rest_framework.views import APIView

from .guards import too_many, user_throttle_wait


def _throttled_by_drf(view_func: Callable[..., Any]) -> bool:
    """DRF's views (`APIView.as_view()` and `@api_view` set `cls`) run their own throttles."""
    view_class = getattr(view_func, "cls", None)
    return isinstance(view_class, type) and issubclass(view_class, APIView)


class SignedInThrottleMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponse | None:
        if getattr(view_func, "throttle_exempt", False) or _throttled_by_drf(view_func):
            return None
        # Without a session nobody is signed in; with one, its user is already loaded.
        if request.session.session_key is None or not request.user.is_authenticated:
            return None
        wait = user_throttle_wait(request)
        if wait is None:
            return None
        return too_many(request, retry_after=wait, per_user=True)
