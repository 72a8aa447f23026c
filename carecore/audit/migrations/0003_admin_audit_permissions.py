"""Admins read the audit trail in the admin (carecore/accounts/staff_groups.py)."""

from django.db import migrations

from carecore.accounts.staff_groups import ADMINS, grant_permissions


def forward(apps, schema_editor):
    grant_permissions(
        apps, group=ADMINS, app_label="audit", permissions={"auditevent": ["view"]}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only_trigger"),
        ("accounts", "0002_staff_admin_groups"),
    ]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
