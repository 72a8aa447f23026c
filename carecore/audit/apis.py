from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from carecore.accounts.models import Role
from carecore.accounts.requests import AuthenticatedRequest
from carecore.common.fields import AllErrorsSerializer
from carecore.common.pagination import CursorPagination
from carecore.common.permissions import has_role

from .models import Action, AuditEvent
from .selectors import audit_event_list
from .services import audit_record


class AuditEventPagination(CursorPagination):
    ordering = ("-occurred_at", "-id")


class AuditEventListApi(APIView):
    """Admin only: the audit trail, newest first, filtered by patient, actor, time and action."""

    permission_classes = [has_role(Role.ADMIN)]

    class FilterSerializer(AllErrorsSerializer):
        patient = serializers.UUIDField(required=False)
        actor = serializers.UUIDField(required=False)
        since = serializers.DateTimeField(required=False)
        until = serializers.DateTimeField(required=False)
        action = serializers.ChoiceField(choices=Action.choices, required=False)

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = AuditEvent
            fields = [
                "id",
                "occurred_at",
                "actor_id",
                "actor_role",
                "patient_id",
                "patient_ids",
                "object_type",
                "object_id",
                "action",
                "outcome",
                "ip",
                "request_id",
                "detail",
            ]

    @extend_schema(parameters=[FilterSerializer], responses={200: OutputSerializer(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        events = audit_event_list(
            patient_id=data.get("patient"),
            actor_id=data.get("actor"),
            since=data.get("since"),
            until=data.get("until"),
            action=data.get("action"),
        )
        # Reading the trail is itself recorded: who looked at whose history.
        audit_record(
            actor=request.user,
            object_type="audit_event",
            patient_id=data.get("patient"),
            action=Action.LIST,
        )
        paginator = AuditEventPagination()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)
