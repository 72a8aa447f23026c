"""HTTP for notifications: the in-app list, read state, and preferences. Any signed-in user."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from carecore.accounts.requests import AuthenticatedRequest
from carecore.audit.lists import audited_list_response
from carecore.common.pagination import CursorPagination

from . import services
from .access import own_patient_id
from .models import Channel, Event
from .policy import parse_hhmm
from .selectors import Preferences, notification_inbox, notification_preferences_get


class NotificationOutput(serializers.Serializer):
    id = serializers.UUIDField()
    event = serializers.ChoiceField(choices=Event.choices)
    title = serializers.CharField()
    body = serializers.CharField()
    link_path = serializers.CharField()
    urgent = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class NotificationPagination(CursorPagination):
    ordering = ("-created_at", "-id")


class NotificationListApi(APIView):
    """The caller's in-app notifications, newest first; `?unread=true` for unread ones only."""

    class FilterSerializer(serializers.Serializer):
        unread = serializers.BooleanField(required=False, default=False)

    @extend_schema(parameters=[FilterSerializer], responses={200: NotificationOutput(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        patient_id = own_patient_id(request.user)
        return audited_list_response(
            request=request,
            view=self,
            rows=notification_inbox(
                user=request.user, unread_only=filters.validated_data["unread"]
            ),
            pagination_class=NotificationPagination,
            serializer_class=NotificationOutput,
            object_type="notification",
            patient_id_of=lambda _notification: patient_id,
        )


class NotificationReadApi(APIView):
    @extend_schema(request=None, responses={200: NotificationOutput})
    def post(self, request: AuthenticatedRequest, notification_id: str) -> Response:
        notification = services.notification_mark_read(
            user=request.user, notification_id=notification_id
        )
        return Response(NotificationOutput(notification).data)


class NotificationReadAllApi(APIView):
    class OutputSerializer(serializers.Serializer):
        marked = serializers.IntegerField()

    @extend_schema(request=None, responses={200: OutputSerializer})
    def post(self, request: AuthenticatedRequest) -> Response:
        marked = services.notification_mark_all_read(user=request.user)
        return Response(self.OutputSerializer({"marked": marked}).data, status=status.HTTP_200_OK)


class _TimeOfDay(serializers.CharField):
    """ "HH:MM" (24-hour), in the user's own time zone."""

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        try:
            return parse_hhmm(value[:6])
        except ValueError as error:
            raise serializers.ValidationError("Use 24-hour HH:MM, e.g. 22:00.") from error

    def to_representation(self, value: Any) -> str:
        return str(value.strftime("%H:%M"))


class QuietHoursWindow(serializers.Serializer):
    start = _TimeOfDay()
    end = _TimeOfDay()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["start"] == attrs["end"]:
            raise serializers.ValidationError("Start and end must differ.")
        return attrs


class NotificationPreferenceItem(serializers.Serializer):
    event = serializers.ChoiceField(choices=Event.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    enabled = serializers.BooleanField()


class NotificationPreferencesApi(APIView):
    """Every event x channel with its effective value, and quiet hours in the user's time zone.

    PUT replaces the listed rows only; omitting `quiet_hours` leaves them as they are, `null`
    turns them off.
    """

    class InputSerializer(serializers.Serializer):
        preferences = NotificationPreferenceItem(many=True, required=False, default=list)
        quiet_hours = QuietHoursWindow(required=False, allow_null=True)

    class OutputSerializer(serializers.Serializer):
        preferences = NotificationPreferenceItem(many=True, source="rows")
        quiet_hours = serializers.SerializerMethodField()

        @extend_schema_field(QuietHoursWindow(allow_null=True))
        def get_quiet_hours(self, preferences: Preferences) -> Any:
            if preferences.quiet_hours is None:
                return None
            start, end = preferences.quiet_hours
            return QuietHoursWindow({"start": start, "end": end}).data

    def _render(self, request: AuthenticatedRequest) -> Response:
        preferences = notification_preferences_get(user=request.user)
        return Response(self.OutputSerializer(preferences).data)

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request: AuthenticatedRequest) -> Response:
        return self._render(request)

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def put(self, request: AuthenticatedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        quiet: Any = services.KEEP
        if "quiet_hours" in fields:
            quiet = (
                (fields["quiet_hours"]["start"], fields["quiet_hours"]["end"])
                if fields["quiet_hours"]
                else None
            )
        services.notification_preferences_set(
            user=request.user, preferences=fields["preferences"], quiet_hours=quiet
        )
        return self._render(request)
