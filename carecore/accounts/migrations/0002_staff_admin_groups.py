"""Staff groups for the Django admin (carecore/accounts/staff_groups.py), with the permissions
on accounts' own models, and every existing scheduler and admin put in their role's group."""

from django.db import migrations

from carecore.accounts.staff_groups import ADMINS, GROUP_FOR_ROLE, SCHEDULERS, grant_permissions


def forward(apps, schema_editor):
    grant_permissions(
        apps,
        group=ADMINS,
        app_label="accounts",
        permissions={
            "user": ["view", "add", "change"],
            "clinician": ["view", "add", "change"],
            "careteam": ["view", "add", "change"],
            "careteammember": ["view", "add", "change", "delete"],
            "breakglassgrant": ["view"],
        },
    )
    # Schedulers pick the clinician whose calendar they keep.
    grant_permissions(
        apps, group=SCHEDULERS, app_label="accounts", permissions={"clinician": ["view"]}
    )
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("accounts", "User")
    for role, name in GROUP_FOR_ROLE.items():
        group = Group.objects.get(name=name)
        for user in User.objects.filter(role=role):
            user.groups.add(group)


def backward(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[ADMINS, SCHEDULERS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forward, backward)]
