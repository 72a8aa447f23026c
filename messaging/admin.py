"""Django admin for messaging: deliberately nothing with message content.

Subjects, bodies and attachments are patient data; admins reach them only through the audited
break-glass API. The escalation log holds ids and step numbers only, so operations can see the
ladder working without seeing what anyone wrote.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import EscalationStep


@admin.register(EscalationStep)
class EscalationStepAdmin(admin.ModelAdmin):
    list_display = ["created_at", "thread_id", "step", "awaiting_since"]
    list_filter = ["step"]
    fields = (
        "thread_id",
        "awaiting_since",
        "step",
        "recipient_ids",
        "created_at",
    )
    readonly_fields = fields
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
