"""Secure message threads between a patient and their care team.

Counters on the thread (`message_count`, `public_message_count`) and positions on messages make
unread counts arithmetic on one row per thread instead of counting messages; `position` is also
the keyset the message pages are cut on. Both are written under the thread's row lock (see
`services.message_send`). Who may see a thread is decided in `access.py`, never here.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from carecore.accounts.models import Patient


class Category(models.TextChoices):
    CLINICAL = "clinical"
    SCHEDULING = "scheduling"
    BILLING = "billing"
    TECHNICAL = "technical"


class ThreadStatus(models.TextChoices):
    OPEN = "open"  # waiting for the care team
    WAITING_ON_PATIENT = "waiting_on_patient"
    CLOSED = "closed"


class Priority(models.TextChoices):
    """How fast the care team must answer. Ordered: a thread's priority only ever goes up."""

    ROUTINE = "routine"
    SOON = "soon"  # a "soon" triage flag: same-day review in working hours, no night page
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.ROUTINE: 0, Priority.SOON: 1, Priority.URGENT: 2}


class SenderKind(models.TextChoices):
    PATIENT = "patient"
    STAFF = "staff"
    SYSTEM = "system"  # automatic replies: emergency guidance, after-hours notice


class Thread(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Found by `thread_patient_recent` (patient, then latest activity) and `thread_assignee_recent`:
    # indexes of their own would only add work to every thread UPDATE (each send moves
    # last_message_at, which those two hold, so no UPDATE skips the indexes) and to planning.
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="threads", db_index=False
    )
    subject = models.CharField(max_length=200)
    category = models.CharField(max_length=20, choices=Category.choices)
    status = models.CharField(
        max_length=20, choices=ThreadStatus.choices, default=ThreadStatus.OPEN
    )
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.ROUTINE)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_threads",
        db_index=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Last message the patient can see; internal notes do not move it (no side channel).
    last_message_at = models.DateTimeField(default=timezone.now)
    # Messages are partitioned by month (docs/scaling.md, "Growing tables"): PostgreSQL cannot
    # point a foreign key at them by id alone, so reference triggers check this one
    # (messaging migration 0003).
    last_public_message = models.ForeignKey(
        "Message",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    message_count = models.PositiveIntegerField(default=0)
    public_message_count = models.PositiveIntegerField(default=0)
    # The first-response clock: set by the first patient message the care team has not yet
    # answered, cleared by a staff reply. `awaiting_since` keys the escalation steps.
    awaiting_since = models.DateTimeField(null=True, blank=True)
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    # End of the off-hours period in which the after-hours auto-reply was last posted.
    after_hours_reply_until = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The patient's own list and the `?patient=` filter, newest activity first.
            models.Index(
                fields=["patient", "-last_message_at", "-id"], name="thread_patient_recent"
            ),
            # The escalation sweep only looks at running clocks.
            models.Index(
                fields=["first_response_due_at"],
                name="thread_due",
                condition=Q(first_response_due_at__isnull=False),
            ),
            models.Index(fields=["assignee", "-last_message_at"], name="thread_assignee_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(public_message_count__lte=F("message_count")),
                name="thread_public_count_le_count",
            ),
        ]

    def __str__(self) -> str:
        return f"Thread {self.id}"  # subjects are patient data: never in __str__


