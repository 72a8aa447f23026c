"""Reads for messaging. Every queryset here starts from an `access` helper."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, NamedTuple, TypedDict, TypeVar
from uuid import UUID

from django.db import connections, router
from django.db.models import (
    Exists,
    F,
    FilteredRelation,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from carecore.accounts.models import Patient, Role, User
from carecore.common.pagination import CompiledPages, PagedRows

from .access import (
    access_attachment,
    access_thread,
    escalated_thread_patient_id,
    listed_threads,
    listed_value_kinds,
    listed_values,
    listing_role,
    may_write_in_thread,
    message_visibility_for,
    public_messages_visible_to,
    visible_threads_for_list,
)
from .models import Attachment, Message, Priority, Thread, ThreadReadState, ThreadStatus


def _counted(reads_as_patient: bool) -> tuple[str, str]:
    """What a reader's unread count compares: the thread's message count and the read state's
    position. A patient counts the messages they can see, staff every message."""
    if reads_as_patient:
        return "public_message_count", "read_public_position"
    return "message_count", "read_position"


def _unread(total: str, read: Any) -> Greatest:
    return Greatest(F(total) - Coalesce(read, Value(0)), Value(0), output_field=IntegerField())


def _unread_expression(reads_as_patient: bool) -> Greatest:
    """Unread messages of a thread for its reader, given the `my_read` join (see thread_list)."""
    total, position = _counted(reads_as_patient)
    return _unread(total, F(f"my_read__{position}"))


def _unread_of_each_row(reader_id: UUID, *, reads_as_patient: bool) -> Greatest:
    """`unread_count` of a page of threads for `reader_id`, as `_unread_expression` counts it,
    with the reader's read position looked up for each row shown instead of joined.

    A scalar subquery in the select list costs more than PostgreSQL's threshold, so it runs after
    the sort and the LIMIT: once per row of the page, by the (thread, user) unique index. Joined,
    every candidate row (each thread of the reader's patients) was matched first, and the plan
    for it depended on how many read states the reader has: a generic plan hashed all of them."""
    total, position = _counted(reads_as_patient)
    read_state = ThreadReadState.objects.filter(thread_id=OuterRef("pk"), user_id=reader_id)
    return _unread(total, Subquery(read_state.values(position)[:1]))


def _with_my_read_state(threads: QuerySet[Thread], user: User) -> QuerySet[Thread]:
    return _with_read_state_of(threads, user.id, reads_as_patient=user.role == Role.PATIENT)


def _with_read_state_of(
    threads: QuerySet[Thread], reader_id: UUID, *, reads_as_patient: bool
) -> QuerySet[Thread]:
    """`threads` with the reader's read state joined (`my_read`) and their `unread_count`."""
    return threads.annotate(
        my_read=FilteredRelation("read_states", condition=Q(read_states__user_id=reader_id))
    ).annotate(unread_count=_unread_expression(reads_as_patient))


def thread_list(*, user: User, **filters: Any) -> QuerySet[Thread]:
    """The caller's threads (patient: own; staff: their care teams' inbox) with unread counts,
    as model instances for pages (`filters`: see `ThreadFilters`).

    Whatever the number of rows: one query (for staff, their patients found in the same query:
    access.visible_threads_for_list; assignee joined, unread count = arithmetic on the joined
    read state). A page that shows previews reads them for its rows afterwards
    (`prefetch_previews`): joined, PostgreSQL hashed the whole message table before sorting and
    cutting the page (docs/benchmarks.md).
    """
    return (
        _matching_threads(user=user, **filters)
        # The patient's name for staff: joined by primary key, so no extra query per page.
        .select_related("assignee", "patient__user")
    )


def prefetch_previews(threads: Sequence[Thread]) -> None:
    """Each thread's last public message (`thread.last_public_message`, the preview), for
    threads already read: one query for all of them, none for no rows.

    A thread's last public message was written at its `last_message_at` (the database holds the
    pair in step: messaging migration 0008), so the look-up names those times too and reads only
    their months' partitions; by id alone it probed every month's index for every thread."""
    times = {thread.last_message_at for thread in threads if thread.last_public_message_id}
    prefetch_related_objects(
        list(threads),
        Prefetch("last_public_message", queryset=Message.objects.filter(created_at__in=times)),
    )


# What a thread summary shows (the API's ThreadOutput), as columns: the thread's own, the
# caller's unread count and the assignee's name. The patient's name, shown to staff only, is read
# for the page's rows afterwards (`summary_extras`).
THREAD_SUMMARY_COLUMNS = (
    "id",
    "patient_id",
    "subject",
    "category",
    "status",
    "priority",
    "first_response_due_at",
    "created_at",
    "last_message_at",
    "last_public_message_id",
    "assignee_id",
    "unread_count",
)
THREAD_SUMMARY_JOINED = {
    "assignee_first_name": F("assignee__first_name"),
    "assignee_last_name": F("assignee__last_name"),
    "assignee_role": F("assignee__role"),
}


@dataclass(frozen=True)
class ThreadFilters:
    """What a thread list may be narrowed to. `assigned`: "me" (the reader) or "none";
    `overdue` compares with `now` (default: the current time)."""

    assigned: str | None = None
    status: str | None = None
    urgent: bool | None = None
    priority: str | None = None
    overdue: bool | None = None
    patient_id: UUID | None = None
    now: datetime | None = None


def thread_summaries(
    *, user: User, filters: ThreadFilters = ThreadFilters()
) -> PagedRows[dict[str, Any]]:
    """`thread_list`'s threads as plain rows of the columns a summary shows, for the API's
    inbox, paged by CursorPagination.

    No model instances: on a clinic's inbox page (50 threads of 50 patients), building and
    serialising some 250 instances was over half the request's CPU (docs/benchmarks.md).
    And no queryset built per request: the query is compiled once per process for each set of
    filters and page shape (`_SUMMARIES`), then only given this request's values. The page's
    previews and its patients' names come from `summary_extras`.
    """
    shape = _SummaryShape(
        reads_as_patient=user.role == Role.PATIENT,
        listing_role=listing_role(user),
        assigned=filters.assigned,
        status=filters.status is not None,
        urgent=filters.urgent,
        priority=filters.priority is not None,
        overdue=filters.overdue,
        patient=filters.patient_id is not None,
    )
    values = {"reader_id": user.id, **listed_values(user, shape.listing_role)}
    optional = {
        "status": filters.status,
        "priority": filters.priority,
        "patient_id": filters.patient_id,
        "now": (filters.now or timezone.now()) if filters.overdue is not None else None,
    }
    values.update((name, value) for name, value in optional.items() if value is not None)
    return _SUMMARIES.rows(shape, **values)


@dataclass(frozen=True)
class _SummaryShape:
    """What of a `thread_summaries` call changes its SQL: which filters apply (and for the yes/no
    ones, which way), and whose unread count (a patient's or staff's)."""

    reads_as_patient: bool
    listing_role: str | None
    assigned: str | None
    status: bool
    urgent: bool | None
    priority: bool
    overdue: bool | None
    patient: bool

    def kinds(self) -> dict[str, type]:
        """The values a query of this shape takes."""
        kinds: dict[str, type] = {"reader_id": UUID, **listed_value_kinds(self.listing_role)}
        kinds.update(
            (name, kind)
            for name, kind, applies in (
                ("status", str, self.status),
                ("priority", str, self.priority),
                ("patient_id", UUID, self.patient),
                ("now", datetime, self.overdue is not None),
            )
            if applies
        )
        return kinds


def _summaries(
    shape: _SummaryShape,
    *,
    reader_id: UUID,
    patient_ids: list[UUID] | None = None,
    visible_at: datetime | None = None,
    status: str | None = None,
    priority: str | None = None,
    patient_id: UUID | None = None,
    now: datetime | None = None,
) -> QuerySet[Thread, dict[str, Any]]:
    # The threads of the patients the reader may list, as `visible_threads_for_list` reads
    # them: a staff member's found in this query, anyone else's given (`listed_threads`).
    filters = ThreadFilters(
        assigned=shape.assigned,
        status=status,
        urgent=shape.urgent,
        priority=priority,
        overdue=shape.overdue,
        patient_id=patient_id,
        now=now,
    )
    threads = _filtered_threads(
        listed_threads(
            listing_role=shape.listing_role,
            reader_id=reader_id,
            patient_ids=patient_ids,
            visible_at=visible_at,
        ),
        reader_id=reader_id,
        filters=filters,
    )
    unread = _unread_of_each_row(reader_id, reads_as_patient=shape.reads_as_patient)
    return threads.annotate(unread_count=unread).values(
        *THREAD_SUMMARY_COLUMNS, **THREAD_SUMMARY_JOINED
    )


# Prepared, not planned on every run (CompiledPages): whatever the plan, a page reads the
# threads of the reader's patients through `thread_patient_recent`, each patient's few threads
# (the patients come from the query itself, which no plan knows beforehand), sorts them, and
# looks up the reader's read state for the rows shown. Planning it cost PostgreSQL more than
# running it (docs/benchmarks.md).
_SUMMARIES = CompiledPages(Thread, _summaries, _SummaryShape.kinds, planned_per_run=False)


def _matching_threads(*, user: User, **filters: Any) -> QuerySet[Thread]:
    """The threads `user` may list that match the filters (`ThreadFilters`), with
    `unread_count` for `user`."""
    threads = _filtered_threads(
        visible_threads_for_list(user), reader_id=user.id, filters=ThreadFilters(**filters)
    )
    return _with_my_read_state(threads, user)


def _filtered_threads(
    threads: QuerySet[Thread], *, reader_id: UUID, filters: ThreadFilters
) -> QuerySet[Thread]:
    """`threads` that match `filters`, for the reader `reader_id`."""
    if filters.assigned == "me":
        threads = threads.filter(assignee_id=reader_id)
    elif filters.assigned == "none":
        threads = threads.filter(assignee__isnull=True)
    if filters.status is not None:
        threads = threads.filter(status=filters.status)
    if filters.urgent is not None:
        urgent_only = Q(priority=Priority.URGENT)
        threads = threads.filter(urgent_only) if filters.urgent else threads.exclude(urgent_only)
    if filters.priority is not None:
        threads = threads.filter(priority=filters.priority)
    if filters.overdue is not None:
        due = Q(first_response_due_at__lte=filters.now or timezone.now()) & ~Q(
            status=ThreadStatus.CLOSED
        )
        threads = threads.filter(due) if filters.overdue else threads.exclude(due)
    if filters.patient_id is not None:
        threads = threads.filter(patient_id=filters.patient_id)
    return threads


# A preview shows the start of the last message the patient can see.
PREVIEW_CHARS = 140


class MessagePreview(TypedDict):
    id: UUID
    sender_kind: str
    created_at: datetime
    preview: str  # the first PREVIEW_CHARS characters of the body


class PatientName(TypedDict):
    first_name: str
    last_name: str


class SummaryExtras(NamedTuple):
    """What a thread summary shows besides the page's own row: the preview of its last message
    the patient can see, and (for staff) the patient's name."""

    preview: MessagePreview | None
    patient_name: PatientName | None


def summary_extras(
    rows: Sequence[dict[str, Any]], *, with_patient_names: bool
) -> list[SummaryExtras]:
    """For each `thread_summaries` row, in order: the preview of its `last_public_message_id`
    (id, sender_kind, created_at and `preview`, the first PREVIEW_CHARS characters of the body,
    cut by PostgreSQL) and, if asked, its patient's name. One query for the whole page, none for
    no rows. Each message is found by its id and its time, the thread's `last_message_at`
    (`prefetch_previews` says why), so each look-up reads one month's partition.

    Read after the page, not joined into it: joined, PostgreSQL hashed the clinic's whole
    patient table to name the page's threads (1.5 of the page's 2.7 ms at the full-size seed of
    bench/messaging_reads.py), a cost that grew with the clinic, not with the page. The page's
    ids go as two arrays, unnested side by side, so each row's preview and name are looked up
    by primary key (docs/benchmarks.md: one query where there were two, one round trip fewer)."""
    if not rows:
        return []
    message_ids = [row["last_public_message_id"] for row in rows]
    message_times = [row["last_message_at"] for row in rows]
    patient_ids = [row["patient_id"] for row in rows] if with_patient_names else []
    with connections[router.db_for_read(Thread)].cursor() as cursor:
        cursor.execute(_SUMMARY_EXTRAS_SQL, [message_ids, message_times, patient_ids])
        return [_summary_extras(found) for found in cursor.fetchall()]


def _summary_extras(found: tuple[Any, ...]) -> SummaryExtras:
    message_id, sender_kind, created_at, preview, first_name, last_name = found
    return SummaryExtras(
        preview=MessagePreview(
            id=message_id, sender_kind=sender_kind, created_at=created_at, preview=preview
        )
        if message_id is not None
        else None,
        patient_name=PatientName(first_name=first_name, last_name=last_name)
        if first_name is not None
        else None,
    )


# Row i of the page: message_ids[i], message_times[i] and patient_ids[i] (unnest pads the
# shorter arrays with nulls: a patient's own page passes no patient ids). Each join finds one row
# by primary key or none (a message's database key is its id and time, and the time prunes the
# other months at run time); WITH ORDINALITY keeps the page's order. One text, so psycopg
# prepares it after its fifth run; any plan for it looks rows up by key, whatever the arrays'
# lengths.
_SUMMARY_EXTRAS_SQL = f"""
SELECT message.id, message.sender_kind, message.created_at, left(message.body, {PREVIEW_CHARS}),
       account.first_name, account.last_name
FROM unnest(%s::uuid[], %s::timestamptz[], %s::uuid[]) WITH ORDINALITY
     AS shown (message_id, message_at, patient_id, number)
LEFT JOIN {Message._meta.db_table} message
       ON message.id = shown.message_id AND message.created_at = shown.message_at
LEFT JOIN {Patient._meta.db_table} patient ON patient.id = shown.patient_id
LEFT JOIN {User._meta.db_table} account ON account.id = patient.user_id
ORDER BY shown.number
"""  # noqa: S608  # nosec B608 - names are ours, values are parameters


def thread_break_glass_offered(*, user: User, thread_id: UUID) -> bool:
    """Whether the thread's page, having refused `user` the thread, offers them break-glass
    instead of its 404: a clinician the thread was escalated to who cannot read it now
    (`escalated_thread_patient_id`; docs/web-portal.md, "Called in on an escalation")."""
    return escalated_thread_patient_id(user=user, thread_id=thread_id) is not None


def thread_writable(*, user: User, thread_id: UUID | str) -> bool:
    """Whether the thread's page offers `user` its forms (reply, note, assign, close): not to a
    reader under break-glass (`may_write_in_thread`)."""
    return may_write_in_thread(user=user, thread_id=thread_id)


def thread_get(*, user: User, thread_id: UUID | str) -> Thread:
    """One thread `user` may see (audited), as `thread_detail` shows it."""
    return thread_detail(thread=access_thread(user=user, thread_id=thread_id), user=user)


def _last_public_message_in_its_month() -> FilteredRelation:
    """A thread's last public message, joined by id and by its time (`last_message_at`, which
    the database holds in step with it: messaging migration 0008), so that PostgreSQL reads only
    that month's partition; by id alone the join probed every month's index. (A new one for each
    query: a query keeps its state on the FilteredRelation it is given.)"""
    return FilteredRelation(
        "last_public_message", condition=Q(last_public_message__created_at=F("last_message_at"))
    )


def thread_detail(*, thread: Thread, user: User) -> Thread:
    """The accessed thread again, with the caller's unread count and the patient's read state."""
    # (django-stubs does not know a FilteredRelation's alias as a select_related name.)
    row = (
        _with_my_read_state(Thread.objects.filter(pk=thread.pk), user)  # type: ignore[misc]
        .annotate(preview=_last_public_message_in_its_month())
        .select_related("assignee", "preview", "patient__user")
        .get()
    )
    # The message joined by id and time is the thread's last public message (the preview).
    Thread.last_public_message.field.set_cached_value(row, row.preview)
    row.patient_read_state = patient_read_state(thread=row)  # type: ignore[attr-defined]
    return row


def patient_read_state(*, thread: Thread) -> ThreadReadState | None:
    """How far the patient has read (read receipts for staff). The patient's account is found
    in the query, so the thread needs only its own columns (`thread_message_rows`)."""
    # One row at most (one read state per thread and user): no ORDER BY to compile.
    rows = list(
        ThreadReadState.objects.filter(thread=thread, user__patient__id=thread.patient_id)[:1]
    )
    return rows[0] if rows else None


_Messages = TypeVar("_Messages", QuerySet[Message], PagedRows[dict[str, Any]])


@dataclass(frozen=True)
class ThreadMessages(Generic[_Messages]):
    thread: Thread
    # Oldest first: model instances (`thread_messages`) or plain rows (`thread_message_rows`).
    messages: _Messages
    patient_read: ThreadReadState | None  # for staff read receipts; None for the patient


def thread_messages(*, user: User, thread_id: UUID | str) -> ThreadMessages[QuerySet[Message]]:
    """The messages `user` may read in a thread they may see (the thread read is audited), for
    pages: the thread with its people (`THREAD_PEOPLE`), the messages as model instances."""
    thread = access_thread(user=user, thread_id=thread_id)
    return _thread_listing(thread, user, message_list(thread=thread, user=user))


def thread_message_rows(
    *, user: User, thread_id: UUID | str
) -> ThreadMessages[PagedRows[dict[str, Any]]]:
    """`thread_messages` for the API: the thread's own columns only (the API shows nothing of
    its people; joining and loading three more rows was a sixth of its page's CPU) and the
    messages as plain rows (`message_rows`)."""
    thread = access_thread(user=user, thread_id=thread_id, related=())
    return _thread_listing(thread, user, message_rows(thread=thread, user=user))


def _thread_listing(thread: Thread, user: User, messages: _Messages) -> ThreadMessages[_Messages]:
    return ThreadMessages(
        thread=thread,
        messages=messages,
        patient_read=patient_read_state(thread=thread) if user.role != Role.PATIENT else None,
    )


def care_team_read_public_position(*, thread: Thread) -> int:
    """How far the patient's care team has read the (access-checked) thread's patient-visible
    messages: the patient's "seen by your care team" under their own messages. One query.

    Only members of the patient's care team count: a reader under break-glass keeps a read state
    of their own (their unread counts), but has not told the patient anything by reading
    (docs/messaging.md, "Who may do what")."""
    furthest = (
        ThreadReadState.objects.filter(thread=thread)
        .filter(user__care_team_memberships__care_team__patient_id=thread.patient_id)
        .aggregate(furthest=Max("read_public_position"))["furthest"]
    )
    return int(furthest or 0)


def message_detail(*, message: Message) -> Message:
    """A message just written (or replayed), with its sender and attachments, as lists show it.
    A message this request wrote already has them (services._send_locked): no query."""
    if hasattr(message, "shown_attachments"):
        return message
    row = Message.objects.select_related("sender").get(pk=message.pk)
    load_attachments([row])
    return row


def load_attachments(messages: Sequence[Message]) -> None:
    """Set `shown_attachments` (oldest first) on each of `messages` (already read through
    `message_list`): `attachments_by_message` for the page."""
    by_message = attachments_by_message(
        message.id for message in messages if getattr(message, "has_attachments", True)
    )
    for message in messages:
        message.shown_attachments = by_message.get(message.id, [])  # type: ignore[attr-defined]


def attachments_by_message(message_ids: Iterable[UUID]) -> dict[UUID, list[Attachment]]:
    """The attachments of the given messages (of a page already read), oldest first, in one
    plain query: a `Prefetch` with its own queryset cost a fifth of a thread page's CPU
    (docs/benchmarks.md, "Hot paths under load"). Most messages carry none, and a page read
    by `message_list` or `message_rows` says which do (`has_attachments`): callers pass only
    those, and a page without any costs no query."""
    wanted = list(message_ids)
    by_message: dict[UUID, list[Attachment]] = {}
    if wanted:
        for attachment in Attachment.objects.filter(message_id__any=wanted).order_by(
            "created_at", "id"
        ):
            by_message.setdefault(attachment.message_id, []).append(attachment)  # type: ignore[arg-type]
    return by_message


def attachment_get(*, user: User, attachment_id: UUID | str) -> Attachment:
    """An attachment `user` may download (audited)."""
    return access_attachment(user=user, attachment_id=attachment_id)


def message_list(*, thread: Thread, user: User) -> QuerySet[Message]:
    """Messages `user` may read in an accessed thread, oldest first, as model instances for
    pages. Cut the page, then `load_attachments` on what is shown."""
    return (
        _readable_messages(thread=thread, user=user)
        .select_related("sender")
        .only(*_MESSAGE_WITH_SENDER_NAME)
        .annotate(has_attachments=_HAS_ATTACHMENTS)
        .order_by("position")
    )


def message_rows(*, thread: Thread, user: User) -> PagedRows[dict[str, Any]]:
    """`message_list` as plain rows of what a message shows (MESSAGE_ROW_COLUMNS and
    MESSAGE_ROW_JOINED): the API's thread page, paged by CursorPagination. Cut the page, then
    `attachments_by_message`.

    No model instances: building a page's 50 messages and their 50 senders was an eighth of
    the page's CPU (docs/benchmarks.md). And no queryset built per request: the query is
    compiled once per process for each role and page shape (`_MESSAGE_ROWS`), then only given
    the thread."""
    return _MESSAGE_ROWS.rows(user.role, thread_id=thread.id, thread_created_at=thread.created_at)


def _message_rows_for(
    role: str, *, thread_id: UUID, thread_created_at: datetime
) -> QuerySet[Message, dict[str, Any]]:
    # Triage is for staff: a patient's page neither reads nor parses it.
    columns = PATIENT_MESSAGE_ROW_COLUMNS if role == Role.PATIENT else MESSAGE_ROW_COLUMNS
    return _thread_messages_readable_by(role, thread_id, thread_created_at).values(
        *columns, **MESSAGE_ROW_JOINED, has_attachments=_HAS_ATTACHMENTS
    )


def _message_row_kinds(role: str) -> dict[str, type]:
    return {"thread_id": UUID, "thread_created_at": datetime}  # whatever the role


def _readable_messages(*, thread: Thread, user: User) -> QuerySet[Message]:
    return _thread_messages_readable_by(user.role, thread.id, thread.created_at)


def _thread_messages_readable_by(
    role: str, thread_id: UUID, thread_created_at: datetime
) -> QuerySet[Message]:
    """`created_at >= thread.created_at` holds for every message (`services._append`) and lets
    PostgreSQL skip the month partitions before the thread began (docs/scaling.md)."""
    return Message.objects.filter(thread_id=thread_id, created_at__gte=thread_created_at).filter(
        message_visibility_for(role)
    )


_HAS_ATTACHMENTS = Exists(Attachment.objects.filter(message_id=OuterRef("id")))

# What a message shows, as columns (the API's MessageOutput): its own and its sender's name;
# and both orderings a page's cursor may carry (`position`, `public_position`).
MESSAGE_ROW_COLUMNS = (
    "id",
    "position",
    "thread_id",
    "sender_id",
    "sender_kind",
    "body",
    "internal",
    "created_at",
    "client_id",
    "public_position",
    "triage_flags",
    "triage_hits",
    "triage_discounted",
)
# What only staff see of a message: a patient's rows leave it out.
STAFF_ONLY_COLUMNS = frozenset({"triage_flags", "triage_hits", "triage_discounted"})
PATIENT_MESSAGE_ROW_COLUMNS = tuple(
    column for column in MESSAGE_ROW_COLUMNS if column not in STAFF_ONLY_COLUMNS
)
MESSAGE_ROW_JOINED = {
    "sender_first_name": F("sender__first_name"),
    "sender_last_name": F("sender__last_name"),
    "sender_role": F("sender__role"),
}
_MESSAGE_ROWS = CompiledPages(Message, _message_rows_for, _message_row_kinds)


# A message and of its sender what a message shows (id, name, role): building 50 full user rows
# (phone numbers parsed and all) was a tenth of a thread page's CPU.
_MESSAGE_WITH_SENDER_NAME = (
    *(field.name for field in Message._meta.concrete_fields),
    "sender__id",
    "sender__first_name",
    "sender__last_name",
    "sender__role",
)


def unread_total(user: User) -> int:
    """Unread messages for /me: patients over all their threads; staff over their care teams'
    threads that are not closed (an old closed thread nobody on the team opened is not news)."""
    if user.role not in (Role.PATIENT, Role.CLINICIAN, Role.COORDINATOR):
        return 0
    threads = visible_threads_for_list(user)
    if user.role != Role.PATIENT:
        threads = threads.exclude(status=ThreadStatus.CLOSED)
    total = _with_my_read_state(threads, user).aggregate(total=Sum("unread_count"))["total"]
    return int(total or 0)


# --- record reads for FHIR (interop) ------------------------------------------------------------


def public_message_list(*, user: User, patient_id: UUID | None = None) -> QuerySet[Message]:
    """Patient-visible messages of the threads `user` may see (never internal notes), with
    thread, sender and attachments loaded."""
    messages = public_messages_visible_to(user)
    if patient_id is not None:
        messages = messages.filter(thread__patient_id=patient_id)
    return _for_record(messages)


def public_messages_for_export() -> QuerySet[Message]:
    """Every patient-visible message, for the admin bulk export (the caller passed its gate)."""
    return _for_record(Message.objects.filter(internal=False))


def _for_record(messages: QuerySet[Message]) -> QuerySet[Message]:
    return messages.select_related(
        "thread__patient__care_team", "sender__clinician"
    ).prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("created_at", "id"))
    )


