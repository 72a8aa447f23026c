"""Partition the real-time feed by month of `at` (docs/scaling.md, "Growing tables").

Works on a database with rows: the table is rebuilt as a partitioned one in this migration's
transaction. The database primary key becomes (id, at); Django keeps `id` as the model's
primary key. The unique (user, seq) gains `at` (PostgreSQL requires the partition key in it);
a number is still handed out once per user, under the user's sequence row lock. Nothing
references feed events.
"""

from django.conf import settings
from django.db import migrations, models

from carecore.common import partitions

TABLE = "realtime_feedevent"


def partition(apps, schema_editor):
    schema_editor.connection.cursor().execute(partitions.FUNCTIONS_SQL)
    partitions.convert_to_monthly_partitions(
        schema_editor,
        table=TABLE,
        column="at",
        after=[
            f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id, at)",
            f"ALTER TABLE {TABLE} ADD CONSTRAINT feed_event_user_seq_unique "
            "UNIQUE (user_id, seq, at)",
        ],
    )


def unpartition(apps, schema_editor):
    partitions.convert_to_plain_table(
        schema_editor,
        table=TABLE,
        after=[
            f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id)",
            f"ALTER TABLE {TABLE} ADD CONSTRAINT feed_event_user_seq_unique "
            "UNIQUE (user_id, seq)",
        ],
    )


class Migration(migrations.Migration):
    dependencies = [
        ("realtime", "0001_feed_events_and_sequences"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(partition, unpartition)],
            state_operations=[
                migrations.RemoveConstraint(
                    model_name="feedevent", name="feed_event_user_seq_unique"
                ),
                migrations.AddConstraint(
                    model_name="feedevent",
                    constraint=models.UniqueConstraint(
                        fields=["user", "seq", "at"], name="feed_event_user_seq_unique"
                    ),
                ),
            ],
        )
    ]
