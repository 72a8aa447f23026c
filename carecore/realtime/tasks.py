"""Celery: the beat task that keeps the event table to its retention."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="realtime.prune_events", ignore_result=True)
def prune_events() -> int:
    return services.events_prune()
