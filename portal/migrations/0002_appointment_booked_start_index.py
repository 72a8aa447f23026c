from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="appointment",
            index=models.Index(
                condition=models.Q(("status", "booked")),
                fields=["start_at"],
                name="appointment_booked_start",
            ),
        ),
    ]
