"""A list event that showed several patients' rows names them in `patient_ids` (issue #14).

One event per request instead of one per patient shown (docs/architecture.md, "The shape of a
list event"). Existing rows get an empty list from the column's default without a rewrite (a
constant default is kept in the catalogue), so the append-only trigger never fires; PostgreSQL
creates the GIN index on every monthly partition, present and future.
"""

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
import django.db.models.expressions
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0005_actor_found_by_actor_time_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditevent',
            name='patient_ids',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.UUIDField(), blank=True, db_default=django.db.models.expressions.RawSQL("'{}'::uuid[]", ()), default=list, size=None),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=django.contrib.postgres.indexes.GinIndex(fields=['patient_ids'], name='audit_patients_shown'),
        ),
    ]
