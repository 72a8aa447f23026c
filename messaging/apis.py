"""HTTP for messaging: threads, messages, read state, the shared inbox and attachments.

Views parse, check the role, call a service or selector, audit list reads and serialise.
Schedulers get 403 on every endpoint here (minimum necessary); admins read only under
break-glass (the access helpers decide) and never write.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from carecore.accounts.models import Role, User
from carecore.audit.services import AuditTarget, audit_record_many
from carecore.clinical.severity import Severity
from carecore.common.errors import Forbidden, ValidationFailed
from carecore.common.fields import AllErrorsSerializer, ChoiceField, StrictInput
from carecore.common.pagination import CursorPagination
from carecore.common.permissions import has_role

from . import selectors, services
from .access import access_attachment, access_thread
from .models import Category, Message, Priority, Thread, ThreadReadState, ThreadStatus

_READERS = (Role.PATIENT, Role.CLINICIAN, Role.COORDINATOR, Role.ADMIN)
_WRITERS = (Role.PATIENT, Role.CLINICIAN, Role.COORDINATOR)
_CARE_TEAM = (Role.CLINICIAN, Role.COORDINATOR)
PREVIEW_CHARS = 140


def _is_staff_reader(user: User) -> bool:
    return user.role != Role.PATIENT


# --- output shapes ----------------------------------------------------------------------------


class MessagingPersonOutput(serializers.Serializer):
    id = serializers.UUIDField(help_text="User id.")
    name = serializers.CharField()
    role = serializers.CharField()


class MessageAttachmentOutput(serializers.Serializer):
    id = serializers.UUIDField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    url = serializers.CharField()


class TriageHitOutput(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    severity = serializers.ChoiceField(choices=[s.value for s in Severity])
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
    source = serializers.CharField(help_text='"subject" or "body".')


class MessageOutput(serializers.Serializer):
    id = serializers.UUIDField()
    thread_id = serializers.UUIDField()
    sender = MessagingPersonOutput(allow_null=True, help_text="Null for automatic replies.")
    sender_kind = ChoiceField(choices=["patient", "staff", "system"])
    body = serializers.CharField()
    internal = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    attachments = MessageAttachmentOutput(many=True)
    client_id = serializers.CharField(allow_null=True, help_text="Only shown to its sender.")
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
    read_by_patient = serializers.BooleanField(
        required=False, help_text="Staff only: read receipt."
    )


class MessagePreviewOutput(serializers.Serializer):
    id = serializers.UUIDField()
    sender_kind = serializers.CharField()
    body = serializers.CharField()
    created_at = serializers.DateTimeField()


class ThreadOutput(serializers.Serializer):
    id = serializers.UUIDField()
    patient_id = serializers.UUIDField()
    subject = serializers.CharField()
    category = ChoiceField(choices=Category.choices)
    status = ChoiceField(choices=ThreadStatus.choices)
    priority = ChoiceField(choices=Priority.choices)
    assignee = MessagingPersonOutput(allow_null=True)
    unread_count = serializers.IntegerField()
    first_response_due_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    last_message_at = serializers.DateTimeField()
    last_message = MessagePreviewOutput(allow_null=True)
    patient_read_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Staff only: when the patient last read."
    )
    patient_name = serializers.CharField(required=False, help_text="Staff only.")


def person_payload(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": str(user.id), "name": user.full_name, "role": user.role}


def attachment_payload(attachment: Any) -> dict[str, Any]:
    return {
        "id": str(attachment.id),
        "content_type": attachment.content_type,
        "size": attachment.size,
        "url": reverse("attachment-detail", kwargs={"attachment_id": attachment.id}),
    }


def message_payload(
    message: Message, *, viewer: User, patient_read: ThreadReadState | None = None
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": str(message.id),
        "thread_id": str(message.thread_id),
        "sender": person_payload(message.sender),
        "sender_kind": message.sender_kind,
        "body": message.body,
        "internal": message.internal,
        "created_at": message.created_at.isoformat(),
        "attachments": [attachment_payload(a) for a in message.attachments.all()],
        "client_id": message.client_id if message.sender_id == viewer.id else None,
    }
    if _is_staff_reader(viewer):
        payload["triage_flags"] = list(message.triage_flags)
        payload["triage_hits"] = list(message.triage_hits)
        payload["triage_discounted"] = list(message.triage_discounted)
        payload["read_by_patient"] = bool(
            not message.internal
            and patient_read is not None
            and message.public_position <= patient_read.read_public_position
        )
    return payload


def thread_payload(thread: Thread, *, viewer: User) -> dict[str, Any]:
    preview = thread.last_public_message
    payload: dict[str, Any] = {
        "id": str(thread.id),
        "patient_id": str(thread.patient_id),
        "subject": thread.subject,
        "category": thread.category,
        "status": thread.status,
        "priority": thread.priority,
        "assignee": person_payload(thread.assignee),
        "unread_count": int(getattr(thread, "unread_count", 0)),
        "first_response_due_at": (
            thread.first_response_due_at.isoformat() if thread.first_response_due_at else None
        ),
        "created_at": thread.created_at.isoformat(),
        "last_message_at": thread.last_message_at.isoformat(),
        # Only ever a message the patient can see: internal notes never become a preview.
        "last_message": (
            {
                "id": str(preview.id),
                "sender_kind": preview.sender_kind,
                "body": preview.body[:PREVIEW_CHARS],
                "created_at": preview.created_at.isoformat(),
            }
            if preview
            else None
        ),
    }
    if _is_staff_reader(viewer):
        payload["patient_name"] = thread.patient.user.full_name
    if _is_staff_reader(viewer) and hasattr(thread, "patient_read_state"):
        state = thread.patient_read_state
        payload["patient_read_at"] = state.read_at.isoformat() if state else None
    return payload


def _audit_threads(user: User, threads: list[Thread]) -> None:
    audit_record_many(
        actor=user,
        targets=[AuditTarget("message_thread", str(t.id), t.patient_id) for t in threads],
    )


# --- threads -----------------------------------------------------------------------------------


class ThreadPagination(CursorPagination):
    # Most recent activity first; the id tail keeps the cursor stable when times tie.
    ordering = ("-last_message_at", "-id")


class ThreadListApi(APIView):
    permission_classes = [has_role(*_READERS)]

    class FilterSerializer(AllErrorsSerializer):
        assigned = ChoiceField(choices=["me", "none"], required=False)
        status = ChoiceField(choices=ThreadStatus.choices, required=False)
        urgent = serializers.BooleanField(
            required=False,
            allow_null=True,
            default=None,
            help_text="true: priority urgent; false: routine or soon.",
        )
        priority = ChoiceField(choices=Priority.choices, required=False)
        overdue = serializers.BooleanField(required=False, allow_null=True, default=None)
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
    def get(self, request: Request) -> Response:
        """Threads the caller may see, most recent activity first: a patient their own, the care
        team their patients' (the shared inbox). Filters: `assigned` (me, none), `status`,
        `urgent`, `overdue`, `patient`. Staff also see `patient_name` and `patient_read_at`."""
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        fields = filters.validated_data
        threads = selectors.thread_list(
            user=request.user,
            assigned=fields.get("assigned"),
            status=fields.get("status"),
            urgent=fields.get("urgent"),
            priority=fields.get("priority"),
            overdue=fields.get("overdue"),
            patient_id=fields.get("patient"),
        )
        paginator = ThreadPagination()
        page = paginator.paginate_queryset(threads, request, view=self)
        _audit_threads(request.user, page)
        return paginator.get_paginated_response(
            [thread_payload(thread, viewer=request.user) for thread in page]
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
    def post(self, request: Request) -> Response:
        """Open a thread with its first message: a patient with their care team, or a care-team
        member with a patient (`patient`). Send files by uploading them first (POST
        /api/v1/attachments/) and listing their ids in `attachments`. A repeated `client_id`
        returns the original thread (200) instead of a new one (201)."""
        if request.user.role not in _WRITERS:
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
            thread_payload(thread, viewer=request.user),
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class ThreadDetailApi(APIView):
    permission_classes = [has_role(*_READERS)]

    @extend_schema(responses={200: ThreadOutput})
    def get(self, request: Request, thread_id: str) -> Response:
        """One thread with `priority`, `status`, `assignee`, `unread_count` and
        `first_response_due_at`; the patient and their care team, anyone else 404."""
        thread = access_thread(user=request.user, thread_id=thread_id)
        thread = selectors.thread_detail(thread=thread, user=request.user)
        return Response(thread_payload(thread, viewer=request.user))


class MessagePagination(CursorPagination):
    # Oldest first; `position` is unique per thread and only grows, so a cursor never skips or
    # repeats a message while others are being sent.
    ordering = ("position",)


class MessageListApi(APIView):
    permission_classes = [has_role(*_READERS)]

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
    def get(self, request: Request, thread_id: str) -> Response:
        """Messages of the thread, oldest first (follow `next`). Internal notes only for staff.
        Staff also see `triage_flags` and `read_by_patient`."""
        user = request.user
        thread = access_thread(user=user, thread_id=thread_id)
        patient_read = (
            selectors.patient_read_state(thread=thread) if _is_staff_reader(user) else None
        )
        paginator = MessagePagination()
        page = paginator.paginate_queryset(
            selectors.message_list(thread=thread, user=user), request, view=self
        )
        audit_record_many(
            actor=user,
            targets=[AuditTarget("message", str(m.id), thread.patient_id) for m in page],
        )
        return paginator.get_paginated_response(
            [message_payload(m, viewer=user, patient_read=patient_read) for m in page]
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
    def post(self, request: Request, thread_id: str) -> Response:
        """Send a message: `body`, optional `internal` (staff notes the patient never sees),
        `client_id` (a retry with the same one returns the original message, 200) and
        `attachments` (ids from POST /api/v1/attachments/, uploaded first)."""
        if request.user.role not in _WRITERS:
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
        message = (
            Message.objects.select_related("sender")
            .prefetch_related("attachments")
            .get(pk=result.message.pk)
        )
        return Response(
            message_payload(message, viewer=request.user),
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class ThreadReadApi(APIView):
    # Read state belongs to participants; a break-glass admin reads without leaving one.
    permission_classes = [has_role(*_WRITERS)]

    class OutputSerializer(serializers.Serializer):
        thread_id = serializers.UUIDField()
        read_at = serializers.DateTimeField()
        unread_count = serializers.IntegerField()

    @extend_schema(request=None, responses={200: OutputSerializer})
    def post(self, request: Request, thread_id: str) -> Response:
        """Mark everything in the thread read for the caller, up to now."""
        state = services.thread_mark_read(actor=request.user, thread_id=thread_id)
        return Response(
            {
                "thread_id": str(state.thread_id),
                "read_at": state.read_at.isoformat(),
                "unread_count": 0,
            }
        )


class ThreadAssignApi(APIView):
    permission_classes = [has_role(*_CARE_TEAM)]

    class InputSerializer(StrictInput):
        assignee = serializers.UUIDField(allow_null=True, help_text="User id; null unassigns.")

    @extend_schema(request=InputSerializer, responses={200: ThreadOutput})
    def post(self, request: Request, thread_id: str) -> Response:
        """Assign the thread to a care-team member (`assignee`: their user id) or unassign it
        (null)."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        thread = services.thread_assign(
            actor=request.user, thread_id=thread_id, assignee_id=data.validated_data["assignee"]
        )
        thread = selectors.thread_detail(thread=thread, user=request.user)
        return Response(thread_payload(thread, viewer=request.user))


