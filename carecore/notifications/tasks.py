"""Celery tasks for notifications: take ids, call one service. Retries are not Celery's: the
outbox row carries its own attempt count and due time (services.py), so a retry survives a lost
broker message and is visible in the admin."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="notifications.deliver", ignore_result=True)
def deliver_notification(notification_id: str) -> str:
    hostname = getattr(deliver_notification.request, "hostname", None) or ""
    return services.notification_deliver(notification_id=notification_id, worker=hostname)


@shared_task(name="notifications.sweep", ignore_result=True)
def sweep_notifications() -> dict[str, int]:
    return services.notifications_sweep()
