from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CommonConfig(AppConfig):
    name = "carecore.common"
    label = "common"
    verbose_name = "CareCore platform"


class CareCoreAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with CareCore's site (TOTP for staff when required)."""

    default = False  # named explicitly in INSTALLED_APPS; CommonConfig is this module's default
    default_site = "carecore.common.admin_site.CareCoreAdminSite"
