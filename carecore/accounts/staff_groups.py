"""Django admin permissions for staff, as one group per staff role that uses the admin.

Schedulers keep calendars (availability, time off) and appointments; admins manage users, care
teams and the notification outbox. Clinicians and coordinators work in the API and the portal,
never in the admin, so their roles have no group. A user joins their role's group when the
account is created (`services._create_user`); the groups themselves and their permissions are
made by data migrations, each app granting the permissions on its own models (the app that owns
a model decides who may touch it in the admin).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .models import Role

SCHEDULERS = "Schedulers"
ADMINS = "Admins"
GROUP_FOR_ROLE: dict[str, str] = {Role.SCHEDULER: SCHEDULERS, Role.ADMIN: ADMINS}


def group_for_role(role: str) -> str | None:
    return GROUP_FOR_ROLE.get(role)


def grant_permissions(
    apps: Any, *, group: str, app_label: str, permissions: dict[str, Iterable[str]]
) -> None:
    """For data migrations: give `group` the `{model: [action, ...]}` permissions of one app.

    Permissions are normally created after the last migration (post_migrate); on a fresh
    database they do not exist yet, so they are created here first.
    """
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config(app_label)
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    target, _ = Group.objects.get_or_create(name=group)
    for model, actions in permissions.items():
        codenames = [f"{action}_{model}" for action in actions]
        found = Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        missing = set(codenames) - set(found.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"unknown permissions in {app_label}: {sorted(missing)}")
        target.permissions.add(*found)
