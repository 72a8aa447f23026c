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
from .policy import PAGED_ROLES, default_enabled, default_quiet_hours, urgent_floor
from .sms import sms_enabled


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
    """Every event x channel with its effective value (explicit, else the role default; urgent
    pages to staff never below their floor, policy.urgent_floor)."""
    explicit = {
        (pref.event, pref.channel): pref.enabled
        for pref in NotificationPreference.objects.filter(user_id=user.id)
    }
    sms_reachable = bool(user.phone) and sms_enabled()
    rows = []
    for event in Event.values:
        chosen = frozenset(
            channel
            for channel in Channel.values
            if explicit.get(
                (event, channel), default_enabled(role=user.role, event=event, channel=channel)
            )
        )
        # What delivery does, urgent pages' floor included, even over rows stored before it;
        # for the roles that are paged (schedulers and admins never are).
        effective = (
            urgent_floor(role=user.role, event=event, channels=chosen, sms_reachable=sms_reachable)
            if user.role in PAGED_ROLES
            else chosen
        )
        rows += [
            PreferenceRow(event=event, channel=channel, enabled=channel in effective)
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
