"""Admin for availability, time off and appointments: the schedulers' back office. Writes go
through the same services as the API.

Appointments are shown to whoever holds the appointment permissions (the Schedulers group;
admins have none, so patient data stays behind break-glass for them), without the patient's
reason (minimum necessary, as in the API), and every page of them is audited like an API read.
They are changed only by the actions below (cancel, completed, no show), which call the services.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from carecore.accounts.models import Role
from carecore.audit.models import Action
from carecore.audit.services import AuditTarget, audit_record_many
from carecore.common.errors import ApplicationError

from . import services
from .models import Appointment, AppointmentStatus, AvailabilityRule, TimeOff


@admin.register(AvailabilityRule)
class AvailabilityRuleAdmin(admin.ModelAdmin):
    list_display = ["clinician", "weekday", "start_time", "end_time", "visit_types"]
    list_filter = ["weekday"]
    list_select_related = ["clinician__user"]
    fields = ["clinician", "weekday", "start_time", "end_time", "visit_types"]

    def save_model(self, request: HttpRequest, obj: AvailabilityRule, form: Any, change: bool):  # type: ignore[no-untyped-def]
        fields = form.cleaned_data
        if change:
            services.availability_rule_update(
                actor=request.user,  # type: ignore[arg-type]
                rule=obj,
                weekday=fields["weekday"],
                start_time=fields["start_time"],
                end_time=fields["end_time"],
                visit_types=fields["visit_types"],
            )
            return
        created = services.availability_rule_create(
            actor=request.user,  # type: ignore[arg-type]
            clinician=fields["clinician"],
            weekday=fields["weekday"],
            start_time=fields["start_time"],
            end_time=fields["end_time"],
            visit_types=fields["visit_types"],
        )
        obj.pk = created.pk
        obj._state.adding = False
        obj._state.db = "default"

    def delete_model(self, request: HttpRequest, obj: AvailabilityRule) -> None:
        services.availability_rule_delete(actor=request.user, rule=obj)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for rule in queryset:
            self.delete_model(request, rule)


@admin.register(TimeOff)
class TimeOffAdmin(admin.ModelAdmin):
    list_display = ["clinician", "starts_at", "ends_at", "note"]
    list_select_related = ["clinician__user"]
    fields = ["clinician", "starts_at", "ends_at", "note"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Time off is replaced, not edited: delete and add again (both audited).
        return False

    def save_model(self, request: HttpRequest, obj: TimeOff, form: Any, change: bool) -> None:
        fields = form.cleaned_data
        created = services.time_off_create(
            actor=request.user,  # type: ignore[arg-type]
            clinician=fields["clinician"],
            starts_at=fields["starts_at"],
            ends_at=fields["ends_at"],
            note=fields.get("note", ""),
        )
        obj.pk = created.pk
        obj._state.adding = False
        obj._state.db = "default"

    def delete_model(self, request: HttpRequest, obj: TimeOff) -> None:
        services.time_off_delete(actor=request.user, time_off=obj)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for time_off in queryset:
            self.delete_model(request, time_off)


def _audit_shown(request: HttpRequest, appointments: Any, action: str) -> None:
    audit_record_many(
        actor=request.user,  # type: ignore[arg-type]
        targets=[AuditTarget("appointment", str(a.id), a.patient_id) for a in appointments],
        action=action,
    )


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ["start_at", "patient_name", "clinician", "visit_type", "status", "late_cancel"]
    list_filter = ["status", "visit_type", "start_at"]
    list_select_related = ["patient__user", "clinician__user"]
    date_hierarchy = "start_at"
    ordering = ["start_at"]
    # Never `reason`: the patient's own words are for the clinician.
    fields = [
        "patient_name",
        "clinician",
        "visit_type",
        "status",
        "start_at",
        "end_at",
        "late_cancel",
        "cancelled_at",
        "created_at",
    ]
    readonly_fields = fields
    actions = ["cancel", "mark_completed", "mark_no_show"]

    @admin.display(description="patient")
    def patient_name(self, appointment: Appointment) -> str:
        return appointment.patient.user.full_name

    def _is_scheduler(self, request: HttpRequest) -> bool:
        # Only schedulers, even against a superuser's blanket permissions: an admin reads a
        # patient's visits only under break-glass, through the API.
        return getattr(request.user, "role", None) == Role.SCHEDULER

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._is_scheduler(request) and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_scheduler(request) and super().has_view_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_scheduler(request) and super().has_change_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # booking checks licences, the window and the slot: use the API

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # cancel instead; the visit stays on the record

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            _audit_shown(request, changelist.result_list, Action.LIST)
        return response

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        original = getattr(response, "context_data", {}).get("original")
        if original is not None:
            _audit_shown(request, [original], Action.READ)
        return response

    def _each(self, request: HttpRequest, queryset: QuerySet, change: Any, done: str) -> None:
        changed = 0
        for appointment in queryset:
            try:
                change(appointment)
                changed += 1
            except ApplicationError as error:
                self.message_user(
                    request,
                    f"{appointment.start_at:%Y-%m-%d %H:%M}: {error.message}",
                    messages.WARNING,
                )
        self.message_user(request, f"{changed} appointment(s) {done}.")

    @admin.action(description="Cancel the selected visits", permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            lambda a: services.appointment_cancel(actor=request.user, appointment=a),  # type: ignore[arg-type]
            "cancelled",
        )

    def _set_status(self, request: HttpRequest, queryset: QuerySet, status: str, done: str) -> None:
        self._each(
            request,
            queryset,
            lambda a: services.appointment_status_set(
                actor=request.user,  # type: ignore[arg-type]
                appointment=a,
                status=status,
            ),
            done,
        )

    @admin.action(description="Mark the selected visits completed", permissions=["change"])
    def mark_completed(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_status(request, queryset, AppointmentStatus.COMPLETED, "marked completed")

    @admin.action(description="Mark the selected visits as no-shows", permissions=["change"])
    def mark_no_show(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_status(request, queryset, AppointmentStatus.NO_SHOW, "marked as no-shows")
