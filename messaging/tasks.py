"""Celery tasks for messaging. Each takes ids (or nothing), is idempotent and calls services."""

from __future__ import annotations

import logging
from datetime import timedelta
from uuid import UUID

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import announcements, services

logger = logging.getLogger("carecore.messaging")


@shared_task(name=announcements.ANNOUNCE_TASK)
def announce_messages() -> int:
    """Tell people of every sent message still waiting (woken by each send; beat, every few
    seconds, for a lost wake-up). Runs one at a time; a duplicate run finds nothing to do."""
    return announcements.announcements_deliver()


@shared_task(name="messaging.escalate_thread", acks_late=True)
def escalate_thread(thread_id: str) -> int:
    """Record due ladder steps for one thread; a duplicate run records nothing new."""
    return len(services.thread_escalate(thread_id=UUID(thread_id)))


@shared_task(name="messaging.escalate_overdue_threads")
def escalate_overdue_threads() -> int:
    """Beat, every minute: one `escalate_thread` per overdue thread.

    Fanning out keeps one slow thread from holding the sweep; duplicates (two beats, a retry)
    are harmless because every step is recorded once under a unique constraint.
    """
    thread_ids = services.overdue_thread_ids(now=timezone.now())
    for thread_id in thread_ids:
        escalate_thread.delay(str(thread_id))
    if thread_ids:
        logger.info("escalation sweep queued %d threads", len(thread_ids))
    return len(thread_ids)


@shared_task(name="messaging.delete_unsent_attachments")
def delete_unsent_attachments() -> int:
    hours = settings.CARECORE_MESSAGING_UNSENT_ATTACHMENT_HOURS
    return services.attachments_delete_unsent(older_than=timezone.now() - timedelta(hours=hours))
