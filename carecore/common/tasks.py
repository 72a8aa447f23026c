"""Platform tasks."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from carecore.common import partitions


@shared_task(name="carecore.heartbeat")
def heartbeat(marker: str) -> None:
    """Proves a worker is consuming: stores when it ran under `marker` (used by tests and ops)."""
    cache.set(f"carecore:heartbeat:{marker}", timezone.now().isoformat(), timeout=3600)


@shared_task(name="carecore.partitions_ensure_ahead", ignore_result=True)
def partitions_ensure_ahead() -> None:
    """This month's and the next three months' partitions of every partitioned table
    (docs/scaling.md, "Growing tables"). Idempotent; daily, so a missed run is harmless."""
    partitions.ensure_partitions_ahead()


@shared_task(name="carecore.partitions_check_default", ignore_result=True)
def partitions_check_default() -> None:
    """The alert: logs an ERROR while a default partition holds rows (a month was missing)."""
    partitions.check_default_partitions()
