"""Celery tasks for notifications: take ids, call one service. Retries are not Celery's: the
outbox row carries its own attempt count and due time (services.py), so a retry survives a lost
broker message and is visible in the admin."""

from __future__ import annotations

from celery import shared_task

from . import services


# Acknowledged on receipt, unlike the project default: the outbox row, not the broker message,
# is what must not be lost. A message lost with a dying worker is re-published by the sweeper
# (a claimed row after the claim timeout, an unclaimed one after the requeue delay), and early
# acks let the worker fetch the next message while it delivers this one.
@shared_task(name=services.DELIVER_TASK, ignore_result=True, acks_late=False)
def deliver_notification(*notification_ids: str) -> str:
    """Delivers one row or a batch of rows published together (services.enqueue_deliveries);
    returns what happened, e.g. "20 sent" or "1 sent, 1 skipped"."""
    hostname = getattr(deliver_notification.request, "hostname", None) or ""
    outcomes = services.notifications_deliver(notification_ids=notification_ids, worker=hostname)
    return ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))


@shared_task(name="notifications.sweep", ignore_result=True)
def sweep_notifications() -> dict[str, int]:
    return services.notifications_sweep()


@shared_task(name="notifications.prune", ignore_result=True)
def prune_notifications() -> int:
    return services.notifications_prune()
