"""Who may see which thread, message and attachment. One condition per line.

Everything is built on `patient_visibility` (care team, the patient themself, break-glass), so
messaging can never disagree with the rest of CareCore about who sees a patient. Internal notes
are filtered here too: a patient never gets one from any helper in this module. Missing and
forbidden both raise NotFound, and every call writes one audit event (denied ones included).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NoReturn
from uuid import UUID

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Q, QuerySet
from django.utils import timezone

from carecore.accounts.access import (
    Purpose,
    VisibleRows,
    audited_get,
    audited_row,
    clinical_patient_ids,
    clinical_patient_ids_query,
    deny,
    patient_visibility,
    patients_found_by_query,
)
from carecore.accounts.models import (
    CARE_TEAM_ROLES,
    CLINICAL_STAFF_ROLES,
    Role,
    User,
)
from carecore.audit.models import Action
from carecore.audit.services import AuditNote, audit_record

from .models import Attachment, EscalationStep, Message, Thread

# Roles that may write in a thread: the patient and their care team (admins read under
# break-glass only, never write; staff who may read at all are CLINICAL_STAFF_ROLES).
WRITER_ROLES = frozenset({Role.PATIENT, *CARE_TEAM_ROLES})


def visible_threads(
    user: User, *, for_write: bool = False, now: datetime | None = None
) -> QuerySet[Thread]:
    """Threads of every patient `user` may see clinically (schedulers: none); with
    `for_write`, write in (never under break-glass). Break-glass grants count at `now`
    (default: the current time).

    Right for finding one thread by id; for lists use `visible_threads_for_list`.
    """
    return Thread.objects.filter(
        patient_visibility(
            user, purpose=Purpose.CLINICAL, patient_ref="patient_id", for_write=for_write, now=now
        )
    )


def visible_patient_ids(user: User) -> list[UUID]:
    """The patients whose threads a staff member may list (`clinical_patient_ids`: the same
    patients as `patient_visibility`, in one small query from the user's side)."""
    return clinical_patient_ids(user)


def listing_role(user: User) -> str | None:
    """For a compiled list of threads (the inbox, `listed_threads`): the role whose patients the
    list's query finds itself (a staff member's), or None when it is given `visible_patient_ids`
    (a patient's own; nobody's)."""
    return user.role if patients_found_by_query(user) else None


def listed_values(user: User, listing_role: str | None) -> dict[str, Any]:
    """What `listed_threads` takes for `user`'s list besides the role (`listing_role(user)`):
    the time break-glass grants count at, for a staff member's list; else the ids of the
    patients shown (`visible_patient_ids`: a patient's own; nobody's)."""
    if listing_role is None:
        return {"patient_ids": visible_patient_ids(user)}
    return {"visible_at": timezone.now()}


def listed_value_kinds(listing_role: str | None) -> dict[str, type]:
    """The types of `listed_values` for a list of `listing_role` (for a compiled query)."""
    return {"patient_ids": list} if listing_role is None else {"visible_at": datetime}


def listed_threads(
    *,
    listing_role: str | None,
    reader_id: UUID,
    patient_ids: list[UUID] | None = None,
    visible_at: datetime | None = None,
) -> QuerySet[Thread]:
    """The threads a compiled list shows its reader `reader_id`, as `visible_threads_for_list`
    does: with a `listing_role` (`listing_role(user)`), the threads of the patients
    `clinical_patient_ids_query` finds in the same query, break-glass grants counting at
    `visible_at`; without, the threads of `patient_ids` (`visible_patient_ids(user)`).

    Either way PostgreSQL reads one array of patients through the threads' patient index. Found
    in the list's query, a staff member's patients cost no query of their own: one round trip
    fewer per inbox, and no ids read back and sent again (docs/benchmarks.md)."""
    if listing_role is None:
        return Thread.objects.filter(patient_id__any=patient_ids)
    if visible_at is None:
        raise ValueError("A staff member's list counts break-glass grants at `visible_at`.")
    patients = clinical_patient_ids_query(listing_role, user_id=reader_id, now=visible_at)
    return Thread.objects.filter(patient_id__any=ArraySubquery(patients))


def visible_threads_for_list(user: User) -> QuerySet[Thread]:
    """`visible_threads`, shaped for lists and counts over many threads.

    Applied to the threads table, the visibility filter (EXISTS member OR EXISTS break-glass)
    cannot use an index: PostgreSQL scanned and sorted every thread of the clinic to fill one
    inbox page. With the staff member's patients found first (from their memberships and
    grants, in the same query: `listed_threads`), it reads only their threads through the
    patient index (docs/benchmarks.md, "Messaging").
    """
    if user.role == Role.PATIENT:
        # Already a plain equality on patient_id.
        return visible_threads(user)
    if user.role not in CLINICAL_STAFF_ROLES:
        return Thread.objects.none()
    role = listing_role(user)
    return listed_threads(listing_role=role, reader_id=user.id, **listed_values(user, role))


def message_visibility(user: User) -> Q:
    """Messages of a visible thread that `user` may read: patients never see internal notes."""
    return message_visibility_for(user.role)


def message_visibility_for(role: str) -> Q:
    """`message_visibility` of a user with `role`."""
    if role == Role.PATIENT:
        return Q(internal=False)
    return Q()


# What pages and API answers show of a thread beside its own columns: loaded with it.
THREAD_PEOPLE = ("patient__user", "assignee")


def access_thread(
    *,
    user: User,
    thread_id: UUID | str,
    for_write: bool = False,
    lock: bool = False,
    also: Sequence[AuditNote] = (),
    related: Sequence[str] = THREAD_PEOPLE,
) -> Thread:
    """The thread if `user` may see it (and, for writes, write in it); else NotFound. Audited.

    With `lock=True` the thread row is locked FOR UPDATE (the caller must be in a transaction).
    `also` are events written with the access event when access is granted (`audited_get`).
    `related` are the rows read with the thread (`select_related`); a caller that needs only
    the thread's own columns passes none.
    """
    threads = _threads_by_id(for_write=for_write, related=tuple(related))
    return audited_row(
        threads.get(user, thread_id, lock=lock),
        user=user,
        object_id=thread_id,
        object_type="message_thread",
        action=Action.UPDATE if for_write else Action.READ,
        also=also,
    )


@functools.cache
def _threads_by_id(*, for_write: bool, related: tuple[str, ...]) -> VisibleRows[Thread]:
    """The threads `access_thread` looks in, for each way it is called (a few in all)."""

    def threads(user: User, now: datetime) -> QuerySet[Thread]:
        found = visible_threads(user, for_write=for_write, now=now)
        if related:  # select_related() with no names would follow every foreign key
            found = found.select_related(*related)
        if for_write and user.role not in WRITER_ROLES:
            # Read-only roles (an admin under break-glass) cannot write: the same 404 and audit.
            found = found.none()
        return found

    return VisibleRows(threads)


def may_write_in_thread(*, user: User, thread_id: UUID | str) -> bool:
    """Whether `user` may write in a thread they can read: the same rule as
    `access_thread(for_write=True)`, asked without writing or auditing (a page deciding whether
    to offer its forms; each write still goes through the access check). False for a reader under
    break-glass, whose grant is read-only."""
    if user.role not in WRITER_ROLES:
        return False
    return visible_threads(user, for_write=True).filter(pk=thread_id).exists()


def escalated_thread_patient_id(*, user: User, thread_id: UUID) -> UUID | None:
    """The patient of thread `thread_id` if `user` may be offered break-glass access to them from
    the thread's page, else None: a clinician (break-glass is for clinicians and admins, and
    admins have no workspace) whom an escalation of this very thread was sent to
    (`EscalationStep.recipient_ids`: the clinical lead at step 3, typically), and who cannot
    read the thread now (off the care team, no grant still open).

    Not a read of patient data and not audited: it tells the caller no more than the
    `thread_escalated` notice told them (that the thread exists and was escalated to them). The
    page that asks has already had the thread refused, and that refusal is audited as denied.
    One condition per line.
    """
    if user.role != Role.CLINICIAN:
        return None
    if not user.is_active:
        return None
    escalated_to_user = EscalationStep.objects.filter(
        thread_id=thread_id, recipient_ids__contains=[str(user.id)]
    )
    if not escalated_to_user.exists():
        return None
    if visible_threads(user).filter(pk=thread_id).exists():
        return None
    patient_id: UUID | None = (
        Thread.objects.filter(pk=thread_id).values_list("patient_id", flat=True).first()
    )
    return patient_id


def _deny_attachment(user: User, attachment_id: UUID | str) -> NoReturn:
    deny(
        user=user,
        object_type="message_attachment",
        object_id=attachment_id,
        action=Action.DOWNLOAD,
    )


def access_attachment(*, user: User, attachment_id: UUID | str) -> Attachment:
    """An attachment for download: the uploader before it is sent; afterwards whoever may read
    the message it belongs to (so a patient never gets an internal note's file). Audited."""
    attachment = Attachment.objects.filter(pk=attachment_id).first()
    if attachment is None:
        _deny_attachment(user, attachment_id)
    if attachment.message_id is None:
        if attachment.uploaded_by_id != user.id:
            _deny_attachment(user, attachment_id)
        patient_id = None
    else:
        patient_id = _patient_of_readable_message(user, attachment)
        if patient_id is None:
            _deny_attachment(user, attachment_id)
    audit_record(
        actor=user,
        object_type="message_attachment",
        object_id=attachment.id,
        patient_id=patient_id,
        action=Action.DOWNLOAD,
    )
    return attachment


def _patient_of_readable_message(user: User, attachment: Attachment) -> UUID | None:
    """The patient of the message `attachment` was sent with, if `user` may read that message;
    else None. Found by the message's id and time (the attachment keeps both), so PostgreSQL
    reads that month's partition only."""
    message_id, sent_at = attachment.message_id, attachment.message_created_at
    if message_id is None or sent_at is None:  # not sent (the database keeps both or neither)
        return None
    patient_id: UUID | None = (
        Message.objects.filter(pk=message_id, created_at=sent_at)
        .filter(message_visibility(user))
        .filter(thread__in=visible_threads(user))
        .values_list("thread__patient_id", flat=True)
        .first()
    )
    return patient_id


def public_messages_visible_to(user: User) -> QuerySet[Message]:
    """Messages the patient could see (never an internal note, whoever asks) in threads `user`
    may see: what leaves CareCore as a patient's record (FHIR Communication)."""
    return Message.objects.filter(internal=False, thread__in=visible_threads(user))


def access_public_message(*, user: User, message_id: UUID | str) -> Message:
    """One patient-visible message of a thread `user` may see; else NotFound. Audited."""
    return audited_get(
        public_messages_visible_to(user).select_related(
            "thread__patient__care_team", "sender__clinician"
        ),
        user=user,
        object_id=message_id,
        object_type="message",
        patient_id_of=lambda message: message.thread.patient_id,
    )
