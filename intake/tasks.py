"""Celery tasks for intake: the red-flag safety nets. Each is idempotent."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from . import services

logger = logging.getLogger("carecore.intake")


@shared_task(name="intake.escalate_unanswered_pages")
def escalate_unanswered_pages() -> int:
    """Beat, every minute: climb the ladder for each red-flag page nobody has answered.

    One transaction (and row lock) per review, so a duplicate beat records nothing twice. Done
    in the sweep rather than fanned out: pending pages are few, unlike message threads.
    Returns the number of steps recorded.
    """
    now = timezone.now()
    recorded = sum(
        len(services.review_escalate(review_id=review_id, now=now))
        for review_id in services.unanswered_page_review_ids(now=now)
    )
    if recorded:
        logger.info("intake page escalation recorded %d steps", recorded)
    return recorded


@shared_task(name="intake.raise_abandoned_red_flags")
def raise_abandoned_red_flags() -> int:
    """Beat, every 5 minutes: raise the red flags of intakes saved in progress and abandoned
    (untouched for CARECORE_INTAKE_ABANDONED_AFTER_MINUTES). Returns the reviews raised."""
    now = timezone.now()
    raised = sum(
        services.response_raise_abandoned_red_flags(response_id=response_id, now=now) is not None
        for response_id in services.abandoned_intake_ids(now=now)
    )
    if raised:
        logger.info("abandoned-intake sweep raised %d reviews", raised)
    return raised
