"""HTTP for messaging: threads, messages, read state, the shared inbox and attachments.

Views parse, check the role, call a service or selector, and render its output serializer
(lists through `audited_list_response`, which audits each row shown).
Schedulers get 403 on every endpoint here (minimum necessary); admins read only under
break-glass (the access helpers decide) and never write.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from django.http import FileResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from carecore.accounts.models import (
    CARE_TEAM_ROLES,
    CLINICAL_READER_ROLES,
    Role,
    User,
    full_name,
)
from carecore.accounts.requests import AuthenticatedRequest
from carecore.audit.lists import audit_batch, audited_list_response
from carecore.common.downloads import FileDownloadApi
from carecore.common.errors import Forbidden
from carecore.common.fields import (
    AllErrorsSerializer,
    ChoiceField,
    QueryBooleanField,
    RedFlagOutput,
    StrictInput,
)
from carecore.common.ids import uuid_text
from carecore.common.pagination import CursorPagination
from carecore.common.permissions import has_role
from carecore.common.renderers import FileRenderer, OrjsonRenderer

from . import selectors, services
from .access import WRITER_ROLES
from .models import (
    Attachment,
    Category,
    Message,
    Priority,
    Thread,
    ThreadReadState,
    ThreadStatus,
)


def _is_staff_reader(user: User) -> bool:
    return user.role != Role.PATIENT


# --- output shapes ----------------------------------------------------------------------------
#
# Serializers take the viewer in their context ("viewer"): fields marked staff-only are left out
# for a patient, and a message's client_id is shown only to its sender.


class MessagingPersonOutput(serializers.Serializer):
    id = serializers.UUIDField(help_text="User id.")
    name = serializers.CharField(source="full_name")
    role = serializers.CharField()


class MessageAttachmentOutput(serializers.Serializer):
    id = serializers.UUIDField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    url = serializers.SerializerMethodField()

    def get_url(self, attachment: Attachment) -> str:
        return reverse("attachment-detail", kwargs={"attachment_id": attachment.id})


class TriageHitOutput(RedFlagOutput):
    """A red flag (the shape every API uses) with what raised it."""

    words = serializers.ListField(child=serializers.CharField(), help_text="What matched.")
    modifiers = serializers.ListField(
        child=serializers.CharField(), help_text="ConText modifiers considered, e.g. uncertainty."
    )
    sources = serializers.ListField(
        child=serializers.CharField(), help_text='Where the words were: "subject", "body".'
    )


class TriageDiscountedOutput(serializers.Serializer):
    concept = serializers.CharField()
    words = serializers.CharField()
    modifiers = serializers.ListField(
        child=serializers.CharField(), help_text="e.g. NEGATED_EXISTENCE, FAMILY, HISTORICAL."
    )
    # DRF takes declared fields off the class, so this does not shadow Field.source at run time.
    source = serializers.CharField(help_text='"subject" or "body".')  # type: ignore[assignment]


class _StaffOnlyFields(serializers.Serializer):
    """Leaves out `staff_only` fields when the viewer is a patient."""

    staff_only: tuple[str, ...] = ()

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        if not _is_staff_reader(self.context["viewer"]):
            for name in self.staff_only:
                data.pop(name, None)
        return data


class _ReadByPatientField(serializers.BooleanField):
    """Whether the patient has read the message (never for an internal note): a staff-only,
    hence optional, output field computed from the thread's read state in the context."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", required=False, **kwargs)

    def to_representation(self, message: Message) -> bool:  # type: ignore[override]
        patient_read: ThreadReadState | None = self.context.get("patient_read")
        return bool(
            not message.internal
            and patient_read is not None
            and message.public_position <= patient_read.read_public_position
        )


class MessageOutput(_StaffOnlyFields):
    staff_only = ("triage_flags", "triage_hits", "triage_discounted", "read_by_patient")

    id = serializers.UUIDField()
    thread_id = serializers.UUIDField()
    sender = MessagingPersonOutput(allow_null=True, help_text="Null for automatic replies.")
    sender_kind = ChoiceField(choices=["patient", "staff", "system"])
    body = serializers.CharField()
    internal = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    # Loaded for the whole page in one query (selectors.load_attachments).
    attachments = MessageAttachmentOutput(many=True, source="shown_attachments")
    client_id = serializers.SerializerMethodField(help_text="Only shown to its sender.")
    triage_flags = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Staff only: flag codes."
    )
    triage_hits = TriageHitOutput(
        many=True, required=False, help_text="Staff only: what raised each flag."
    )
    triage_discounted = TriageDiscountedOutput(
        many=True,
        required=False,
        help_text="Staff only: mentions not flagged because a modifier discounted them.",
    )
    # Not a method field: those are required in the schema, and a patient's view leaves it out.
    read_by_patient = _ReadByPatientField(help_text="Staff only: read receipt.")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_client_id(self, message: Message) -> str | None:
        return message.client_id if message.sender_id == self.context["viewer"].id else None