class ThreadCloseApi(APIView):
    permission_classes = [has_role(*_CARE_TEAM)]

    @extend_schema(request=None, responses={200: ThreadOutput})
    def post(self, request: Request, thread_id: str) -> Response:
        """Close the thread; a new patient message reopens it."""
        thread = services.thread_close(actor=request.user, thread_id=thread_id)
        thread = selectors.thread_detail(thread=thread, user=request.user)
        return Response(thread_payload(thread, viewer=request.user))


class ThreadReopenApi(APIView):
    permission_classes = [has_role(*_CARE_TEAM)]

    @extend_schema(request=None, responses={200: ThreadOutput})
    def post(self, request: Request, thread_id: str) -> Response:
        """Reopen a closed thread."""
        thread = services.thread_reopen(actor=request.user, thread_id=thread_id)
        thread = selectors.thread_detail(thread=thread, user=request.user)
        return Response(thread_payload(thread, viewer=request.user))


# --- attachments ----------------------------------------------------------------------------


class AttachmentUploadApi(APIView):
    permission_classes = [has_role(*_WRITERS)]
    parser_classes = [MultiPartParser]

    class InputSerializer(StrictInput):
        file = serializers.FileField()

    @extend_schema(request=InputSerializer, responses={201: MessageAttachmentOutput})
    def post(self, request: Request) -> Response:
        """Step 1 of sending a file: upload it (multipart, field `file`; a JPEG, PNG or PDF,
        checked by content; image metadata such as EXIF/GPS is stripped). The answer's `id` is
        then sent in `attachments: [id]` of POST /threads/ or /threads/<id>/messages/ (step 2);
        an upload no message uses is never shown to anyone."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        limit = settings.CARECORE_MESSAGING_ATTACHMENT_MAX_BYTES
        if upload.size > limit:
            raise ValidationFailed(fields={"file": [f"Files may be at most {limit} bytes."]})
        attachment = services.attachment_upload(actor=request.user, data=upload.read())
        return Response(attachment_payload(attachment), status=status.HTTP_201_CREATED)


class AttachmentDownloadApi(APIView):
    permission_classes = [has_role(*_READERS)]

    @extend_schema(
        responses={
            (200, media_type): OpenApiResponse(OpenApiTypes.BINARY, description="The file.")
            for media_type in ("image/jpeg", "image/png", "application/pdf")
        }
    )
    def get(self, request: Request, attachment_id: str) -> FileResponse:
        """Download an attachment: the uploader and whoever may read the message it was sent with;
        anyone else 404. Served as a download (`Content-Disposition: attachment`), never cached."""
        attachment = access_attachment(user=request.user, attachment_id=attachment_id)
        response = FileResponse(
            services.attachment_open(attachment=attachment),
            as_attachment=True,
            filename=f"attachment-{attachment.id}.{attachment.extension}",
            content_type=attachment.content_type,
        )
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
