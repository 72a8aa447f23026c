"""An attachment keeps its message's time beside its id (`message_created_at`), and the pair is
checked as the message's key, as a thread's last public message is (messaging 0008): a download
then finds its message in its own month's partition instead of probing every month's index
(docs/scaling.md, "Growing tables").

Attachments already sent are given their message's time first; an attachment has both or
neither (`attachment_message_with_its_time`)."""

from django.db import migrations, models
from django.db.models import Q

from carecore.common import partitions

REFERENCE = {
    "table": "messaging_attachment",
    "column": "message_id",
    "referenced": "messaging_message",
}

GIVE_SENT_ATTACHMENTS_THEIR_TIME = """
UPDATE messaging_attachment attachment SET message_created_at = message.created_at
FROM messaging_message message
WHERE message.id = attachment.message_id
"""


class Migration(migrations.Migration):
    dependencies = [("messaging", "0008_last_public_message_keyed_by_its_time")]

    operations = [
        migrations.AddField(
            model_name="attachment",
            name="message_created_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunSQL(GIVE_SENT_ATTACHMENTS_THEIR_TIME, migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name="attachment",
            constraint=models.CheckConstraint(
                condition=Q(message__isnull=True, message_created_at__isnull=True)
                | Q(message__isnull=False, message_created_at__isnull=False),
                name="attachment_message_with_its_time",
            ),
        ),
        migrations.RunSQL(
            partitions.reference_check_sql(
                **REFERENCE, keyed_by=("message_created_at", "created_at")
            ),
            # Back: the check by id alone (messaging 0006).
            partitions.reference_check_sql(**REFERENCE),
        ),
    ]