@dataclass(frozen=True)
class ThreadPlace:
    """Where a patient-visible message sits in its thread, among patient-visible messages."""

    first_message_id: UUID
    previous_message_id: UUID | None
    previous_sender_kind: str | None


def public_thread_places(messages: Iterable[Message]) -> dict[UUID, ThreadPlace]:
    """For patient-visible `messages` (already read through an access helper or selector): the
    first and the previous patient-visible message of each one's thread. One query per batch.

    `public_position` numbers the messages a patient sees 1, 2, 3... per thread (an internal
    note repeats the number before it, so it is excluded by `internal=False`)."""
    messages = list(messages)
    positions: dict[UUID, set[int]] = {}
    for message in messages:
        positions.setdefault(message.thread_id, {1}).add(max(message.public_position - 1, 1))
    if not positions:
        return {}
    lookup = Q()
    for thread_id, wanted in positions.items():
        lookup |= Q(thread_id=thread_id, public_position__in=sorted(wanted))
    rows = Message.objects.filter(lookup, internal=False).values_list(
        "thread_id", "public_position", "id", "sender_kind"
    )
    by_place = {(thread_id, position): (pk, kind) for thread_id, position, pk, kind in rows}
    places: dict[UUID, ThreadPlace] = {}
    for message in messages:
        first_id, _ = by_place.get((message.thread_id, 1), (message.id, None))
        previous = by_place.get((message.thread_id, message.public_position - 1))
        places[message.id] = ThreadPlace(
            first_message_id=first_id,
            previous_message_id=previous[0] if previous else None,
            previous_sender_kind=previous[1] if previous else None,
        )
    return places
