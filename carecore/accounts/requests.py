"""The request type of views that admit signed-in users only (IsAuthenticated, the default).

DRF types `request.user` as `User | AnonymousUser`; behind IsAuthenticated it is always our
`User`. Views annotate their request with this type instead of narrowing in every method.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.request import Request

if TYPE_CHECKING:
    from .models import User

    class AuthenticatedRequest(Request):
        @property
        def user(self) -> User: ...

        @user.setter
        def user(self, value: User) -> None: ...

else:
    AuthenticatedRequest = Request

__all__ = ["AuthenticatedRequest"]
