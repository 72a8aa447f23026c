"""The Django admin, with TOTP required for staff when CARECORE_REQUIRE_STAFF_MFA is on.

The setting is read per request (not at import), so one process honours what the environment
says and tests can switch it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite

STAFF_ONLY_MESSAGE = (
    "The CareCore admin is for operations and front-desk staff only. Clinicians, coordinators "
    "and patients sign in to the CareCore portal or app instead."
)


class StaffOnlyMixin:
    """Django's admin login tells a non-staff user their password is wrong, which sends them
    to reset a password that works. Say plainly that the admin is not for them instead; only
    someone who has just given the right password sees this, so it reveals nothing new."""

    def confirm_login_allowed(self, user: Any) -> None:
        if user.is_active and not user.is_staff:
            raise forms.ValidationError(STAFF_ONLY_MESSAGE, code="staff_only")
        super().confirm_login_allowed(user)  # type: ignore[misc]


class StaffLoginForm(StaffOnlyMixin, AdminAuthenticationForm):
    pass


class StaffOtpLoginForm(StaffOnlyMixin, OTPAdminAuthenticationForm):
    pass


class CareCoreAdminSite(OTPAdminSite):
    site_header = "CareCore administration"
    site_title = "CareCore admin"
    index_title = "Operations"

    def __init__(self, name: str = "admin"):
        super().__init__(name)

    @property
    def login_form(self) -> Any:  # type: ignore[override]
        if settings.CARECORE_REQUIRE_STAFF_MFA:
            return StaffOtpLoginForm
        return StaffLoginForm

    @property
    def login_template(self) -> Any:  # type: ignore[override]
        return OTPAdminSite.login_template if settings.CARECORE_REQUIRE_STAFF_MFA else None

    def has_permission(self, request: HttpRequest) -> bool:
        if settings.CARECORE_REQUIRE_STAFF_MFA:
            return super().has_permission(request)  # also requires an OTP-verified session
        return AdminSite.has_permission(self, request)
