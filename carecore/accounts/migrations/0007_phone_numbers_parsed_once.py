"""User.phone and PhoneChange.phone read through CareCore's PhoneNumberField, which parses
each stored number once per process (carecore/common/phone_numbers.py). No change to the
database: the column is the same."""

from django.db import migrations

import carecore.common.phone_numbers


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_patient_updated_at"),
    ]

    operations = [
        migrations.AlterField(
            model_name="phonechange",
            name="phone",
            field=carecore.common.phone_numbers.PhoneNumberField(max_length=128, region=None),
        ),
        migrations.AlterField(
            model_name="user",
            name="phone",
            field=carecore.common.phone_numbers.PhoneNumberField(
                blank=True, max_length=128, region=None
            ),
        ),
    ]
