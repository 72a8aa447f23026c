"""How long a sign-in lasts: bearer tokens and cookie sessions (docs/security.md, "Sessions").

- Idle timeout (HIPAA 164.312(a)(2)(iii) automatic logoff): a token or session unused for
  `CARECORE_STAFF_IDLE_MINUTES` (staff, default 30) or `CARECORE_PATIENT_IDLE_MINUTES`
  (patients, default 60) is dead. A token's knox `expiry` holds its idle deadline; each use moves
  it forward (at most one UPDATE a minute per token), never past the absolute lifetime.
- Absolute lifetime: `REST_KNOX["TOKEN_TTL"]` (CARECORE_TOKEN_TTL_HOURS, 12 h) after sign-in for
  tokens, SESSION_COOKIE_AGE for cookie sessions, however active the client is.
- At most `CARECORE_TOKENS_PER_USER` (default 10) live tokens per user: signing in once more
  drops the oldest.
- Logout revokes the request's token and ends its Django session (services.auth_logout).
"""

from __future__ import annotations

import binascii
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from hmac import compare_digest
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import logout
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS
from knox.signals import token_expired
from rest_framework import exceptions

from carecore.audit.models import Action
from carecore.audit.services import audit_record
from carecore.common.queries import CompiledOnce

from .models import STAFF_ROLES, User

# A token's idle deadline is written at most this often (a request a second must not be an
# UPDATE a second); the idle timeout is therefore exact to within this much.
REFRESH_INTERVAL = timedelta(seconds=60)

SESSION_LAST_SEEN = "_carecore_last_seen"
SESSION_STARTED = "_carecore_started"


def idle_timeout(user: User) -> timedelta:
    if user.role in STAFF_ROLES:
        return timedelta(minutes=settings.CARECORE_STAFF_IDLE_MINUTES)
    return timedelta(minutes=settings.CARECORE_PATIENT_IDLE_MINUTES)


def _absolute_lifetime() -> timedelta:
    return cast(timedelta, settings.REST_KNOX["TOKEN_TTL"])


def _token_deadline(user: User, created: datetime, now: datetime) -> datetime:
    return min(now + idle_timeout(user), created + _absolute_lifetime())


@transaction.atomic
def token_issue(*, user: User) -> str:
    """A new bearer token (only its hash is stored), dying after the idle timeout unless used.

    Drops the user's expired tokens and, past the cap, their oldest live ones. The user's row
    is locked so two sign-ins at once cannot both stay under the cap by counting the same rows.
    """
    User.objects.select_for_update().filter(pk=user.pk).first()
    now = timezone.now()
    tokens = AuthToken.objects.filter(user=user)
    tokens.filter(expiry__lte=now).delete()
    keep = max(settings.CARECORE_TOKENS_PER_USER - 1, 0)
    oldest = tokens.order_by("-created", "-digest").values_list("digest", flat=True)[keep:]
    dropped = list(oldest)
    if dropped:
        AuthToken.objects.filter(user=user, digest__in=dropped).delete()
    _instance, token = AuthToken.objects.create(
        user=user, expiry=min(idle_timeout(user), _absolute_lifetime())
    )
    return str(token)


def token_touch(auth_token: AuthToken, *, now: datetime | None = None) -> None:
    """Move a used token's idle deadline forward (no further than its absolute lifetime)."""
    now = now or timezone.now()
    deadline = _token_deadline(auth_token.user, auth_token.created, now)
    if auth_token.expiry is None or deadline - auth_token.expiry < REFRESH_INTERVAL:
        return
    # Conditional, so two requests at once never move the deadline backwards.
    AuthToken.objects.filter(digest=auth_token.digest, expiry__lt=deadline).update(expiry=deadline)
    auth_token.expiry = deadline


# The tokens of a key with their user and the user's patient row: run on every API request, so
# compiled once per process (`CompiledOnce`: compiling it cost as much as the rest of the look-up).
_TOKENS_WITH_USER: CompiledOnce[AuthToken] = CompiledOnce(
    lambda token_key: AuthToken.objects.filter(token_key=token_key).select_related(
        "user", "user__patient"
    ),
    token_key=str,
)


class IdleTimeoutTokenAuthentication(TokenAuthentication):
    """knox's bearer tokens (expired ones refused and deleted), kept alive by use.

    One query per request: the token with its user and, for a patient, their patient row (every
    access check of a patient asks for it). knox's own sweep of the user's other expired tokens
    on every request (`_cleanup_token` loads all of them) is left to sign-in: `token_issue`
    deletes the user's expired tokens and keeps at most CARECORE_TOKENS_PER_USER live ones, and
    an expired token is refused (and deleted) whenever it is presented.
    """

    def authenticate_credentials(self, token: bytes) -> tuple[User, AuthToken]:
        text = token.decode("utf-8")
        candidates = _TOKENS_WITH_USER.run(token_key=text[: CONSTANTS.TOKEN_KEY_LENGTH])
        for auth_token in candidates:
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(text)
            except (TypeError, binascii.Error):
                raise _invalid_token() from None
            if compare_digest(digest, auth_token.digest):
                user, auth_token = self.validate_user(auth_token)
                token_touch(auth_token)
                return user, auth_token
        raise _invalid_token()

    def _cleanup_token(self, auth_token: AuthToken) -> bool:
        """Delete `auth_token` if it has expired (True); the user's other tokens are not read."""
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            auth_token.delete()
            token_expired.send(sender=self.__class__, username=username, source="auth_token")
            return True
        return False


def _invalid_token() -> exceptions.AuthenticationFailed:
    # Made only when a token is refused: building an exception and translating its message cost
    # about 0.4% of an inbox request when it was made on every one.
    return exceptions.AuthenticationFailed(_("Invalid token."))


class IdleTimeoutTokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme: the same bearer scheme as knox's."""

    target_class = "carecore.accounts.sessions.IdleTimeoutTokenAuthentication"


class SessionIdleTimeoutMiddleware:
    """The same idle timeout and an absolute lifetime for cookie sessions (the admin, and any
    session-authenticated page or API call): past either, the session ends before the view
    runs, so the request is anonymous. After AuthenticationMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.session.session_key is not None:
            self._check(request)
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> None:
        user: Any = request.user
        if not user.is_authenticated:
            return
        session = request.session
        now = time.time()
        started = session.get(SESSION_STARTED)
        last_seen = session.get(SESSION_LAST_SEEN)
        idle = idle_timeout(user).total_seconds()
        if (last_seen is not None and now - last_seen > idle) or (
            started is not None and now - started > settings.SESSION_COOKIE_AGE
        ):
            audit_record(
                actor=user,
                object_type="session",
                action=Action.LOGOUT,
                detail={"reason": "idle" if now - (last_seen or now) > idle else "lifetime"},
            )
            logout(request)
            return
        if started is None:
            session[SESSION_STARTED] = now
        if last_seen is None or now - last_seen >= REFRESH_INTERVAL.total_seconds():
            session[SESSION_LAST_SEEN] = now
            # The stored session and its cookie die too, a while later: until then this
            # middleware ends an idle session itself (deleting it, with an audit event).
            session.set_expiry(int(idle * 2))
