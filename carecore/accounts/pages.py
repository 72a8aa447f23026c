"""Web pages of accounts: choosing a new password from a reset link (password_reset.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import reverse_lazy

from . import password_reset


class PasswordResetConfirmPage(auth_views.PasswordResetConfirmView):
    """Django's own reset-confirm view (token check, password validators, one-time use), on
    the admin's templates; saving also revokes the user's API tokens."""

    success_url = reverse_lazy("password-reset-done")
    post_reset_login = False
    extra_context = {"site_header": "CareCore", "site_title": "CareCore"}

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        password_reset.password_reset_complete(user=form.user)
        return response


class PasswordResetDonePage(auth_views.PasswordResetCompleteView):
    extra_context = {"site_header": "CareCore", "site_title": "CareCore"}
