"""Admins manage the notification outbox in the admin (carecore/accounts/staff_groups.py)."""

from django.db import migrations

from carecore.accounts.staff_groups import ADMINS, grant_permissions


def forward(apps, schema_editor):
    grant_permissions(
        apps,
        group=ADMINS,
        app_label="notifications",
        # `change` is what the re-send action needs; rows are never edited by hand.
        permissions={"notification": ["view", "change"], "deliveryattempt": ["view"]},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("accounts", "0002_staff_admin_groups"),
    ]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
