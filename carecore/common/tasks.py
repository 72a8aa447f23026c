"""Platform tasks."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone


@shared_task(name="carecore.heartbeat")
def heartbeat(marker: str) -> None:
    """Proves a worker is consuming: stores when it ran under `marker` (used by tests and ops)."""
    cache.set(f"carecore:heartbeat:{marker}", timezone.now().isoformat(), timeout=3600)
