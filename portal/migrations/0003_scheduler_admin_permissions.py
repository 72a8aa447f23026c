"""Schedulers keep calendars and appointments in the admin (carecore/accounts/staff_groups.py)."""

from django.db import migrations

from carecore.accounts.staff_groups import SCHEDULERS, grant_permissions


def forward(apps, schema_editor):
    grant_permissions(
        apps,
        group=SCHEDULERS,
        app_label="portal",
        permissions={
            "availabilityrule": ["view", "add", "change", "delete"],
            "timeoff": ["view", "add", "delete"],
            "appointment": ["view", "change"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0002_appointment_booked_start_index"),
        ("accounts", "0002_staff_admin_groups"),
    ]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
