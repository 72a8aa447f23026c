"""HTTP for the real-time feed: WebSocket tickets and the event list. Any signed-in user, about
their own feed only."""

from __future__ import annotations

import redis
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from carecore.accounts.requests import AuthenticatedRequest
from carecore.common.errors import ApplicationError
from carecore.common.fields import AllErrorsSerializer, QueryIntegerField
from carecore.common.pagination import CursorPagination

from . import selectors, services
from .models import EventType


class RealtimeUnavailable(ApplicationError):
    code = "realtime_unavailable"
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_message = "Live updates are unavailable right now; use GET /api/v1/events/."


class TicketApi(APIView):
    """A single-use ticket (30 s) for opening `/ws/events/`: offer the subprotocols
    `carecore.v1` and `ticket.<ticket>`. See docs/realtime.md."""

    class OutputSerializer(serializers.Serializer):
        ticket = serializers.CharField()
        expires_at = serializers.DateTimeField()

    @extend_schema(request=None, responses={201: OutputSerializer})
    def post(self, request: AuthenticatedRequest) -> Response:
        try:
            ticket = services.ticket_issue(user=request.user)
        except redis.RedisError as error:
            raise RealtimeUnavailable() from error
        return Response(
            self.OutputSerializer(ticket).data,
            status=status.HTTP_201_CREATED,
            headers={"Cache-Control": "no-store"},
        )


class EventOutput(serializers.Serializer):
    seq = serializers.IntegerField()
    type = serializers.ChoiceField(choices=EventType.choices)
    at = serializers.DateTimeField()
    # A declared field named `data`: DRF takes it off the class, so it does not shadow
    # Serializer.data at run time (the stubs see a class attribute).
    data = serializers.DictField(  # type: ignore[assignment]
        help_text="Ids and status words only; fetch content by id."
    )


class EventPagination(CursorPagination):
    ordering = ("seq",)


class EventListApi(APIView):
    """The caller's events in order: `?after=<seq>` for those after a sequence number (410
    `events_pruned` when some of them are no longer kept), without it every kept event."""

    error_statuses = (410,)  # documented by carecore/common/schema.py

    class FilterSerializer(AllErrorsSerializer):
        after = QueryIntegerField(required=False)

    @extend_schema(parameters=[FilterSerializer], responses={200: EventOutput(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        # A plain dict: `?after=` is an empty value to refuse (a QueryDict is read as an HTML
        # form, where "" is "not sent": it listed every event).
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        paginator = EventPagination()
        # Input first: a bad page size is a 400 even when the events after `after` are gone.
        paginator.get_page_size(request)
        events = selectors.event_list(
            user_id=request.user.id, after=filters.validated_data.get("after")
        )
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(
            [services.event_payload(event) for event in page or []]
        )
