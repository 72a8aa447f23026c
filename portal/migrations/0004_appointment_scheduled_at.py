from django.db import migrations, models
from django.db.models import F
import django.utils.timezone


def from_created_at(apps, schema_editor):
    # The best we know for existing visits: when they were booked.
    apps.get_model("portal", "Appointment").objects.update(scheduled_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("portal", "0003_scheduler_admin_permissions")]

    operations = [
        migrations.AddField(
            model_name="appointment",
            name="scheduled_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunPython(from_created_at, migrations.RunPython.noop),
    ]
