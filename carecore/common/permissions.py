"""Role gates for API views. Which *rows* a user may see is decided by the access helpers."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission


def has_role(*roles: str) -> type[BasePermission]:
    """A permission class admitting authenticated users whose role is one of `roles`.

    Others get 403 `permission_denied`: the endpoint itself is not theirs (e.g. a scheduler on
    a message endpoint), which reveals nothing about any patient.
    """
    allowed = frozenset(roles)

    class HasRole(BasePermission):
        message = "Your role does not give access to this endpoint."

        def has_permission(self, request: Any, view: Any) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.role in allowed)

    HasRole.__name__ = f"HasRole_{'_'.join(sorted(allowed))}"
    return HasRole
