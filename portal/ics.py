"""One appointment as an iCalendar (RFC 5545) file, built with the `icalendar` library.

The file travels to personal calendars and mail clients, so it carries only what a calendar needs:
when, with whom, and the join link (for the visit's patient and clinician only). No reason text,
no diagnosis, no patient name.
"""

from __future__ import annotations

from datetime import datetime

import icalendar

from .models import Appointment, AppointmentStatus

PRODID = "-//CareCore//Portal//EN"


def appointment_ics(appointment: Appointment, *, now: datetime, join_url: str | None) -> bytes:
    """`join_url`: the link for the caller's calendar (`video.calendar_join_url`), or None for
    someone who is not in the visit."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    # PUBLISH even for a cancelled visit: CANCEL is an iTIP message that needs an ORGANIZER
    # and attendees; a downloaded file just shows the event with STATUS:CANCELLED.
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", f"{appointment.id}@carecore")
    event.add("dtstamp", now)
    event.add("dtstart", appointment.start_at)
    event.add("dtend", appointment.end_at)
    event.add("sequence", appointment.sequence)
    event.add("summary", f"Video visit with {appointment.clinician.user.full_name}")
    if join_url:
        event.add("description", f"Join your video visit: {join_url}")
        event.add("location", join_url)
        event.add("url", join_url)
    else:
        event.add("description", "Video visit. Sign in to CareCore for the details.")
    event.add("status", "CANCELLED" if _cancelled(appointment) else "CONFIRMED")
    event.add("transp", "OPAQUE")
    calendar.add_component(event)
    return calendar.to_ical()


def _cancelled(appointment: Appointment) -> bool:
    return appointment.status == AppointmentStatus.CANCELLED
