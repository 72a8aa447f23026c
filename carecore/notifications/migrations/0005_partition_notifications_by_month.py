"""Partition the notification outbox by month of `created_at` (docs/scaling.md, "Growing
tables").

Works on a database with rows: the table is rebuilt as a partitioned one in this migration's
transaction. The database primary key becomes (id, created_at); Django keeps `id` as the model's
primary key. The idempotency key gains `created_at` (PostgreSQL requires the partition key in
it); `services.notify` keeps it unique across months with a lock and a look-up per key. The
foreign key from delivery attempts becomes reference triggers.
"""

from django.conf import settings
from django.db import migrations, models

from carecore.common import partitions

TABLE = "notifications_notification"
ATTEMPTS = "notifications_deliveryattempt"
KEY = "event, recipient_id, channel, subject_type, subject_id, occurrence"

REFERENCE_TRIGGERS = [
    f"""CREATE CONSTRAINT TRIGGER {ATTEMPTS}_notification_id_exists
        AFTER INSERT OR UPDATE OF notification_id ON {ATTEMPTS} DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION
            carecore_reference_exists('notification_id', '{TABLE}', 'id')""",
    f"""CREATE CONSTRAINT TRIGGER {TABLE}_unreferenced
        AFTER DELETE OR UPDATE OF id ON {TABLE} DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION
            carecore_reference_unused('id', '{ATTEMPTS}', 'notification_id')""",
]


def partition(apps, schema_editor):
    schema_editor.connection.cursor().execute(partitions.FUNCTIONS_SQL)
    partitions.convert_to_monthly_partitions(
        schema_editor,
        table=TABLE,
        column="created_at",
        references_in=[(ATTEMPTS, "notification_id")],
        after=[
            f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id, created_at)",
            f"ALTER TABLE {TABLE} ADD CONSTRAINT notification_idempotency_key "
            f"UNIQUE ({KEY}, created_at)",
            *REFERENCE_TRIGGERS,
        ],
    )


def unpartition(apps, schema_editor):
    partitions.convert_to_plain_table(
        schema_editor,
        table=TABLE,
        before=[
            f"DROP TRIGGER {ATTEMPTS}_notification_id_exists ON {ATTEMPTS}",
            f"DROP TRIGGER {TABLE}_unreferenced ON {TABLE}",
        ],
        after=[
            f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id)",
            f"ALTER TABLE {TABLE} ADD CONSTRAINT notification_idempotency_key UNIQUE ({KEY})",
            f"ALTER TABLE {ATTEMPTS} ADD CONSTRAINT {ATTEMPTS}_notification_id_fk "
            f"FOREIGN KEY (notification_id) REFERENCES {TABLE} (id) "
            "DEFERRABLE INITIALLY DEFERRED",
        ],
    )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0004_break_glass_opened_event"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(partition, unpartition)],
            state_operations=[
                migrations.RemoveConstraint(
                    model_name="notification", name="notification_idempotency_key"
                ),
                migrations.AddConstraint(
                    model_name="notification",
                    constraint=models.UniqueConstraint(
                        fields=[
                            "event",
                            "recipient",
                            "channel",
                            "subject_type",
                            "subject_id",
                            "occurrence",
                            "created_at",
                        ],
                        name="notification_idempotency_key",
                    ),
                ),
                migrations.AlterField(
                    model_name="deliveryattempt",
                    name="notification",
                    field=models.ForeignKey(
                        db_constraint=False,
                        on_delete=models.deletion.CASCADE,
                        related_name="attempts",
                        to="notifications.notification",
                    ),
                ),
            ],
        )
    ]
