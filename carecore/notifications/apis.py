"""HTTP for notifications: the in-app list, read state, preferences and web push subscriptions.
Any signed-in user."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from carecore.audit.services import AuditTarget, audit_record_many
from carecore.common.fields import AllErrorsSerializer, StrictInput
from carecore.common.pagination import CursorPagination

from . import services
from .access import access_notification, access_push_subscription, own_patient_id
from .models import Channel, Event
from .policy import parse_hhmm
from .selectors import notification_inbox, notification_preferences_get, push_subscriptions_of


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
        unread = serializers.BooleanField(required=False, default=False)

    @extend_schema(parameters=[FilterSerializer], responses={200: NotificationOutput(many=True)})
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        paginator = NotificationPagination()
        page = paginator.paginate_queryset(
            notification_inbox(user=request.user, unread_only=filters.validated_data["unread"]),
            request,
            view=self,
        )
        patient_id = own_patient_id(request.user)
        audit_record_many(
            actor=request.user,
            targets=[AuditTarget("notification", str(row.id), patient_id) for row in page],
        )
        return paginator.get_paginated_response(NotificationOutput(page, many=True).data)


class NotificationReadApi(APIView):
    @extend_schema(request=None, responses={200: NotificationOutput})
    def post(self, request: Request, notification_id: str) -> Response:
        """Mark one of the caller's in-app notifications read."""
        notification = access_notification(
            user=request.user, notification_id=notification_id, for_write=True
        )
        notification = services.notification_mark_read(user=request.user, notification=notification)
        return Response(NotificationOutput(notification).data)


class NotificationReadAllApi(APIView):
    class OutputSerializer(serializers.Serializer):
        marked = serializers.IntegerField()

    @extend_schema(request=None, responses={200: OutputSerializer})
    def post(self, request: Request) -> Response:
        """Mark all of the caller's in-app notifications read."""
        marked = services.notification_mark_all_read(user=request.user)
        return Response({"marked": marked}, status=status.HTTP_200_OK)


@extend_schema_field({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"})
class _TimeOfDay(serializers.CharField):
    """ "HH:MM" (24-hour), in the user's own time zone."""

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        try:
            return parse_hhmm(value[:6])
        except ValueError as error:
            raise serializers.ValidationError("Use 24-hour HH:MM, e.g. 22:00.") from error


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


def _preferences_payload(user: Any) -> dict[str, Any]:
    prefs = notification_preferences_get(user=user)
    quiet = prefs.quiet_hours
    return {
        "preferences": [
            {"event": row.event, "channel": row.channel, "enabled": row.enabled}
            for row in prefs.rows
        ],
        "quiet_hours": (
            {"start": quiet[0].strftime("%H:%M"), "end": quiet[1].strftime("%H:%M")}
            if quiet
            else None
        ),
    }


class NotificationPreferencesApi(APIView):
    """Every event x channel with its effective value, and quiet hours in the user's time zone.

    PUT replaces the listed rows only; omitting `quiet_hours` leaves them as they are, `null`
    turns them off.
    """

    class InputSerializer(StrictInput):
        preferences = NotificationPreferenceItem(many=True, required=False, default=list)
        quiet_hours = QuietHoursWindow(required=False, allow_null=True)

    class OutputSerializer(serializers.Serializer):
        preferences = NotificationPreferenceItem(many=True)
        quiet_hours = QuietHoursWindow(allow_null=True)

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        return Response(_preferences_payload(request.user))

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def put(self, request: Request) -> Response:
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
        return Response(_preferences_payload(request.user))


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
    def get(self, request: Request) -> Response:
        subscriptions = list(push_subscriptions_of(user=request.user))
        return Response(
            {
                "vapid_public_key": settings.CARECORE_WEBPUSH_VAPID_PUBLIC_KEY,
                "subscriptions": PushSubscriptionOutput(subscriptions, many=True).data,
            }
        )

    @extend_schema(request=InputSerializer, responses={201: PushSubscriptionOutput})
    def post(self, request: Request) -> Response:
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
    def delete(self, request: Request, subscription_id: str) -> Response:
        subscription = access_push_subscription(
            user=request.user, subscription_id=subscription_id, for_write=True
        )
        services.push_subscription_delete(user=request.user, subscription=subscription)
        return Response(status=status.HTTP_204_NO_CONTENT)
