"""HTTP for the portal: availability, open slots, appointments and their calendar files.

Views parse, check access, call a service or selector, and serialise. Times go out with the
offset of the viewer's own zone (slots: the zone the day was asked in).
"""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from carecore.accounts.models import ALL_ROLES, Role, User
from carecore.accounts.requests import AuthenticatedRequest
from carecore.audit.lists import audited_list_response
from carecore.common.errors import NotFound, ValidationFailed
from carecore.common.fields import (
    AllErrorsSerializer,
    ChoiceField,
    QueryBooleanField,
    QueryIntegerField,
    Rfc3339DateTimeField,
    StrictInput,
    WallClockTimeField,
)
from carecore.common.pagination import CursorPagination
from carecore.common.permissions import has_role

from . import selectors, services
from .access import can_see_reason
from .ics import appointment_ics
from .models import AppointmentStatus, Weekday
from .video import calendar_join_url, join_url_for


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an explicit offset. A naive time is refused rather than guessed."""

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str) and not _has_offset(value):
            raise serializers.ValidationError("Include a UTC offset, e.g. 2026-03-09T14:00-04:00.")
        return super().to_internal_value(value)


def _has_offset(value: str) -> bool:
    time_part = value.partition("T")[2] or value.partition(" ")[2]
    return time_part.endswith(("Z", "z")) or "+" in time_part or "-" in time_part


# --- availability --------------------------------------------------------------------------------


class RuleOutput(serializers.Serializer):
    id = serializers.UUIDField()
    weekday = serializers.IntegerField(help_text="0 = Monday ... 6 = Sunday")
    start = WallClockTimeField(source="start_time")
    end = WallClockTimeField(source="end_time")
    visit_types = serializers.ListField(child=serializers.CharField())


class TimeOffOutput(serializers.Serializer):
    id = serializers.UUIDField()
    start = Rfc3339DateTimeField(source="starts_at")
    end = Rfc3339DateTimeField(source="ends_at")
    note = serializers.CharField()


# The configured visit types (CARECORE_VISIT_DURATIONS), one enum in the schema.
VISIT_TYPES = sorted(settings.CARECORE_VISIT_DURATIONS)


def visit_type_field(**options: Any) -> ChoiceField:
    return ChoiceField(choices=VISIT_TYPES, **options)


def _end_after_start(values: dict[str, Any], message: str) -> dict[str, list[str]]:
    if "start" in values and "end" in values and values["end"] <= values["start"]:
        return {"end": [message]}
    return {}


class RuleInput(StrictInput):
    kind = ChoiceField(choices=["rule"])
    weekday = ChoiceField(choices=Weekday.choices, help_text="0 = Monday ... 6 = Sunday")
    start = WallClockTimeField(help_text="Wall-clock time in the clinician's zone.")
    end = WallClockTimeField(help_text="After `start`; a window cannot cross midnight.")
    visit_types = serializers.ListField(child=visit_type_field(), min_length=1)

    def errors_between_fields(self, values: dict[str, Any]) -> dict[str, list[str]]:
        return _end_after_start(values, "Must be after the start; a window cannot cross midnight.")


class TimeOffInput(StrictInput):
    kind = ChoiceField(choices=["time_off"])
    start = AwareDateTimeField()
    end = AwareDateTimeField()
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def errors_between_fields(self, values: dict[str, Any]) -> dict[str, list[str]]:
        return _end_after_start(values, "Must be after the start.")


class TimeOffCreatedOutput(serializers.Serializer):
    id = serializers.UUIDField(source="time_off.id")
    start = Rfc3339DateTimeField(source="time_off.starts_at")
    end = Rfc3339DateTimeField(source="time_off.ends_at")
    note = serializers.CharField(source="time_off.note")
    conflicting_appointments = serializers.IntegerField(
        help_text="Booked visits inside this time off; they stay booked until moved."
    )


class ClinicianAvailabilityApi(APIView):
    """A clinician's weekly rules (wall-clock times in their own zone) and upcoming time off.
    The clinician manages their own; schedulers manage everyone's."""

    permission_classes = [has_role(Role.CLINICIAN, Role.SCHEDULER)]

    class OutputSerializer(serializers.Serializer):
        clinician = serializers.UUIDField(source="clinician.id")
        timezone = serializers.CharField()
        rules = RuleOutput(many=True)
        time_off = TimeOffOutput(many=True)

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request: AuthenticatedRequest, clinician_id: UUID) -> Response:
        availability = selectors.clinician_availability(
            user=request.user, clinician_id=clinician_id
        )
        with timezone.override(availability.timezone):
            return Response(self.OutputSerializer(availability).data)

    @extend_schema(
        request=PolymorphicProxySerializer(
            component_name="AvailabilityCreateInput",
            # By `kind` (a list would leave drf-spectacular to guess each one's value: it mapped
            # both to "null", one overwriting the other).
            serializers={"rule": RuleInput, "time_off": TimeOffInput},
            resource_type_field_name="kind",
        ),
        responses={
            201: PolymorphicProxySerializer(
                component_name="AvailabilityCreateOutput",
                serializers=[RuleOutput, TimeOffCreatedOutput],
                resource_type_field_name=None,
            )
        },
        examples=[
            OpenApiExample(
                "A weekly rule",
                value={
                    "kind": "rule",
                    "weekday": 0,
                    "start": "09:00",
                    "end": "17:00",
                    "visit_types": ["new", "follow_up"],
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: AuthenticatedRequest, clinician_id: UUID) -> Response:
        kind = request.data.get("kind") if isinstance(request.data, dict) else None
        if kind == "rule":
            rule_data = RuleInput(data=request.data)
            rule_data.is_valid(raise_exception=True)
            rule = services.clinician_rule_create(
                user=request.user,
                clinician_id=clinician_id,
                weekday=rule_data.validated_data["weekday"],
                start_time=rule_data.validated_data["start"],
                end_time=rule_data.validated_data["end"],
                visit_types=rule_data.validated_data["visit_types"],
            )
            return Response(RuleOutput(rule).data, status=status.HTTP_201_CREATED)
        if kind == "time_off":
            data = TimeOffInput(data=request.data)
            data.is_valid(raise_exception=True)
            created = services.clinician_time_off_create(
                user=request.user,
                clinician_id=clinician_id,
                starts_at=data.validated_data["start"],
                ends_at=data.validated_data["end"],
                note=data.validated_data["note"],
            )
            with timezone.override(created.timezone):
                body = TimeOffCreatedOutput(created).data
            return Response(body, status=status.HTTP_201_CREATED)
        raise ValidationFailed(fields={"kind": ['Use "rule" or "time_off".']})


class AvailabilityRuleDetailApi(APIView):
    permission_classes = [has_role(Role.CLINICIAN, Role.SCHEDULER)]

    class InputSerializer(StrictInput):
        weekday = ChoiceField(choices=Weekday.choices, required=False)
        start = WallClockTimeField(required=False)
        end = WallClockTimeField(required=False)
        visit_types = serializers.ListField(child=visit_type_field(), min_length=1, required=False)

    @extend_schema(request=InputSerializer, responses={200: RuleOutput})
    def patch(self, request: AuthenticatedRequest, clinician_id: UUID, rule_id: UUID) -> Response:
        """Change a weekly rule (only the fields sent). Visits already booked outside the new
        window stay booked."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = services.clinician_rule_update(
            user=request.user,
            clinician_id=clinician_id,
            rule_id=rule_id,
            weekday=data.validated_data.get("weekday"),
            start_time=data.validated_data.get("start"),
            end_time=data.validated_data.get("end"),
            visit_types=data.validated_data.get("visit_types"),
        )
        return Response(RuleOutput(rule).data)

    @extend_schema(responses={204: None})
    def delete(self, request: AuthenticatedRequest, clinician_id: UUID, rule_id: UUID) -> Response:
        """Remove a weekly rule. Visits already booked in it stay booked."""
        services.clinician_rule_delete(
            user=request.user, clinician_id=clinician_id, rule_id=rule_id
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class TimeOffDetailApi(APIView):
    permission_classes = [has_role(Role.CLINICIAN, Role.SCHEDULER)]

    @extend_schema(responses={204: None})
    def delete(
        self, request: AuthenticatedRequest, clinician_id: UUID, time_off_id: UUID
    ) -> Response:
        """Remove a time off; its hours become bookable again where a rule allows."""
        services.clinician_time_off_delete(
            user=request.user, clinician_id=clinician_id, time_off_id=time_off_id
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- slots ------------------------------------------------------------------------------------


class SlotOutput(serializers.Serializer):
    clinician = serializers.UUIDField(source="clinician.id")
    clinician_name = serializers.CharField(source="clinician.user.full_name")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    visit_type = serializers.CharField()


# A day's slots come in one page by default (a day of one clinician's `new` visits is 48, of
# a dozen clinicians some hundreds): unlike the other lists (50), docs/portal.md.
SLOTS_PER_PAGE = 200

# A slot's place in the day's order: its start, then its clinician's id as text (the order
# `selectors.slots_on_day` sorts by).
_SlotKey = tuple[datetime, str]


def _slot_key(slot: selectors.ClinicianSlot) -> _SlotKey:
    return slot.start, str(slot.clinician.id)


@dataclass(frozen=True)
class _SlotCursor:
    """Where a page of slots starts: after `position` (`next`), or before it (`previous`), or
    with no position and `before`, the day's last page (the `previous` of a page past the end:
    every slot is before it)."""

    position: _SlotKey | None
    before: bool = False


_LAST_PAGE = "last"
_BEFORE = "before"


def _slot_cursor(cursor: _SlotCursor) -> str:
    if cursor.position is None:
        raw = _LAST_PAGE
    else:
        start, clinician_id = cursor.position
        raw = f"{start.isoformat()}|{clinician_id}" + (f"|{_BEFORE}" if cursor.before else "")
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _read_slot_cursor(cursor: str) -> _SlotCursor:
    """The cursor `_slot_cursor` wrote, or a 404 as for every other list's unknown cursor (DRF's
    CursorPagination): one that does not decode, and one that does but whose position is not
    a slot's (a time without an offset, which no aware slot time can be compared with, or a
    clinician id that is no id) are equally not ours."""
    try:
        parts = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        if parts == [_LAST_PAGE]:
            return _SlotCursor(position=None, before=True)
        before = len(parts) == 3 and parts[2] == _BEFORE
        if before:
            parts = parts[:2]
        start_text, clinician_text = parts
        start = datetime.fromisoformat(start_text)
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("A slot time has a UTC offset.")
        return _SlotCursor(position=(start, str(UUID(clinician_text))), before=before)
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise NotFound("Invalid cursor.") from error


@dataclass(frozen=True)
class _SlotPage:
    slots: list[selectors.ClinicianSlot]
    next: _SlotCursor | None  # None: the first page (the list without a cursor)
    previous: _SlotCursor
    has_next: bool
    has_previous: bool


def _slot_page(
    slots: list[selectors.ClinicianSlot], cursor: _SlotCursor | None, size: int
) -> _SlotPage:
    """The page of the day's `slots` (sorted by `_slot_key`) at `cursor`. The whole day is in
    memory, so whether a page has slots before or after it is known, not guessed."""
    if cursor is None:
        low = 0
        high = min(size, len(slots))
    elif not cursor.before:
        low = 0 if cursor.position is None else bisect_right(slots, cursor.position, key=_slot_key)
        high = min(low + size, len(slots))
    else:
        high = (
            len(slots)
            if cursor.position is None
            else bisect_left(slots, cursor.position, key=_slot_key)
        )
        low = max(high - size, 0)
    return _SlotPage(
        slots=slots[low:high],
        # The slots after the page's last one; from the start when the page is before them all.
        next=_SlotCursor(position=_slot_key(slots[high - 1])) if high > 0 else None,
        # The slots before the page's first one; the last page when the page is past them all.
        previous=_SlotCursor(
            position=_slot_key(slots[low]) if low < len(slots) else None, before=True
        ),
        has_next=high < len(slots),
        has_previous=low > 0,
    )


def _slot_page_url(request: AuthenticatedRequest, cursor: _SlotCursor | None) -> str:
    url = request.build_absolute_uri()
    if cursor is None:
        return remove_query_param(url, "cursor")
    return replace_query_param(url, "cursor", _slot_cursor(cursor))


class SlotListApi(APIView):
    """Open slots on one calendar day, read in the patient's own time zone. Staff pass
    `patient` to see what that patient may book; without it, every clinician's slots in the
    caller's own zone. Ordered by (start, clinician id) and paginated by a keyset cursor like
    every other list (`next` and `previous`), a day to a page by default (200 slots)."""

    permission_classes = [has_role(*ALL_ROLES)]

    class FilterSerializer(AllErrorsSerializer):
        date = serializers.DateField()
        visit_type = visit_type_field()
        clinician = serializers.UUIDField(required=False)
        patient = serializers.UUIDField(required=False)
        cursor = serializers.CharField(
            required=False,
            help_text="Opaque; copy it from `next` or `previous`. An unknown cursor answers 404.",
        )
        page_size = QueryIntegerField(
            required=False,
            min_value=1,
            max_value=None,  # capped below, as every list's page_size is
            help_text=f"Slots per page (default {SLOTS_PER_PAGE}, a day's slots); larger values "
            f"are capped at {settings.CARECORE_MAX_PAGE_SIZE}.",
        )

    class OutputSerializer(serializers.Serializer):
        results = SlotOutput(many=True)
        next = serializers.URLField(allow_null=True)
        previous = serializers.URLField(allow_null=True)
        timezone = serializers.CharField()
        message = serializers.CharField()

    @extend_schema(parameters=[FilterSerializer], responses={200: OutputSerializer})
    def get(self, request: AuthenticatedRequest) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        query = filters.validated_data
        day = selectors.slots_on_day(
            user=request.user,
            day=query["date"],
            visit_type=query["visit_type"],
            patient_id=query.get("patient"),
            clinician_id=query.get("clinician"),
        )
        answer, zone = day.answer, day.zone
        cursor = _read_slot_cursor(query["cursor"]) if "cursor" in query else None
        page_size = min(query.get("page_size") or SLOTS_PER_PAGE, CursorPagination().max_page_size)
        page = _slot_page(answer.slots, cursor, page_size)
        with timezone.override(zone):
            return Response(
                self.OutputSerializer(
                    {
                        "results": page.slots,
                        "next": _slot_page_url(request, page.next) if page.has_next else None,
                        "previous": (
                            _slot_page_url(request, page.previous) if page.has_previous else None
                        ),
                        "timezone": str(zone),
                        "message": answer.message,
                    }
                ).data
            )


class EarliestSlotApi(APIView):
    """The earliest slot the patient may book (rule in docs/portal.md). Staff pass `patient`.
    With nothing open, the slot fields are null and `message` says why."""

    permission_classes = [has_role(*ALL_ROLES)]

    class FilterSerializer(AllErrorsSerializer):
        visit_type = visit_type_field()
        patient = serializers.UUIDField(required=False)

    class OutputSerializer(serializers.Serializer):
        clinician = serializers.UUIDField(source="slot.clinician.id", allow_null=True)
        clinician_name = serializers.CharField(
            source="slot.clinician.user.full_name", allow_null=True
        )
        start = serializers.DateTimeField(source="slot.start", allow_null=True)
        end = serializers.DateTimeField(source="slot.end", allow_null=True)
        visit_type = serializers.CharField()
        on_care_team = serializers.BooleanField()
        timezone = serializers.CharField(source="patient.user.timezone")
        message = serializers.CharField()

    @extend_schema(parameters=[FilterSerializer], responses={200: OutputSerializer})
    def get(self, request: AuthenticatedRequest) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        visit_type = filters.validated_data["visit_type"]
        earliest = selectors.earliest_slot(
            user=request.user,
            visit_type=visit_type,
            patient_id=filters.validated_data.get("patient"),
        )
        with timezone.override(earliest.patient.user.zone):
            return Response(self.OutputSerializer(earliest).data)


# --- appointments ----------------------------------------------------------------------------


class AppointmentOutput(serializers.Serializer):
    id = serializers.UUIDField()
    patient = serializers.UUIDField(source="patient_id")
    patient_name = serializers.CharField(source="patient.user.full_name")
    clinician = serializers.UUIDField(source="clinician_id")
    clinician_name = serializers.CharField(source="clinician.user.full_name")
    visit_type = serializers.CharField()
    status = ChoiceField(choices=AppointmentStatus.choices)
    start = serializers.DateTimeField(source="start_at")
    end = serializers.DateTimeField(source="end_at")
    reason = serializers.SerializerMethodField(
        help_text="The patient's own words; null for schedulers (minimum necessary)."
    )
    has_reason = serializers.SerializerMethodField(
        help_text="Whether the patient gave a reason (shown to everyone, schedulers included)."
    )
    join_url = serializers.SerializerMethodField(
        help_text="The caller's own link to the video visit (with their token where the video "
        "provider uses tokens): only for the visit's patient and clinician, only while the "
        "visit is booked, from 24 h before its start to 24 h after its end; null otherwise."
    )
    late_cancel = serializers.BooleanField()
    cancelled_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_reason(self, appointment: Any) -> str | None:
        return appointment.reason if self.context.get("show_reason") else None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_join_url(self, appointment: Any) -> str | None:
        return join_url_for(appointment, self.context["viewer"])

    def get_has_reason(self, appointment: Any) -> bool:
        return bool(appointment.reason)


def _appointment_context(user: User) -> dict[str, Any]:
    return {"show_reason": can_see_reason(user), "viewer": user}


def _appointment_body(user: User, appointment: Any) -> Any:
    """Times in the viewer's own zone; the reason only for those who may read it."""
    with timezone.override(user.zone):
        return AppointmentOutput(appointment, context=_appointment_context(user)).data


