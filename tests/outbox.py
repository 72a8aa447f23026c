"""Reading the notification outbox in tests: the rows of one event, and who they go to."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from carecore.notifications.models import Notification


def rows(event: str) -> QuerySet[Notification]:
    return Notification.objects.filter(event=event)


def recipients(event: str) -> set[Any]:
    return set(rows(event).values_list("recipient_id", flat=True))


def announce() -> int:
    """Tell people of the messages sent so far, as the woken worker does
    (messaging/announcements.py): a send itself only records its announcement."""
    from messaging.announcements import announcements_deliver

    return announcements_deliver()
