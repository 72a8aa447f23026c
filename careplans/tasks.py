"""Celery tasks for care plans: follow-up check-in reminders."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from .services import check_ins_remind


@shared_task(name="careplans.remind_due_check_ins")
def remind_due_check_ins() -> int:
    """Beat: remind patients whose goal check-ins are due (idempotent; see check_ins_remind)."""
    return check_ins_remind(now=timezone.now())
