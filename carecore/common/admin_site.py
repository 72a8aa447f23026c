"""The Django admin, with TOTP required for staff when CARECORE_REQUIRE_STAFF_MFA is on.

The setting is read per request (not at import), so one process honours what the environment
says and tests can switch it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite


class CareCoreAdminSite(OTPAdminSite):
    site_header = "CareCore administration"
    site_title = "CareCore admin"
    index_title = "Operations"

    def __init__(self, name: str = "admin"):
        super().__init__(name)

    @property
    def login_form(self) -> Any:
        if settings.CARECORE_REQUIRE_STAFF_MFA:
            return OTPAdminAuthenticationForm
        return AdminAuthenticationForm

    @property
    def login_template(self) -> Any:
        return OTPAdminSite.login_template if settings.CARECORE_REQUIRE_STAFF_MFA else None

    def has_permission(self, request: HttpRequest) -> bool:
        if settings.CARECORE_REQUIRE_STAFF_MFA:
            return super().has_permission(request)  # also requires an OTP-verified session
        return AdminSite.has_permission(self, request)
