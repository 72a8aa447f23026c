"""Who gets what by default, and when quiet hours end. Plain functions, no database.

Role defaults are what a clinic would choose before anyone touched their settings:
- everyone gets every event in the app (the in-app list is the record of what happened);
- patients get email for what needs them to act or sign in, and SMS only for time-critical
  things (reminders, cancellations and reschedules), because SMS is the most exposed channel;
- clinicians and coordinators get email and SMS for urgent clinical events, email for routine
  clinical work, and booking churn only in the app;
- schedulers get booking events by email and in the app; admins get the app only;
- web push (for users who registered a browser) follows e-mail and SMS: on for what either is on
  for.

Urgent pages have a floor no preference goes below (docs/security.md, "Urgent pages cannot be
silenced"): staff always get them in the app and on e-mail or SMS (e-mail when SMS cannot reach
them), and the preferences API refuses a change that would go below it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from carecore.accounts.models import CARE_TEAM_ROLES, STAFF_ROLES, Role

from .models import Channel, Event

E, S, A = Channel.EMAIL, Channel.SMS, Channel.IN_APP

ROLE_DEFAULTS: dict[str, dict[str, frozenset[str]]] = {
    Role.PATIENT: {
        Event.MESSAGE_RECEIVED: frozenset({E, A}),
        Event.APPOINTMENT_BOOKED: frozenset({E, A}),
        Event.APPOINTMENT_CANCELLED: frozenset({E, S, A}),
        Event.APPOINTMENT_RESCHEDULED: frozenset({E, S, A}),
        Event.APPOINTMENT_REMINDER: frozenset({E, S, A}),
        Event.CARE_PLAN_PUBLISHED: frozenset({E, A}),
        Event.CHECKIN_DUE: frozenset({E, A}),
    },
    Role.CLINICIAN: {
        Event.MESSAGE_RECEIVED: frozenset({E, A}),
        Event.THREAD_ESCALATED: frozenset({E, S, A}),
        Event.TRIAGE_URGENT: frozenset({E, S, A}),
        Event.INTAKE_RED_FLAG: frozenset({E, S, A}),
        Event.INTAKE_SUBMITTED: frozenset({E, A}),
        Event.PREVISIT_SUMMARY: frozenset({E, A}),
    },
    Role.COORDINATOR: {
        Event.MESSAGE_RECEIVED: frozenset({E, A}),
        Event.THREAD_ESCALATED: frozenset({E, S, A}),
        Event.TRIAGE_URGENT: frozenset({E, S, A}),
        Event.INTAKE_RED_FLAG: frozenset({E, S, A}),
        Event.INTAKE_SUBMITTED: frozenset({E, A}),
    },
    Role.SCHEDULER: {
        Event.APPOINTMENT_BOOKED: frozenset({E, A}),
        Event.APPOINTMENT_CANCELLED: frozenset({E, A}),
        Event.APPOINTMENT_RESCHEDULED: frozenset({E, A}),
    },
    Role.ADMIN: {},
}


# Pages: what a clinician on call must see whatever they chose. Only staff receive them.
URGENT_EVENTS = frozenset({Event.TRIAGE_URGENT, Event.INTAKE_RED_FLAG, Event.THREAD_ESCALATED})
# Staff who are paged (on call, escalation ladders); the preferences API keeps their floor.
PAGED_ROLES = CARE_TEAM_ROLES


def urgent_floor(
    *, role: str, event: str, channels: frozenset[str], sms_reachable: bool
) -> frozenset[str]:
    """The channels a notification goes on once the floor for urgent pages is applied.

    A staff member always gets an urgent page in the app and on at least one of e-mail and SMS,
    whatever their stored preferences say: e-mail is added when neither e-mail nor an SMS that
    can actually reach them (a phone on file, SMS configured) is on. Anything else is unchanged.
    """
    if event not in URGENT_EVENTS or role not in STAFF_ROLES:
        return channels
    floored = set(channels) | {A}
    if E not in floored and not (S in floored and sms_reachable):
        floored.add(E)
    return frozenset(floored)


def below_urgent_floor(*, event: str, enabled: dict[str, bool]) -> bool:
    """Whether these effective per-channel values of one event leave a paged role without the
    app, or without both e-mail and SMS."""
    if event not in URGENT_EVENTS:
        return False
    return not enabled.get(A, False) or not (enabled.get(E, False) or enabled.get(S, False))


def default_enabled(*, role: str, event: str, channel: str) -> bool:
    if channel == Channel.IN_APP:
        return True
    defaults = ROLE_DEFAULTS.get(role, {}).get(event, frozenset())
    if channel == Channel.PUSH:
        # Registering a browser for push is itself the opt-in; it then announces what is worth
        # an e-mail or a text, and nothing that lives only in the app.
        return bool(defaults & {E, S})
    return channel in defaults


def parse_hhmm(value: str) -> time:
    """ "22:00" -> time(22, 0); raises ValueError for anything else."""
    hours, minutes = value.split(":")
    if len(hours) != 2 or len(minutes) != 2:
        raise ValueError(value)
    return time(int(hours), int(minutes))


def _in_window(local: time, start: time, end: time) -> bool:
    if start < end:
        return start <= local < end
    return local >= start or local < end  # the window wraps past midnight


def quiet_hours_end(*, at: datetime, zone: ZoneInfo, start: time, end: time) -> datetime | None:
    """If `at` falls in the quiet window of a user in `zone`, the (UTC) instant it ends; else None.

    Works on the local wall clock, so "07:00" is 07:00 on the day it ends whatever the UTC offset
    did overnight (DST). An end time that does not exist that day (spring forward) resolves to
    the first real instant after the gap.
    """
    local = at.astimezone(zone)
    if not _in_window(local.timetz().replace(tzinfo=None), start, end):
        return None
    end_date = local.date()
    if local.time() >= end:
        end_date += timedelta(days=1)
    naive_end = datetime.combine(end_date, end)
    ends = naive_end.replace(tzinfo=zone, fold=0).astimezone(ZoneInfo("UTC"))
    # In a DST gap, fold=0 reads the wall time with the old offset, which can land before
    # `at` only if `at` is itself in the gap's hour; never send earlier than asked.
    return max(ends, at.astimezone(ZoneInfo("UTC")))


def default_quiet_hours() -> tuple[time, time] | None:
    """CARECORE_NOTIFICATIONS_DEFAULT_QUIET_HOURS ("21:00-08:00", or "" for none): the quiet
    hours of everyone who has not chosen their own."""
    configured = settings.CARECORE_NOTIFICATIONS_DEFAULT_QUIET_HOURS
    if not configured:
        return None
    start, end = configured.split("-")
    return parse_hhmm(start.strip()), parse_hhmm(end.strip())
