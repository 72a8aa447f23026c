"""Reads of the real-time feed. A user only ever reads their own events (no access helper is
needed: every query is keyed on the caller's own user id, and rows hold no patient text).

Every read goes to the primary, whatever the replica router would choose: a socket that just
received the live copy of event n fills the hole before it from the database, and a replica
that has not replayed n yet would hand it nothing (docs/realtime.md).
"""

from __future__ import annotations

from uuid import UUID

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Max, Min, QuerySet
from rest_framework import status

from carecore.common.errors import ApplicationError

from .models import EventSequence, FeedEvent


def _events() -> QuerySet[FeedEvent]:
    return FeedEvent.objects.using(DEFAULT_DB_ALIAS)


class EventsPruned(ApplicationError):
    code = "events_pruned"
    status_code = status.HTTP_410_GONE
    default_message = (
        "Events after this sequence number are no longer kept; reload and continue from the "
        "latest sequence number."
    )


def latest_seq(*, user_id: UUID | str) -> int:
    """The user's last event number (0 before their first event)."""
    row = (
        EventSequence.objects.using(DEFAULT_DB_ALIAS)
        .filter(user_id=user_id)
        .values_list("last_seq", flat=True)
        .first()
    )
    return int(row or 0)


def feed_resumable(*, user_id: UUID | str, after: int) -> bool:
    """Whether every event after `after` is still kept, so a client at `after` can catch up.

    Pruning removes a prefix of each user's feed, so the oldest kept event tells what is gone.
    A number beyond the latest cannot be reconciled either (say, restored from an old backup):
    the client reloads in both cases.
    """
    bounds = _events().filter(user_id=user_id).aggregate(first=Min("seq"), last=Max("seq"))
    latest = latest_seq(user_id=user_id)
    if after > latest or after < 0:
        return False
    if bounds["first"] is None:
        # Nothing kept: fine only for a client that is already up to date.
        return after == latest
    return after >= bounds["first"] - 1


def event_list(*, user_id: UUID | str, after: int | None = None) -> QuerySet[FeedEvent]:
    """The user's kept events in order; with `after`, those after it, or EventsPruned (410)
    when some of them are no longer kept."""
    events = _events().filter(user_id=user_id).order_by("seq")
    if after is None:
        return events
    if not feed_resumable(user_id=user_id, after=after):
        raise EventsPruned()
    return events.filter(seq__gt=after)


def events_after(*, user_id: UUID | str, after: int, limit: int) -> list[FeedEvent]:
    """Up to `limit` events after `after`, in order (replay to a socket)."""
    return list(_events().filter(user_id=user_id, seq__gt=after).order_by("seq")[:limit])
