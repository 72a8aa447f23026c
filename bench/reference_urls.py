"""The bare reference's three endpoints: what a send, a thread page and an inbox need at least.

Each authenticates the bearer token (knox, as the product), checks ownership with one indexed
query, does one write or one keyset read, and renders through a DRF serializer. Anything the
product does beyond this (access rules, audit, triage, notifications, read state, throttles,
real-time events) is what the ratio in docs/benchmarks.md prices.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from django.db import connection, transaction
from django.urls import path
from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from messaging.models import Message, SenderKind, Thread


def _user_id(request: Request) -> UUID:
    return UUID(str(request.user.pk))  # authenticated: the permission class let it in


class MessageRow(serializers.Serializer):
    id = serializers.UUIDField()
    thread_id = serializers.UUIDField()
    sender_kind = serializers.CharField()
    body = serializers.CharField()
    created_at = serializers.DateTimeField()


class ThreadRow(serializers.Serializer):
    id = serializers.UUIDField()
    patient_id = serializers.UUIDField()
    subject = serializers.CharField()
    status = serializers.CharField()
    last_message_at = serializers.DateTimeField()


def _next_position(
    *, thread_id: UUID, user_id: UUID, message_id: UUID, now: datetime
) -> int | None:
    """Ownership check and the next position in one statement (the row lock keeps order). The
    thread names the message about to be written and its time, as the product's data must
    (messaging migration 0008 checks the pair at commit)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE messaging_thread SET message_count = message_count + 1,"
            " public_message_count = public_message_count + 1, last_message_at = %s,"
            " last_public_message_id = %s WHERE id = %s AND patient_id IN"
            " (SELECT id FROM accounts_patient WHERE user_id = %s) RETURNING message_count",
            [now, message_id, thread_id, user_id],
        )
        row = cursor.fetchone()
    return row[0] if row else None


class SendApi(APIView):
    def post(self, request: Request, thread_id: UUID) -> Response:
        message_id, now = uuid4(), timezone.now()
        with transaction.atomic():
            position = _next_position(
                thread_id=thread_id, user_id=_user_id(request), message_id=message_id, now=now
            )
            if position is None:
                return Response(status=status.HTTP_404_NOT_FOUND)
            message = Message.objects.create(
                id=message_id,
                created_at=now,
                thread_id=thread_id,
                sender_id=request.user.pk,
                sender_kind=SenderKind.PATIENT,
                body=str(dict(request.data).get("body", "")),
                position=position,
                public_position=position,
            )
        return Response(MessageRow(message).data, status=status.HTTP_201_CREATED)


class PageApi(APIView):
    def get(self, request: Request, thread_id: UUID) -> Response:
        if not Thread.objects.filter(id=thread_id, patient__user_id=_user_id(request)).exists():
            return Response(status=status.HTTP_404_NOT_FOUND)
        size = min(int(request.query_params.get("page_size", 50)), 200)
        rows = Message.objects.filter(thread_id=thread_id, internal=False).order_by("-position")
        return Response({"results": MessageRow(rows[:size], many=True).data})


class InboxApi(APIView):
    def get(self, request: Request) -> Response:
        size = min(int(request.query_params.get("page_size", 50)), 200)
        rows = Thread.objects.filter(
            patient__care_team__memberships__user_id=_user_id(request)
        ).order_by("-last_message_at", "-id")
        return Response({"results": ThreadRow(rows[:size], many=True).data})


urlpatterns = [
    path("bare/threads/", InboxApi.as_view()),
    path("bare/threads/<uuid:thread_id>/messages/", PageApi.as_view()),
    path("bare/threads/<uuid:thread_id>/send/", SendApi.as_view()),
]
