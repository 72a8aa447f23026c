"""Partition the audit trail by month of `occurred_at` (docs/scaling.md, "Growing tables").

Works on a database with rows: the table is rebuilt as a partitioned one in this migration's
transaction. The database primary key becomes (id, occurred_at) (nothing references audit rows;
Django keeps `id` as the model's primary key). The append-only trigger is recreated on the new
table, which PostgreSQL clones onto every partition, present and future; the table's grants
(SELECT and INSERT only for the app role) are carried over and copied to each new partition by
`carecore_month_partition`. Old months are archived by detaching their partitions, never by
deleting rows (docs/scaling.md, "Archiving old partitions").
"""

from django.db import migrations

from carecore.common import partitions

TABLE = "audit_auditevent"

APPEND_ONLY_TRIGGER = f"""
CREATE TRIGGER audit_event_no_update_or_delete
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()
"""


def partition(apps, schema_editor):
    schema_editor.connection.cursor().execute(partitions.FUNCTIONS_SQL)
    partitions.convert_to_monthly_partitions(
        schema_editor,
        table=TABLE,
        column="occurred_at",
        after=[
            f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id, occurred_at)",
            APPEND_ONLY_TRIGGER,
        ],
    )


def unpartition(apps, schema_editor):
    partitions.convert_to_plain_table(
        schema_editor,
        table=TABLE,
        after=[
            f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id)",
            APPEND_ONLY_TRIGGER,
        ],
    )


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_admin_audit_permissions")]

    operations = [migrations.RunPython(partition, unpartition)]
