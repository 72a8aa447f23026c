"""The reference from delivery attempts into the partitioned outbox checked by a trigger function
of its own with static SQL, whose plans PostgreSQL keeps, instead of the generic function that
planned its dynamic statements on every row (carecore/common/partitions.py:
`reference_check_sql`).
"""

from django.db import migrations

from carecore.common import partitions

REFERENCE = {
    "table": "notifications_deliveryattempt",
    "column": "notification_id",
    "referenced": "notifications_notification",
}


class Migration(migrations.Migration):
    dependencies = [("notifications", "0005_partition_notifications_by_month")]

    operations = [
        migrations.RunSQL(
            partitions.reference_check_sql(**REFERENCE),
            partitions.generic_reference_check_sql(**REFERENCE),
        )
    ]
