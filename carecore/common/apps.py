from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CommonConfig(AppConfig):
    name = "carecore.common"
    label = "common"
    verbose_name = "CareCore platform"

    def ready(self) -> None:
        from django.db.models import Field, ForeignObject

        # Load the Celery app when Django starts, so `shared_task`s bind to it and `.delay()`
        # uses its broker (Celery's documented layout imports it from carecore/__init__.py,
        # which would make every pure module under carecore/ import Django).
        from carecore import celery  # noqa: F401
        from carecore.common.queries import AnyOf

        # `column__any=[...]`: a list as one array parameter (carecore/common/queries.py).
        # Foreign keys take only lookups registered on ForeignObject and below, not Field's.
        Field.register_lookup(AnyOf)
        ForeignObject.register_lookup(AnyOf)


class CareCoreAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with CareCore's site (TOTP for staff when required)."""

    default = False  # named explicitly in INSTALLED_APPS; CommonConfig is this module's default
    default_site = "carecore.common.admin_site.CareCoreAdminSite"
