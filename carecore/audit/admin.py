from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from .models import Action, AuditEvent
from .services import AuditTarget, audit_record_many


def _uuid_or_none(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the table is append-only in the database as well."""

    list_display = ["occurred_at", "action", "outcome", "object_type", "actor_role", "request_id"]
    list_filter = ["action", "outcome", "object_type", "actor_role"]
    search_fields = ["=actor_id", "=patient_id", "=object_id", "=request_id"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[AuditEvent], search_term: str
    ) -> tuple[QuerySet[AuditEvent], bool]:
        """An object id also finds the list events that showed it (`detail["object_ids"]`), and a
        patient id the list events that showed several patients' rows, theirs among them."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            found |= queryset.filter(detail__object_ids__contains=[term])
        if (patient_id := _uuid_or_none(term)) is not None:
            found |= queryset.filter(patient_ids__contains=[patient_id])
        return found, may_have_duplicates

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AuditedRowsAdmin(admin.ModelAdmin):
    """An admin whose rows are patient data: every row a list page shows is audited as a `list`
    and every change page as a `read`, one event per patient row, as the API does. Subclasses
    say what each row is (`audit_object_type`) and whose it is (`audited_patient_id`; None for
    rows that are not a patient's, e.g. staff users, which are then not audited)."""

    audit_object_type = ""

    def audited_patient_id(self, obj: Any) -> UUID | None:
        raise NotImplementedError

    def _audit_shown(self, request: HttpRequest, rows: Iterable[Any], action: str) -> None:
        targets = []
        for row in rows:
            patient_id = self.audited_patient_id(row)
            if patient_id is not None:
                targets.append(AuditTarget(self.audit_object_type, str(row.pk), patient_id))
        audit_record_many(
            actor=request.user,  # type: ignore[arg-type]
            targets=targets,
            action=action,
            detail={"via": "admin"},
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            self._audit_shown(request, changelist.result_list, Action.LIST)
        return response

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        original = getattr(response, "context_data", {}).get("original")
        if original is not None:
            self._audit_shown(request, [original], Action.READ)
        return response

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        response = super().history_view(request, object_id, extra_context)
        shown = getattr(response, "context_data", {}).get("object")
        if shown is not None:
            self._audit_shown(request, [shown], Action.READ)
        return response
