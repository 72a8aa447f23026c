"""Partition messages by month of `created_at` (docs/scaling.md, "Growing tables").

Works on a database with rows: the table is rebuilt as a partitioned one in this migration's
transaction (writers wait on its lock for the time the copy takes). The database primary key
becomes (id, created_at); Django keeps `id` as the model's primary key. The two unique
constraints gain `created_at` (PostgreSQL requires the partition key in them); the guarantees
they gave alone are kept by locks (see the Message docstring). The two foreign keys into the
table (attachments, a thread's last public message) become reference triggers.
"""

from django.db import migrations, models

from carecore.common import partitions

TABLE = "messaging_message"
REFERENCES_IN = [
    ("messaging_attachment", "message_id"),
    ("messaging_thread", "last_public_message_id"),
]

UNIQUE_PARTITIONED = [
    f"ALTER TABLE {TABLE} ADD CONSTRAINT messaging_message_pkey PRIMARY KEY (id, created_at)",
    f"ALTER TABLE {TABLE} ADD CONSTRAINT message_thread_position "
    "UNIQUE (thread_id, position, created_at)",
    f"CREATE UNIQUE INDEX message_sender_client_id ON {TABLE} (sender_id, client_id, created_at) "
    "WHERE client_id IS NOT NULL",
]
UNIQUE_PLAIN = [
    f"ALTER TABLE {TABLE} ADD CONSTRAINT messaging_message_pkey PRIMARY KEY (id)",
    f"ALTER TABLE {TABLE} ADD CONSTRAINT message_thread_position UNIQUE (thread_id, position)",
    f"CREATE UNIQUE INDEX message_sender_client_id ON {TABLE} (sender_id, client_id) "
    "WHERE client_id IS NOT NULL",
]

REFERENCE_TRIGGERS = [
    f"""CREATE CONSTRAINT TRIGGER {table}_{column}_exists
        AFTER INSERT OR UPDATE OF {column} ON {table} DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION carecore_reference_exists('{column}', '{TABLE}', 'id')"""
    for table, column in REFERENCES_IN
] + [
    f"""CREATE CONSTRAINT TRIGGER messaging_message_unreferenced
        AFTER DELETE OR UPDATE OF id ON {TABLE} DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION carecore_reference_unused(
            'id', 'messaging_attachment', 'message_id', 'messaging_thread', 'last_public_message_id'
        )"""
]
DROP_REFERENCE_TRIGGERS = [
    f"DROP TRIGGER {table}_{column}_exists ON {table}" for table, column in REFERENCES_IN
] + [f"DROP TRIGGER messaging_message_unreferenced ON {TABLE}"]

FOREIGN_KEYS_IN = [
    "ALTER TABLE messaging_attachment ADD CONSTRAINT messaging_attachment_message_id_fk "
    f"FOREIGN KEY (message_id) REFERENCES {TABLE} (id) DEFERRABLE INITIALLY DEFERRED",
    "ALTER TABLE messaging_thread ADD CONSTRAINT messaging_thread_last_public_message_id_fk "
    f"FOREIGN KEY (last_public_message_id) REFERENCES {TABLE} (id) DEFERRABLE INITIALLY DEFERRED",
]


def partition(apps, schema_editor):
    schema_editor.connection.cursor().execute(partitions.FUNCTIONS_SQL)
    partitions.convert_to_monthly_partitions(
        schema_editor,
        table=TABLE,
        column="created_at",
        references_in=REFERENCES_IN,
        after=UNIQUE_PARTITIONED + REFERENCE_TRIGGERS,
    )


def unpartition(apps, schema_editor):
    partitions.convert_to_plain_table(
        schema_editor,
        table=TABLE,
        before=DROP_REFERENCE_TRIGGERS,
        after=UNIQUE_PLAIN + FOREIGN_KEYS_IN,
    )


class Migration(migrations.Migration):
    dependencies = [("messaging", "0002_triage_hits_and_soon_priority")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(partition, unpartition)],
            state_operations=[
                migrations.RemoveConstraint(model_name="message", name="message_thread_position"),
                migrations.RemoveConstraint(model_name="message", name="message_sender_client_id"),
                migrations.AddConstraint(
                    model_name="message",
                    constraint=models.UniqueConstraint(
                        fields=["thread", "position", "created_at"],
                        name="message_thread_position",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="message",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(client_id__isnull=False),
                        fields=["sender", "client_id", "created_at"],
                        name="message_sender_client_id",
                    ),
                ),
                migrations.AlterField(
                    model_name="thread",
                    name="last_public_message",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=models.deletion.SET_NULL,
                        related_name="+",
                        to="messaging.message",
                    ),
                ),
                migrations.AlterField(
                    model_name="attachment",
                    name="message",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=models.deletion.CASCADE,
                        related_name="attachments",
                        to="messaging.message",
                    ),
                ),
            ],
        )
    ]
