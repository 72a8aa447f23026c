"""Messaging configuration read from settings, and the texts of the automatic replies.

Auto-replies are messages in the thread, written by the system. They carry no patient data:
the same words go to every patient, only the expected time differs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from carecore.clinical.severity import Severity

from .hours import CareTeamHours
from .models import Priority

AFTER_HOURS_REPLY = (
    "Thanks for your message. Our care team is outside working hours right now "
    "({hours}). You can expect a reply by {expected}. If this is an emergency, call 911 or go "
    "to the nearest emergency department."
)


def triage_reply(*, severity: Severity, codes: list[str]) -> str:
    """The system reply to a message that raised an emergency, crisis or urgent flag: the action
    for the worst severity (911, 988, a clinician within 15 minutes), plus the crisis line when a
    crisis flag came with a worse one (an overdose with trouble breathing needs both). The same
    words for everyone: no patient data."""
    text = severity.patient_guidance
    crisis_codes = {"suicidal", "self_harm", "overdose"}
    if severity is not Severity.CRISIS and crisis_codes.intersection(codes):
        text = f"{text} {Severity.CRISIS.patient_guidance}"
    return text


def triage_reply_severity(body: str) -> Severity | None:
    """The severity an automatic reply (a system message) gives the action of, when it is a
    `triage_reply`; None for any other text (e.g. the after-hours reply). Pages show these
    replies prominently, with the number to call."""
    for severity in sorted(Severity, key=lambda each: each.rank, reverse=True):
        if severity.pages_on_call and body.startswith(severity.patient_guidance):
            return severity
    return None


def care_team_hours() -> CareTeamHours:
    return CareTeamHours.parse(
        opens=settings.CARECORE_MESSAGING_HOURS_OPEN,
        closes=settings.CARECORE_MESSAGING_HOURS_CLOSE,
        weekdays=settings.CARECORE_MESSAGING_HOURS_WEEKDAYS,
        zone=settings.CARECORE_MESSAGING_HOURS_TIMEZONE,
    )


def response_due_at(*, received_at: datetime, priority: str) -> datetime:
    """Urgent: minutes around the clock. Soon and routine: hours counted in care-team working
    hours, so a "soon" flag at night is reviewed early the next working day and pages nobody."""
    if priority == Priority.URGENT:
        return received_at + timedelta(minutes=settings.CARECORE_MESSAGING_URGENT_RESPONSE_MINUTES)
    hours = (
        settings.CARECORE_MESSAGING_SOON_RESPONSE_HOURS
        if priority == Priority.SOON
        else settings.CARECORE_MESSAGING_ROUTINE_RESPONSE_HOURS
    )
    return care_team_hours().add_working_time(received_at, timedelta(hours=hours))


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
