"""Failed-login lockout, in PostgreSQL (django-axes' database handler), at two levels.

1. An (account, client ip) pair is locked after `AXES_FAILURE_LIMIT` failures
   (CARECORE_LOGIN_FAILURE_LIMIT): one address guessing one password stops there, and the owner
   signing in from elsewhere is not affected.
2. The account itself is locked after `CARECORE_ACCOUNT_FAILURE_LIMIT` failures from all
   addresses together: a guessing campaign spread over many addresses (a botnet, or proxies
   rotated to dodge level 1) still ends. Each address counts at most up to the pair limit, so
   one address alone can never lock the account for everyone; it takes at least
   limit / pair-limit addresses (5 by default).

Both levels count failures within the cool-off (CARECORE_LOGIN_LOCKOUT_MINUTES) of the last
one, and a lock lifts by itself once no failure has come in for that long. The client ip is
carecore/common/client_identity.py's, so a forged X-Forwarded-For does not make a new address.

Answers (API and admin login form alike, written by axes' middleware through
`lockout_response`): 429 with `Retry-After`, code `throttled` for a locked address,
`account_locked` for a locked account, whose message tells the owner to wait or to contact the
clinic. The owner lifts it at once by completing a password reset sent to their e-mail (the
portal's "Forgot your password?"); an admin with `manage.py account_unlock <email>`
(audited). Locks are kept for e-mail addresses that have no account too, so the answers do not
tell who has one. docs/security.md, "Per-account lockout".
"""

from __future__ import annotations

from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse

from carecore.audit.models import Action
from carecore.audit.services import audit_record
from carecore.common.errors import error_body

from .models import User

MESSAGE = "Too many failed sign-in attempts. Try again later."
ACCOUNT_MESSAGE = (
    "This account is locked for a while after many failed sign-in attempts from different "
    "places. Try again later, or contact the clinic to unlock it."
)


def username_of(request: HttpRequest | None, credentials: dict | None = None) -> str | None:
    """The account a sign-in attempt is for (AXES_USERNAME_CALLABLE): the API's `email` or the
    admin form's `username`, normalised as accounts store it, so both count against the same
    account."""
    source: Any = credentials
    if source is None and request is not None:
        source = request.POST
    value = (source or {}).get("email") or (source or {}).get("username")
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


def account_failures(username: str, *, since: Any, pair_limit: int) -> int:
    """Failed logins for `username` since `since`, from all addresses, each address counting at
    most `pair_limit` (one query)."""
    per_address = (
        AccessAttempt.objects.filter(username=username, attempt_time__gte=since)
        .values("ip_address")
        .annotate(failures=Sum("failures_since_start"))
        .values_list("failures", flat=True)
    )
    return sum(min(failures or 0, pair_limit) for failures in per_address)


class AccountLockoutHandler(AxesDatabaseHandler):
    """axes' database handler, plus the account-wide limit (AXES_HANDLER)."""

    def get_failures(self, request: Any, credentials: dict | None = None) -> int:
        failures = int(super().get_failures(request, credentials))
        pair_limit = int(get_failure_limit(request, credentials))
        if failures >= pair_limit:
            return failures
        username = get_client_username(request, credentials)
        if not username:
            return failures
        total = account_failures(
            username, since=get_cool_off_threshold(request), pair_limit=pair_limit
        )
        if total >= settings.CARECORE_ACCOUNT_FAILURE_LIMIT:
            # Reported as the pair limit, so axes refuses (and answers) as for any lockout.
            request.carecore_account_locked = True
            return pair_limit
        return failures


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """What a locked-out login attempt gets back (django-axes' AXES_LOCKOUT_CALLABLE): the
    contract's error shape with `Retry-After`, for the API and the admin login alike."""
    cool_off = get_cool_off(request)
    retry_after = str(int(cool_off.total_seconds())) if cool_off else "900"
    account = getattr(request, "carecore_account_locked", False)
    code, message = ("account_locked", ACCOUNT_MESSAGE) if account else ("throttled", MESSAGE)
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(error_body(code, message), status=429)
    else:
        response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = retry_after
    return response


def lockout_clear(*, email: str) -> int:
    """Forget the failures counted against `email` (both levels); how many counters went.
    Called by a completed password reset (the caller audits that) and `account_unlock`."""
    removed, _ = AccessAttempt.objects.filter(username=email.strip().lower()).delete()
    return int(removed)


def account_unlock(*, email: str) -> int:
    """An operator lifts every lockout of `email` now (`manage.py account_unlock`); audited."""
    username = email.strip().lower()
    removed = lockout_clear(email=username)
    user = User.objects.filter(email=username).first()
    audit_record(
        actor=None,
        object_type="user",
        object_id=user.id if user else "",
        action=Action.UPDATE,
        detail={"field": "lockout", "cleared": removed},
    )
    return removed
