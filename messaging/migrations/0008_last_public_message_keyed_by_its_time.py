"""A thread's last public message is checked by its id and its time, `last_message_at`, which
is when that message was written (services._append sets both in one UPDATE). The database now
holds the pair in step, and every reader can look the message up in its own month's partition
instead of probing every month's index (docs/scaling.md, "Growing tables").

Threads whose two values disagree (none are written so; a hand-made row could be) are first
given their message's time, so the new check holds for every existing row."""

from django.db import migrations

from carecore.common import partitions

REFERENCE = {
    "table": "messaging_thread",
    "column": "last_public_message_id",
    "referenced": "messaging_message",
}

ALIGN_TIMES = """
UPDATE messaging_thread thread SET last_message_at = message.created_at
FROM messaging_message message
WHERE message.id = thread.last_public_message_id
  AND thread.last_message_at IS DISTINCT FROM message.created_at
"""


class Migration(migrations.Migration):
    dependencies = [("messaging", "0007_found_by_composite_indexes")]

    operations = [
        migrations.RunSQL(ALIGN_TIMES, migrations.RunSQL.noop),
        migrations.RunSQL(
            partitions.reference_check_sql(**REFERENCE, keyed_by=("last_message_at", "created_at")),
            # Back: the check by id alone (messaging 0006).
            partitions.reference_check_sql(**REFERENCE),
        ),
    ]