class Message(models.Model):
    """One message. The table is partitioned by month of `created_at` (messaging migration 0003,
    docs/scaling.md "Growing tables"): its database primary key is (id, created_at) and its
    unique constraints contain `created_at`; what they guaranteed alone is kept by locks
    (`position`: the thread's row lock; `client_id`: an advisory lock per sender and client id).
    A message is never older than its thread (`services._append`), which lets the thread page
    skip the months before the thread began."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Found by `message_thread_position` (thread, position, created_at): an index of its own would
    # only add work to every send's INSERT and to planning every page.
    thread = models.ForeignKey(
        Thread, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    # Null for system messages (auto-replies).
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    sender_kind = models.CharField(max_length=10, choices=SenderKind.choices)
    body = models.TextField()
    internal = models.BooleanField(default=False)
    # NULL, not "", when absent: the partial unique constraint below must skip such rows.
    client_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(default=timezone.now)
    # 1-based place in the thread among all messages, and among those the patient sees
    # (equal to the previous public message's for an internal note).
    position = models.PositiveIntegerField()
    public_position = models.PositiveIntegerField()
    # Red-flag category codes from messaging/triage.py (staff-visible), empty when none.
    triage_flags = models.JSONField(default=list, blank=True)
    # Staff-visible detail of each flag: code, label, severity, the matched words and the ConText
    # modifiers considered (`triage.Hit.as_json`); and the mentions a modifier discounted
    # (negated, family, hypothetical, resolved, ...). Patient text: never in logs or
    # notifications, never shown to the patient.
    triage_hits = models.JSONField(default=list, blank=True)
    triage_discounted = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["thread", "position", "created_at"], name="message_thread_position"
            ),
            # Idempotent send: one message per (sender, client_id), whatever the race (with the
            # advisory lock in services: the partition key in the constraint is a formality).
            models.UniqueConstraint(
                fields=["sender", "client_id", "created_at"],
                name="message_sender_client_id",
                condition=Q(client_id__isnull=False),
            ),
            models.CheckConstraint(
                condition=~(Q(internal=True) & ~Q(sender_kind=SenderKind.STAFF)),
                name="message_internal_only_staff",
            ),
        ]
        indexes = [
            # A patient's thread page: the messages they see, in `public_position` order (the
            # unique constraint above orders by `position`, which counts internal notes too).
            # Without it, a patient's page sorted every message of the thread.
            models.Index(
                fields=["thread", "public_position"],
                condition=Q(internal=False),
                name="message_thread_public_pos",
            ),
        ]

    def __str__(self) -> str:
        return f"Message {self.id}"


class ThreadReadState(models.Model):
    """How far one participant has read one thread (positions, see Message)."""

    # Found by `read_state_thread_user` and `read_state_user_thread`, whichever leads with them.
    thread = models.ForeignKey(
        Thread, on_delete=models.CASCADE, related_name="read_states", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    read_position = models.PositiveIntegerField(default=0)
    read_public_position = models.PositiveIntegerField(default=0)
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["thread", "user"], name="read_state_thread_user"),
        ]
        indexes = [models.Index(fields=["user", "thread"], name="read_state_user_thread")]

    def __str__(self) -> str:
        return f"Read state {self.pk}"


class EscalationStep(models.Model):
    """One rung of the overdue ladder, recorded once per response clock (`awaiting_since`)."""

    class Step(models.IntegerChoices):
        ASSIGNEE_AND_COORDINATORS = 1
        LEAD_CLINICIAN = 2
        CLINICAL_LEAD = 3

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="escalations")
    awaiting_since = models.DateTimeField()
    step = models.PositiveSmallIntegerField(choices=Step.choices)
    # User ids told at this step: `thread_escalated` goes to exactly these (the active ones).
    recipient_ids = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["thread", "awaiting_since", "step"], name="escalation_step_once"
            ),
        ]

    def __str__(self) -> str:
        return f"Escalation step {self.step} of thread {self.thread_id}"


class Attachment(models.Model):
    """An uploaded photo or PDF, stored under MEDIA_ROOT with a random name.

    The client's file name is not kept (it often carries a name or a condition); downloads are
    named `attachment-<id>.<ext>`.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # Checked by reference triggers, not a foreign key: messages are partitioned (see Thread).
    message = models.ForeignKey(
        Message,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
        db_constraint=False,
    )
    # The message's `created_at`, set with `message`: the pair is the message's key, checked as
    # one (messaging migration 0009), so a download finds its message in its own month's
    # partition; by id alone it probed every month's index.
    message_created_at = models.DateTimeField(null=True, blank=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"], name="attachment_unsent", condition=Q(message__isnull=True)
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(message__isnull=True, message_created_at__isnull=True)
                | Q(message__isnull=False, message_created_at__isnull=False),
                name="attachment_message_with_its_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Attachment {self.id}"

    @property
    def extension(self) -> str:
        return {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}.get(
            self.content_type, "bin"
        )


class Notify(models.TextChoices):
    """Who is told `message_received` about a message (messaging.announcements)."""

    CARE_TEAM = "care_team"  # a patient's message
    PATIENT = "patient"  # a staff reply the patient sees
    NOBODY = "nobody"  # an internal note


class Announcement(models.Model):
    """A sent message whose people are still to be told of it (messaging/announcements.py).

    The send writes this one row in its own transaction, under the thread's lock; a worker then
    finds the recipients, writes the outbox rows and the feed events, and deletes the row, all in
    one transaction: every committed message is announced exactly once, and a rolled-back send
    announces nothing. Ids and status words only, as everywhere in the outbox and the feed.
    """

    id = models.BigAutoField(primary_key=True)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="+")
    # Not a foreign key: messages are partitioned by month (see Message).
    message_id = models.UUIDField()
    notify = models.CharField(max_length=20, choices=Notify.choices)
    # Triage raised an emergency, crisis or urgent flag: page on-call (`triage_urgent`).
    page_on_call = models.BooleanField(default=False)
    # The feed events to record, in order: [{"type", "data", "patient_sees"}]. message.created
    # for the message and its automatic replies, thread.updated when the status or priority moved.
    feed_events = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Announcement of message {self.message_id}"
