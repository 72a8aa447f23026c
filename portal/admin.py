"""Admin for availability and time off (schedulers keep calendars here too). Writes go through
the same services as the API.

Appointments are deliberately not in the admin: it would show patient data to admins without a
break-glass grant and without an audit event. Staff use the API, which has both.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from . import services
from .models import AvailabilityRule, TimeOff


@admin.register(AvailabilityRule)
class AvailabilityRuleAdmin(admin.ModelAdmin):
    list_display = ["clinician", "weekday", "start_time", "end_time", "visit_types"]
    list_filter = ["weekday"]
    list_select_related = ["clinician__user"]
    fields = ["clinician", "weekday", "start_time", "end_time", "visit_types"]

    def save_model(
        self, request: HttpRequest, obj: AvailabilityRule, form: Any, change: bool
    ) -> None:
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
