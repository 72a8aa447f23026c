"""Celery tasks for the portal: take ids (or nothing), call one service.

`portal.send_appointment_reminders` runs on beat (CELERY_BEAT_SCHEDULE, every
CARECORE_APPOINTMENT_REMINDER_INTERVAL_SECONDS). It needs no state of its own: each reminder's
notification key (event, recipient, channel, appointment, occurrence with the start time) makes
a second run, a duplicated beat message or a restarted worker a no-op.
"""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="portal.send_appointment_reminders", ignore_result=True)
def send_appointment_reminders() -> dict[str, int]:
    return services.appointment_reminders_send()
