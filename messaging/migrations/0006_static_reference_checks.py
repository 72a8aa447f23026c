"""The references into messages (attachments, a thread's last public message) checked by trigger
functions of their own with static SQL, whose plans PostgreSQL keeps, instead of the generic
function that planned its dynamic statements on every row (carecore/common/partitions.py:
`reference_check_sql`).
"""

from django.db import migrations

from carecore.common import partitions

REFERENCES_IN = [
    ("messaging_attachment", "message_id"),
    ("messaging_thread", "last_public_message_id"),
]
REFERENCED = "messaging_message"

FORWARD = [
    statement
    for table, column in REFERENCES_IN
    for statement in partitions.reference_check_sql(
        table=table, column=column, referenced=REFERENCED
    )
]
BACKWARD = [
    statement
    for table, column in REFERENCES_IN
    for statement in partitions.generic_reference_check_sql(
        table=table, column=column, referenced=REFERENCED
    )
]


class Migration(migrations.Migration):
    dependencies = [("messaging", "0005_announcement")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
