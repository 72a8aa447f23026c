"""HTTP for notifications: the in-app list, read state, preferences and web push subscriptions.
Any signed-in user."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from carecore.accounts.requests import AuthenticatedRequest
from carecore.audit.lists import audited_list_response
from carecore.common.fields import AllErrorsSerializer, QueryBooleanField, StrictInput
from carecore.common.pagination import CursorPagination

from . import services
from .access import own_patient_id
from .models import Channel, Event
from .policy import parse_hhmm
from .selectors import (
    Preferences,
    notification_inbox,
    notification_preferences_get,
    push_subscriptions_of,
)


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

    class FilterSerializer(AllErrorsSerializer):
        unread = QueryBooleanField(required=False, default=False)

    @extend_schema(parameters=[FilterSerializer], responses={200: NotificationOutput(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
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
        """Mark one of the caller's in-app notifications read."""
        notification = services.notification_mark_read(
            user=request.user, notification_id=notification_id
        )
        return Response(NotificationOutput(notification).data)


class NotificationReadAllApi(APIView):
    class OutputSerializer(serializers.Serializer):
        marked = serializers.IntegerField()

    @extend_schema(request=None, responses={200: OutputSerializer})
    def post(self, request: AuthenticatedRequest) -> Response:
        """Mark all of the caller's in-app notifications read."""
        marked = services.notification_mark_all_read(user=request.user)
        return Response(self.OutputSerializer({"marked": marked}).data, status=status.HTTP_200_OK)


@extend_schema_field({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"})
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


class QuietHoursWindow(StrictInput):
    start = _TimeOfDay()
    end = _TimeOfDay()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["start"] == attrs["end"]:
            raise serializers.ValidationError("Start and end must differ.")
        return attrs


class NotificationPreferenceItem(StrictInput):
    event = serializers.ChoiceField(choices=Event.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    enabled = serializers.BooleanField()


class NotificationPreferencesApi(APIView):
    """Every event x channel with its effective value, and quiet hours in the user's time zone.

    PUT replaces the listed rows only; omitting `quiet_hours` leaves them as they are, `null`
    turns them off.
    """

    class InputSerializer(StrictInput):
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


class PushSubscriptionOutput(serializers.Serializer):
    id = serializers.UUIDField()
    endpoint = serializers.URLField()
    created_at = serializers.DateTimeField()
    last_success_at = serializers.DateTimeField(allow_null=True)


class PushKeysInput(serializers.Serializer):
    p256dh = serializers.CharField(max_length=200, help_text="The browser's P-256 public key.")
    auth = serializers.CharField(max_length=100, help_text="The browser's auth secret.")


class PushSubscriptionListApi(APIView):
    """The caller's web push subscriptions (one per browser) and the VAPID public key a portal
    page passes to `pushManager.subscribe`. POST registers the browser's PushSubscription as
    the browser gives it (`subscription.toJSON()`); the same endpoint again refreshes it."""

    class InputSerializer(serializers.Serializer):
        endpoint = serializers.URLField(max_length=1000)
        keys = PushKeysInput()

    class OutputSerializer(serializers.Serializer):
        vapid_public_key = serializers.CharField(allow_blank=True)
        subscriptions = PushSubscriptionOutput(many=True)

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request: AuthenticatedRequest) -> Response:
        subscriptions = list(push_subscriptions_of(user=request.user))
        return Response(
            {
                "vapid_public_key": settings.CARECORE_WEBPUSH_VAPID_PUBLIC_KEY,
                "subscriptions": PushSubscriptionOutput(subscriptions, many=True).data,
            }
        )

    @extend_schema(request=InputSerializer, responses={201: PushSubscriptionOutput})
    def post(self, request: AuthenticatedRequest) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subscription = services.push_subscription_register(
            user=request.user,
            endpoint=data["endpoint"],
            p256dh=data["keys"]["p256dh"],
            auth=data["keys"]["auth"],
        )
        return Response(PushSubscriptionOutput(subscription).data, status=status.HTTP_201_CREATED)


class PushSubscriptionDetailApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: AuthenticatedRequest, subscription_id: str) -> Response:
        """Remove one of the caller's web-push subscriptions (e.g. on sign-out in that browser);
        someone else's is a 404."""
        services.push_subscription_delete(user=request.user, subscription_id=subscription_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
