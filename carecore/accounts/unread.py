"""`unread_count` in /me comes from apps that carecore does not import (messaging).

Such an app registers a counter in its AppConfig.ready(); carecore only sums them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import User

UnreadCounter = Callable[["User"], int]
_counters: list[UnreadCounter] = []


def register_unread_counter(counter: UnreadCounter) -> None:
    if counter not in _counters:
        _counters.append(counter)


def unread_count_for(user: User) -> int:
    return sum(counter(user) for counter in _counters)
