"""Admin for the outbox: find held, stuck, expired or failed notifications and re-send them.

Read-only except for the re-send action, which calls the same service as everything else.
"Held" rows are e-mail and SMS waiting for the end of the recipient's quiet hours (or for a
retry); the list says when each will go, so a quiet night does not look like a broken spool.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from carecore.accounts.models import Patient, Role
from carecore.audit.admin import AuditedRowsAdmin

from . import services
from .models import DeliveryAttempt, Notification, Status


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("number", "outcome", "started_at", "finished_at", "worker", "error")
    readonly_fields = fields
    ordering = ["number"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class HeldFilter(admin.SimpleListFilter):
    title = "held"
    parameter_name = "held"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("quiet_hours", "Held by quiet hours"),
            ("retry", "Waiting for a retry"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Notification]) -> Any:
        held = queryset.filter(status=Status.PENDING, due_at__gt=timezone.now())
        if self.value() == "quiet_hours":
            return held.filter(attempt_count=0)
        if self.value() == "retry":
            return held.filter(attempt_count__gt=0)
        return queryset


@admin.register(Notification)
class NotificationAdmin(AuditedRowsAdmin):
    """A patient's notifications say they are a patient and what happened to them (a booking,
    a care plan): each one shown to a patient is audited like an API read (docs/security.md,
    "Admin"). Rows to staff are not."""

    list_display = [
        "created_at",
        "event",
        "channel",
        "status",
        "goes",
        "attempt_count",
        "expires_at",
        "sent_at",
        "last_error",
    ]
    list_filter = ["status", HeldFilter, "channel", "event", "urgent"]
    search_fields = ["=id", "=subject_id", "=recipient__email"]
    date_hierarchy = "created_at"
    list_select_related = ["recipient__patient"]
    inlines = [DeliveryAttemptInline]
    audit_object_type = "notification"
    actions = ["resend"]
    readonly_fields = [field.name for field in Notification._meta.fields]

    def audited_patient_id(self, obj: Notification) -> UUID | None:
        recipient = obj.recipient
        if recipient.role != Role.PATIENT:
            return None
        try:
            return recipient.patient.id
        except Patient.DoesNotExist:
            return None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="when it goes", ordering="due_at")
    def goes(self, notification: Notification) -> str:
        """Pending rows: when they will be sent and why not now."""
        if notification.status != Status.PENDING:
            return "-"
        due = timezone.localtime(notification.due_at).strftime("%Y-%m-%d %H:%M %Z")
        if notification.due_at <= timezone.now():
            return "now (queued)"
        if notification.attempt_count:
            return f"retry at {due}"
        return f"held by quiet hours until {due}"

    @admin.action(description="Re-send selected failed notifications")
    def resend(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        failed = list(queryset.filter(status=Status.FAILED).values_list("id", flat=True))
        count = services.notification_resend(actor=request.user, notification_ids=failed)  # type: ignore[arg-type]
        skipped = queryset.count() - count
        self.message_user(request, f"{count} notification(s) queued again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} skipped: only failed notifications can be re-sent.",
                messages.WARNING,
            )


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(admin.ModelAdmin):
    """Every delivery attempt, e.g. to find abandoned ones (a worker died) across the outbox."""

    list_display = ["started_at", "notification_id", "number", "outcome", "worker", "error"]
    list_filter = ["outcome"]
    search_fields = ["=notification__id"]
    date_hierarchy = "started_at"
    readonly_fields = [field.name for field in DeliveryAttempt._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