class AppointmentPagination(CursorPagination):
    ordering = ("start_at", "id")


class AppointmentListApi(APIView):
    """Appointments the caller may see (patients: their own; clinicians: their schedule and
    their care teams' patients; coordinators: their care teams'; schedulers: all), soonest
    first. POST books one."""

    permission_classes = [has_role(*ALL_ROLES)]

    class FilterSerializer(AllErrorsSerializer):
        patient = serializers.UUIDField(required=False)
        clinician = serializers.UUIDField(required=False, help_text="Clinician id.")
        status = ChoiceField(choices=AppointmentStatus.choices, required=False)
        upcoming = QueryBooleanField(required=False, default=None)
        date_from = serializers.DateField(
            required=False, help_text="Visits starting on or after this day (caller's zone)."
        )
        date_to = serializers.DateField(
            required=False, help_text="Visits starting on or before this day (caller's zone)."
        )

        def errors_between_fields(self, values: dict[str, Any]) -> dict[str, list[str]]:
            first, last = values.get("date_from"), values.get("date_to")
            if first and last and last < first:
                return {"date_to": ["Must be on or after date_from."]}
            return {}

    class InputSerializer(StrictInput):
        clinician = serializers.UUIDField()
        start = AwareDateTimeField()
        visit_type = visit_type_field()
        reason = serializers.CharField(
            max_length=2000, required=False, allow_blank=True, default=""
        )
        patient = serializers.UUIDField(required=False, help_text="Staff: whom to book for.")

    @extend_schema(parameters=[FilterSerializer], responses={200: AppointmentOutput(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        query = filters.validated_data
        appointments = selectors.appointment_list(
            user=request.user,
            patient_id=query.get("patient"),
            clinician_id=query.get("clinician"),
            status=query.get("status"),
            upcoming=query.get("upcoming"),
            date_from=query.get("date_from"),
            date_to=query.get("date_to"),
            zone=request.user.zone,
        )
        with timezone.override(request.user.zone):
            return audited_list_response(
                request=request,
                view=self,
                rows=appointments,
                pagination_class=AppointmentPagination,
                serializer_class=AppointmentOutput,
                object_type="appointment",
                context=_appointment_context(request.user),
            )

    @extend_schema(
        request=InputSerializer,
        responses={201: AppointmentOutput},
        examples=[
            OpenApiExample(
                "Book a new-patient visit",
                value={
                    "clinician": "6f1c2e9a-1b7e-4c55-9a37-1f7b7f0b2d11",
                    "start": "2026-03-09T14:00:00-05:00",
                    "visit_type": "new",
                    "reason": "Eczema flare on both hands",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        appointment = services.appointment_book(
            actor=request.user,
            patient_id=fields.get("patient"),
            clinician_id=fields["clinician"],
            start=fields["start"],
            visit_type=fields["visit_type"],
            reason=fields["reason"],
        )
        return Response(
            _appointment_body(request.user, appointment), status=status.HTTP_201_CREATED
        )


class AppointmentDetailApi(APIView):
    permission_classes = [has_role(*ALL_ROLES)]

    @extend_schema(responses={200: AppointmentOutput})
    def get(self, request: AuthenticatedRequest, appointment_id: UUID) -> Response:
        """One appointment with its status, times in the caller's zone and the video `join_url`.
        Participants and staff who may see it; anyone else 404. `reason` is null for schedulers
        (`has_reason` tells them one exists)."""
        appointment = selectors.appointment_get(user=request.user, appointment_id=appointment_id)
        return Response(_appointment_body(request.user, appointment))


class AppointmentCancelApi(APIView):
    """Cancel a booked visit. Inside the late-cancel window it is still cancelled, and flagged
    `late_cancel`."""

    permission_classes = [has_role(*ALL_ROLES)]

    @extend_schema(request=None, responses={200: AppointmentOutput})
    def post(self, request: AuthenticatedRequest, appointment_id: UUID) -> Response:
        appointment = services.appointment_cancel(actor=request.user, appointment_id=appointment_id)
        return Response(_appointment_body(request.user, appointment))


class AppointmentRescheduleApi(APIView):
    """Move a booked visit: same id, same join link; 409 `slot_taken` leaves it untouched."""

    permission_classes = [has_role(*ALL_ROLES)]

    class InputSerializer(StrictInput):
        start = AwareDateTimeField()

    @extend_schema(
        request=InputSerializer,
        responses={200: AppointmentOutput},
        examples=[
            OpenApiExample(
                "Move to another slot",
                value={"start": "2026-03-10T15:30:00-05:00"},
                request_only=True,
            )
        ],
    )
    def post(self, request: AuthenticatedRequest, appointment_id: UUID) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        appointment = services.appointment_reschedule(
            actor=request.user, appointment_id=appointment_id, start=data.validated_data["start"]
        )
        return Response(_appointment_body(request.user, appointment))


class CalendarRenderer(BaseRenderer):
    """Lets clients ask for `Accept: text/calendar`; errors still leave as the JSON shape."""

    media_type = "text/calendar"
    format = "ics"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> bytes:
        return data if isinstance(data, bytes) else json.dumps(data).encode()


class AppointmentIcsApi(APIView):
    """The visit as an iCalendar file (RFC 5545) for the caller's calendar app; no reason and
    no patient text in it. Re-download after a change: SEQUENCE goes up."""

    permission_classes = [has_role(*ALL_ROLES)]
    renderer_classes = [JSONRenderer, CalendarRenderer]

    def handle_exception(self, exc: Exception) -> Response:
        # An error is JSON in the contract's shape even when a calendar was asked for.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(
        responses={
            (200, "text/calendar"): OpenApiResponse(OpenApiTypes.BINARY, description="RFC 5545")
        }
    )
    def get(self, request: AuthenticatedRequest, appointment_id: UUID) -> HttpResponse:
        appointment = selectors.appointment_export(user=request.user, appointment_id=appointment_id)
        response = HttpResponse(
            appointment_ics(
                appointment,
                now=timezone.now(),
                join_url=calendar_join_url(appointment, request.user),
            ),
            content_type="text/calendar; charset=utf-8",
        )
        response["Content-Disposition"] = 'attachment; filename="appointment.ics"'
        response["Cache-Control"] = "no-store"
        return response