class MessagePreviewOutput(serializers.Serializer):
    id = serializers.UUIDField()
    sender_kind = serializers.CharField()
    body = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_body(self, message: Message) -> str:
        return message.body[: selectors.PREVIEW_CHARS]


class ThreadOutput(_StaffOnlyFields):
    staff_only = ("patient_read_at", "patient_name")

    id = serializers.UUIDField()
    patient_id = serializers.UUIDField()
    subject = serializers.CharField()
    category = ChoiceField(choices=Category.choices)
    status = ChoiceField(choices=ThreadStatus.choices)
    priority = ChoiceField(choices=Priority.choices)
    assignee = MessagingPersonOutput(allow_null=True)
    unread_count = serializers.IntegerField(default=0)
    first_response_due_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    last_message_at = serializers.DateTimeField()
    # Only ever a message the patient can see: internal notes never become a preview.
    last_message = MessagePreviewOutput(source="last_public_message", allow_null=True)
    patient_read_at = serializers.DateTimeField(
        source="patient_read_state.read_at",
        required=False,
        allow_null=True,
        help_text="Staff only, on one thread: when the patient last read.",
    )
    patient_name = serializers.CharField(
        source="patient.user.full_name", required=False, help_text="Staff only."
    )

    def to_representation(self, thread: Any) -> Any:
        data = super().to_representation(thread)
        if not hasattr(thread, "patient_read_state"):
            # Lists do not load read receipts; only a single thread shows one.
            data.pop("patient_read_at", None)
        return data


# Messages are rendered without DRF too (a page of 50, and every send's response):
# `message_row_output` builds MessageOutput's shape from a row of `selectors.message_rows`;
# MessageOutput stays the schema, and a test holds the two equal
# (tests/messaging/test_thread_apis.py).
def message_output(
    message: Message, *, viewer: User, patient_read: ThreadReadState | None, zone: tzinfo
) -> dict[str, Any]:
    """MessageOutput of one message instance (`shown_attachments` loaded): a send's answer."""
    sender = message.sender
    row = {column: getattr(message, column) for column in selectors.MESSAGE_ROW_COLUMNS}
    row.update(
        sender_first_name=sender.first_name if sender is not None else None,
        sender_last_name=sender.last_name if sender is not None else None,
        sender_role=sender.role if sender is not None else None,
    )
    return message_row_output(
        row,
        attachments=message.shown_attachments,  # type: ignore[attr-defined]
        viewer=viewer,
        patient_read=patient_read,
        zone=zone,
    )


def message_row_output(
    row: dict[str, Any],
    *,
    attachments: list[Attachment],
    viewer: User,
    patient_read: ThreadReadState | None,
    zone: tzinfo,
) -> dict[str, Any]:
    """MessageOutput of one message read as a row (`selectors.message_rows`) for `viewer`;
    `patient_read` is the patient's read state for staff read receipts (None: not read, or a
    patient)."""
    sender_id = row["sender_id"]
    data: dict[str, Any] = {
        "id": uuid_text(row["id"]),
        "thread_id": uuid_text(row["thread_id"]),
        "sender": None
        if sender_id is None
        else {
            "id": uuid_text(sender_id),
            "name": full_name(row["sender_first_name"], row["sender_last_name"]),
            "role": row["sender_role"],
        },
        "sender_kind": row["sender_kind"],
        "body": row["body"],
        "internal": row["internal"],
        "created_at": _iso(row["created_at"], zone),
        "attachments": [_attachment_output(attachment) for attachment in attachments],
        "client_id": row["client_id"] if sender_id == viewer.id else None,
    }
    if _is_staff_reader(viewer):
        data["triage_flags"] = [str(code) for code in row["triage_flags"]]
        data["triage_hits"] = [_triage_hit_output(hit) for hit in row["triage_hits"]]
        data["triage_discounted"] = [
            {
                "concept": str(mention["concept"]),
                "words": str(mention["words"]),
                "modifiers": [str(modifier) for modifier in mention["modifiers"]],
                "source": str(mention["source"]),
            }
            for mention in row["triage_discounted"]
        ]
        data["read_by_patient"] = bool(
            not row["internal"]
            and patient_read is not None
            and row["public_position"] <= patient_read.read_public_position
        )
    return data


