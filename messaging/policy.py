"""Messaging configuration read from settings, and the texts of the automatic replies.

Auto-replies are messages in the thread, written by the system. They carry no patient data:
the same words go to every patient, only the expected time differs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from .hours import CareTeamHours
from .models import Priority

EMERGENCY_REPLY = (
    "Your message mentions symptoms that can be serious. If this is an emergency, call 911 or go "
    "to the nearest emergency department now. If you are having thoughts of harming yourself, "
    "call or text 988 (Suicide & Crisis Lifeline). Your care team has been alerted and will "
    "reply as soon as possible."
)

AFTER_HOURS_REPLY = (
    "Thanks for your message. Our care team is outside working hours right now "
    "({hours}). You can expect a reply by {expected}. If this is an emergency, call 911 or go "
    "to the nearest emergency department."
)


def care_team_hours() -> CareTeamHours:
    return CareTeamHours.parse(
        opens=settings.CARECORE_MESSAGING_HOURS_OPEN,
        closes=settings.CARECORE_MESSAGING_HOURS_CLOSE,
        weekdays=settings.CARECORE_MESSAGING_HOURS_WEEKDAYS,
        zone=settings.CARECORE_MESSAGING_HOURS_TIMEZONE,
    )


def response_due_at(*, received_at: datetime, priority: str) -> datetime:
    """Urgent: minutes around the clock. Routine: hours counted in care-team working hours."""
    if priority == Priority.URGENT:
        return received_at + timedelta(minutes=settings.CARECORE_MESSAGING_URGENT_RESPONSE_MINUTES)
    duration = timedelta(hours=settings.CARECORE_MESSAGING_ROUTINE_RESPONSE_HOURS)
    return care_team_hours().add_working_time(received_at, duration)


def escalation_step_gap(priority: str) -> timedelta:
    if priority == Priority.URGENT:
        return timedelta(minutes=settings.CARECORE_MESSAGING_URGENT_ESCALATION_STEP_MINUTES)
    return timedelta(minutes=settings.CARECORE_MESSAGING_ROUTINE_ESCALATION_STEP_MINUTES)


_WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _describe_hours(hours: CareTeamHours) -> str:
    days = sorted(hours.weekdays)
    if days == list(range(days[0], days[-1] + 1)) and len(days) > 1:
        day_text = f"{_WEEKDAY_NAMES[days[0]]}-{_WEEKDAY_NAMES[days[-1]]}"
    else:
        day_text = ", ".join(_WEEKDAY_NAMES[day] for day in days)
    return f"{day_text} {hours.opens:%H:%M}-{hours.closes:%H:%M} {hours.zone.key}"


def after_hours_reply(*, expected: datetime, patient_zone: ZoneInfo) -> str:
    local = expected.astimezone(patient_zone)
    hour = local.strftime("%I").lstrip("0")
    expected_text = f"{local:%A, %B} {local.day}, {hour}:{local:%M %p} ({patient_zone.key})"
    return AFTER_HOURS_REPLY.format(
        hours=_describe_hours(care_team_hours()), expected=expected_text
    )
