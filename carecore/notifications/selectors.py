"""Reads for notifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from django.db.models import QuerySet

from carecore.accounts.models import User

from .models import (
    Channel,
    Event,
    Notification,
    NotificationPreference,
    PushSubscription,
    QuietHours,
)
from .policy import default_enabled, default_quiet_hours


def notification_inbox(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's in-app notifications (only ever their own), for newest-first pagination."""
    rows = Notification.objects.filter(recipient_id=user.id, channel=Channel.IN_APP)
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    return rows.only("id", "event", "title", "body", "link_path", "urgent", "created_at", "read_at")


@dataclass(frozen=True)
class PreferenceRow:
    event: str
    channel: str
    enabled: bool


@dataclass(frozen=True)
class Preferences:
    rows: list[PreferenceRow]
    quiet_hours: tuple[time, time] | None


def notification_preferences_get(*, user: User) -> Preferences:
    """Every event x channel with its effective value (explicit, else the role default)."""
    explicit = {
        (pref.event, pref.channel): pref.enabled
        for pref in NotificationPreference.objects.filter(user_id=user.id)
    }
    rows = [
        PreferenceRow(
            event=event,
            channel=channel,
            enabled=explicit.get(
                (event, channel), default_enabled(role=user.role, event=event, channel=channel)
            ),
        )
        for event in Event.values
        for channel in Channel.values
    ]
    own = QuietHours.objects.filter(user_id=user.id).first()
    if own is None:
        quiet = default_quiet_hours()
    else:
        quiet = (own.start, own.end) if own.start is not None and own.end is not None else None
    return Preferences(rows=rows, quiet_hours=quiet)


def push_subscriptions_of(*, user: User) -> QuerySet[PushSubscription]:
    return PushSubscription.objects.filter(user_id=user.id).order_by("-created_at", "-id")