def _attachment_output(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": str(attachment.id),
        "content_type": attachment.content_type,
        "size": attachment.size,
        "url": reverse("attachment-detail", kwargs={"attachment_id": attachment.id}),
    }


def _triage_hit_output(hit: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": str(hit["code"]),
        "label": str(hit["label"]),
        "severity": hit["severity"],
        "words": [str(word) for word in hit["words"]],
        "modifiers": [str(modifier) for modifier in hit["modifiers"]],
        "sources": [str(source) for source in hit["sources"]],
    }


# The inbox renders its rows without DRF: `thread_summary_output` builds ThreadOutput's shape
# from `selectors.thread_summaries`' plain rows. ThreadOutput stays the schema, and a test holds
# the two outputs equal for every kind of row and viewer (tests/messaging/test_inbox.py).


_ZONEINFO_UTC = ZoneInfo("UTC")  # what Django's current time zone is with TIME_ZONE = "UTC"
_TWO_DIGITS = tuple(f"{number:02d}" for number in range(100))


def _iso(value: datetime | None, zone: tzinfo) -> str | None:
    """DRF's DateTimeField output (ISO 8601 in the current time zone, "Z" for UTC) for an aware
    datetime, without its per-call settings and time-zone look-ups (200 per inbox page)."""
    if value is None:
        return None
    if value.tzinfo is UTC and (zone is _ZONEINFO_UTC or zone is UTC):
        return _utc_iso(value)
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# Remembered (bounded): a care team polls its inbox and the same threads come back with the same
# times (created, last message, first response due, the preview's); looking one up costs a tenth
# of writing it out, and an inbox page writes 200.
@functools.lru_cache(maxsize=65_536)
def _utc_iso(value: datetime) -> str:
    """`value.isoformat()` of a UTC datetime, "Z" for its offset, written here: CPython's
    `isoformat` formats every field through C's sprintf, some 15,000 instructions a call, which
    was 14% of a care team's inbox page (docs/benchmarks.md). The database's times are UTC, as
    is the API's time zone."""
    two = _TWO_DIGITS
    text = (
        f"{value.year:04d}-{two[value.month]}-{two[value.day]}"
        f"T{two[value.hour]}:{two[value.minute]}:{two[value.second]}"
    )
    micro = value.microsecond
    return f"{text}.{micro:06d}Z" if micro else f"{text}Z"


def thread_summary_output(rows: list[dict[str, Any]], *, viewer: User) -> list[dict[str, Any]]:
    """ThreadOutput (many) of a page of `thread_summaries` rows, with their previews and, for
    staff, their patients' names (`summary_extras`: one query for the whole page)."""
    shown_to_staff = _is_staff_reader(viewer)
    extras = selectors.summary_extras(rows, with_patient_names=shown_to_staff)
    zone = timezone.get_current_timezone()
    output = []
    for row, extra in zip(rows, extras, strict=True):
        data = {
            "id": uuid_text(row["id"]),
            "patient_id": uuid_text(row["patient_id"]),
            "subject": row["subject"],
            "category": row["category"],
            "status": row["status"],
            "priority": row["priority"],
            "assignee": _assignee_output(row),
            "unread_count": row["unread_count"],
            "first_response_due_at": _iso(row["first_response_due_at"], zone),
            "created_at": _iso(row["created_at"], zone),
            "last_message_at": _iso(row["last_message_at"], zone),
            "last_message": _preview_output(extra.preview, zone),
        }
        if shown_to_staff:
            name = extra.patient_name
            assert name is not None, "every thread has a patient with an account"
            data["patient_name"] = full_name(name["first_name"], name["last_name"])
        output.append(data)
    return output


def _assignee_output(row: dict[str, Any]) -> dict[str, Any] | None:
    if row["assignee_id"] is None:
        return None
    return {
        "id": uuid_text(row["assignee_id"]),
        "name": full_name(row["assignee_first_name"], row["assignee_last_name"]),
        "role": row["assignee_role"],
    }


def _preview_output(
    preview: selectors.MessagePreview | None, zone: tzinfo
) -> dict[str, Any] | None:
    if preview is None:
        return None
    return {
        "id": uuid_text(preview["id"]),
        "sender_kind": preview["sender_kind"],
        "body": preview["preview"],
        "created_at": _iso(preview["created_at"], zone),
    }


def _messages_output(
    page: list[dict[str, Any]], *, viewer: User, patient_read: ThreadReadState | None
) -> list[dict[str, Any]]:
    """MessageOutput (many) of a page of `selectors.message_rows`, its attachments read here."""
    attachments = selectors.attachments_by_message(
        row["id"] for row in page if row["has_attachments"]
    )
    zone = timezone.get_current_timezone()
    return [
        message_row_output(
            row,
            attachments=attachments.get(row["id"], []),
            viewer=viewer,
            patient_read=patient_read,
            zone=zone,
        )
        for row in page
    ]


def _viewer(request: AuthenticatedRequest, **extra: Any) -> dict[str, Any]:
    return {"viewer": request.user, **extra}


# --- threads -----------------------------------------------------------------------------------


class ThreadPagination(CursorPagination):
    # Most recent activity first; the id tail keeps the cursor stable when times tie.
    ordering = ("-last_message_at", "-id")


class ThreadListApi(APIView):
    permission_classes = [has_role(*CLINICAL_READER_ROLES)]

    class FilterSerializer(AllErrorsSerializer):
        assigned = ChoiceField(choices=["me", "none"], required=False)
        status = ChoiceField(choices=ThreadStatus.choices, required=False)
        urgent = QueryBooleanField(
            required=False,
            default=None,
            help_text="true: priority urgent; false: routine or soon.",
        )
        priority = ChoiceField(choices=Priority.choices, required=False)
        overdue = QueryBooleanField(required=False, default=None)
        patient = serializers.UUIDField(required=False)

    class InputSerializer(StrictInput):
        subject = serializers.CharField(max_length=200)
        category = ChoiceField(choices=Category.choices)
        body = serializers.CharField(max_length=20000)
        patient = serializers.UUIDField(required=False, help_text="Staff only: the patient.")
        client_id = serializers.CharField(max_length=64, required=False)
        attachments = serializers.ListField(
            child=serializers.UUIDField(),
            required=False,
            max_length=10,
            help_text="Ids of files uploaded first with POST /api/v1/attachments/ (up to 10).",
        )

    @extend_schema(parameters=[FilterSerializer], responses={200: ThreadOutput(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        """Threads the caller may see, most recent activity first: a patient their own, the care
        team their patients' (the shared inbox). Filters: `assigned` (me, none), `status`,
        `urgent`, `overdue`, `patient`. Staff also see `patient_name` and `patient_read_at`."""
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        fields = filters.validated_data
        threads = selectors.thread_summaries(
            user=request.user,
            filters=selectors.ThreadFilters(
                assigned=fields.get("assigned"),
                status=fields.get("status"),
                urgent=fields.get("urgent"),
                priority=fields.get("priority"),
                overdue=fields.get("overdue"),
                patient_id=fields.get("patient"),
            ),
        )
        return audited_list_response(
            request=request,
            view=self,
            rows=threads,
            pagination_class=ThreadPagination,
            render_page=lambda page: thread_summary_output(page, viewer=request.user),
            object_type="message_thread",
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: ThreadOutput, 200: ThreadOutput},
        examples=[
            OpenApiExample(
                "Open a thread with a photo",
                value={
                    "subject": "Rash after new cream",
                    "category": "clinical",
                    "body": "Photo attached.",
                    "attachments": ["0b7d3f0e-5a3c-4f35-9c0e-2d4f5e6a7b8c"],
                    "client_id": "c-2026-03-09-001",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        """Open a thread with its first message: a patient with their care team, or a care-team
        member with a patient (`patient`). Send files by uploading them first (POST
        /api/v1/attachments/) and listing their ids in `attachments`. A repeated `client_id`
        returns the original thread (200) instead of a new one (201)."""
        if request.user.role not in WRITER_ROLES:
            raise Forbidden("Only patients and their care team open threads.")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        result = services.thread_open(
            actor=request.user,
            subject=fields["subject"],
            category=fields["category"],
            body=fields["body"],
            patient_id=fields.get("patient"),
            client_id=fields.get("client_id"),
            attachment_ids=fields.get("attachments", []),
        )
        thread = selectors.thread_detail(thread=result.thread, user=request.user)
        return Response(
            ThreadOutput(thread, context=_viewer(request)).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class ThreadDetailApi(APIView):
    permission_classes = [has_role(*CLINICAL_READER_ROLES)]

    @extend_schema(responses={200: ThreadOutput})
    def get(self, request: AuthenticatedRequest, thread_id: str) -> Response:
        """One thread with `priority`, `status`, `assignee`, `unread_count` and
        `first_response_due_at`; the patient and their care team, anyone else 404."""
        thread = selectors.thread_get(user=request.user, thread_id=thread_id)
        return Response(ThreadOutput(thread, context=_viewer(request)).data)


class MessagePagination(CursorPagination):
    # Oldest first; `position` is unique per thread and only grows, so a cursor never skips or
    # repeats a message while others are being sent.
    ordering = ("position",)


class PatientMessagePagination(CursorPagination):
    # A cursor carries the position it stops at (base64, readable by anyone). `position` counts
    # internal notes too, so its gaps would tell a patient that notes exist; a patient's cursor
    # uses `public_position`, which counts only what they see (unique among those messages).
    ordering = ("public_position",)


class MessageListApi(APIView):
    permission_classes = [has_role(*CLINICAL_READER_ROLES)]

    class InputSerializer(StrictInput):
        body = serializers.CharField(max_length=20000)
        internal = serializers.BooleanField(required=False, default=False)
        client_id = serializers.CharField(max_length=64, required=False)
        attachments = serializers.ListField(
            child=serializers.UUIDField(),
            required=False,
            max_length=10,
            help_text="Ids of files uploaded first with POST /api/v1/attachments/ (up to 10).",
        )

    @extend_schema(responses={200: MessageOutput(many=True)})
    def get(self, request: AuthenticatedRequest, thread_id: str) -> Response:
        """Messages of the thread, oldest first (follow `next`). Internal notes only for staff.
        Staff also see `triage_flags` and `read_by_patient`."""
        # The thread's READ event and the page's LIST event in one INSERT.
        with audit_batch():
            listing = selectors.thread_message_rows(user=request.user, thread_id=thread_id)
            return audited_list_response(
                request=request,
                view=self,
                rows=listing.messages,
                pagination_class=(
                    PatientMessagePagination
                    if request.user.role == Role.PATIENT
                    else MessagePagination
                ),
                render_page=lambda page: _messages_output(
                    page, viewer=request.user, patient_read=listing.patient_read
                ),
                object_type="message",
                patient_id_of=lambda _message: listing.thread.patient_id,
            )

    @extend_schema(
        request=InputSerializer,
        responses={201: MessageOutput, 200: MessageOutput},
        examples=[
            OpenApiExample(
                "Reply",
                value={"body": "Thanks, that helps.", "client_id": "c-2026-03-09-002"},
                request_only=True,
            )
        ],
    )
    def post(self, request: AuthenticatedRequest, thread_id: str) -> Response:
        """Send a message: `body`, optional `internal` (staff notes the patient never sees),
        `client_id` (a retry with the same one returns the original message, 200) and
        `attachments` (ids from POST /api/v1/attachments/, uploaded first)."""
        if request.user.role not in WRITER_ROLES:
            # Admins read under break-glass; they do not write to patients.
            raise Forbidden("Admins cannot send messages.")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        result = services.message_send(
            actor=request.user,
            thread_id=thread_id,
            body=fields["body"],
            internal=fields["internal"],
            client_id=fields.get("client_id"),
            attachment_ids=fields.get("attachments", []),
        )
        message = selectors.message_detail(message=result.message)
        return Response(
            message_output(
                message,
                viewer=request.user,
                patient_read=None,
                zone=timezone.get_current_timezone(),
            ),
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class ThreadReadApi(APIView):
    # Read state belongs to participants; a break-glass admin reads without leaving one.
    permission_classes = [has_role(*WRITER_ROLES)]

    class OutputSerializer(serializers.Serializer):
        thread_id = serializers.UUIDField()
        read_at = serializers.DateTimeField()
        # Everything is read once the caller has marked it so.
        unread_count = serializers.IntegerField(default=0)

    @extend_schema(request=None, responses={200: OutputSerializer})
    def post(self, request: AuthenticatedRequest, thread_id: str) -> Response:
        """Mark everything in the thread read for the caller, up to now."""
        state = services.thread_mark_read(actor=request.user, thread_id=thread_id)
        return Response(self.OutputSerializer(state).data)


class ThreadAssignApi(APIView):
    permission_classes = [has_role(*CARE_TEAM_ROLES)]

    class InputSerializer(StrictInput):
        assignee = serializers.UUIDField(allow_null=True, help_text="User id; null unassigns.")

    @extend_schema(request=InputSerializer, responses={200: ThreadOutput})
    def post(self, request: AuthenticatedRequest, thread_id: str) -> Response:
        """Assign the thread to a care-team member (`assignee`: their user id) or unassign it
        (null)."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        thread = services.thread_assign(
            actor=request.user, thread_id=thread_id, assignee_id=data.validated_data["assignee"]
        )
        return _thread_response(request, thread)


def _thread_response(request: AuthenticatedRequest, thread: Thread) -> Response:
    """A thread after an action on it, as the thread detail shows it to the caller."""
    thread = selectors.thread_detail(thread=thread, user=request.user)
    return Response(ThreadOutput(thread, context=_viewer(request)).data)


class ThreadCloseApi(APIView):
    permission_classes = [has_role(*CARE_TEAM_ROLES)]

    @extend_schema(request=None, responses={200: ThreadOutput})
    def post(self, request: AuthenticatedRequest, thread_id: str) -> Response:
        """Close the thread; a new patient message reopens it."""
        return _thread_response(
            request, services.thread_close(actor=request.user, thread_id=thread_id)
        )


class ThreadReopenApi(APIView):
    permission_classes = [has_role(*CARE_TEAM_ROLES)]

    @extend_schema(request=None, responses={200: ThreadOutput})
    def post(self, request: AuthenticatedRequest, thread_id: str) -> Response:
        """Reopen a closed thread."""
        return _thread_response(
            request, services.thread_reopen(actor=request.user, thread_id=thread_id)
        )


# --- attachments ----------------------------------------------------------------------------


class AttachmentUploadApi(APIView):
    permission_classes = [has_role(*WRITER_ROLES)]
    parser_classes = [MultiPartParser]

    class InputSerializer(StrictInput):
        file = serializers.FileField()

    @extend_schema(request=InputSerializer, responses={201: MessageAttachmentOutput})
    def post(self, request: AuthenticatedRequest) -> Response:
        """Step 1 of sending a file: upload it (multipart, field `file`; a JPEG, PNG or PDF,
        checked by content; image metadata such as EXIF/GPS is stripped, PDFs lose their metadata
        and active content). The answer's `id` is then sent in `attachments: [id]` of POST
        /threads/ or /threads/<id>/messages/ (step 2); an upload no message uses is never shown to
        anyone. A file over the size limit answers 413, an image over the pixel limit 400, and an
        upload while too many are still unsent 409 `too_many_unsent_attachments`."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attachment = services.attachment_upload(
            actor=request.user, upload=data.validated_data["file"]
        )
        return Response(MessageAttachmentOutput(attachment).data, status=status.HTTP_201_CREATED)


class JpegRenderer(FileRenderer):
    media_type = "image/jpeg"
    format = "jpg"


class PngRenderer(FileRenderer):
    media_type = "image/png"
    format = "png"


class PdfRenderer(FileRenderer):
    media_type = "application/pdf"
    format = "pdf"


class AttachmentDownloadApi(FileDownloadApi):
    permission_classes = [has_role(*CLINICAL_READER_ROLES)]
    # JSON first: errors, and what `*/*` or no Accept negotiates (the file is sent either way).
    renderer_classes = [OrjsonRenderer, JpegRenderer, PngRenderer, PdfRenderer]
    error_statuses = (406,)  # documented by carecore/common/schema.py

    @extend_schema(
        # The renderers' formats would list `?format=jpg|json|pdf|png` as a query parameter;
        # the type is the file's own, asked for with Accept. (`?format=` still works as DRF's
        # alias for Accept, one type: docs/api.md.)
        parameters=[OpenApiParameter("format", exclude=True)],
        responses={
            (200, media_type): OpenApiResponse(OpenApiTypes.BINARY, description="The file.")
            for media_type in ("image/jpeg", "image/png", "application/pdf")
        },
    )
    def get(self, request: AuthenticatedRequest, attachment_id: str) -> FileResponse:
        """Download an attachment: the uploader and whoever may read the message it was sent with;
        anyone else 404. Served as a download (`Content-Disposition: attachment`), never cached.
        `Accept` may name the file's type, a range holding it (`image/*`, `*/*`) or be left out;
        one that admits only other types (a PDF asked for as `image/jpeg`) is a 406."""
        attachment = selectors.attachment_get(user=request.user, attachment_id=attachment_id)
        self.refuse_unless_accepted(attachment.content_type)
        response = FileResponse(
            services.attachment_open(attachment=attachment),
            as_attachment=True,
            filename=f"attachment-{attachment.id}.{attachment.extension}",
            content_type=attachment.content_type,
        )
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
