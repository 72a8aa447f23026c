"""Booking: the earliest slot first, a day's open slots in the patient's own time zone, book,
see, reschedule and cancel a visit, and the visit as a calendar file. Thin: portal's services
and selectors decide what is bookable, lock, audit and announce."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from carecore.audit.lists import audited_rows
from carecore.common.errors import ApplicationError
from portal import selectors, services
from portal.ics import appointment_ics
from portal.video import calendar_join_url, join_url_for

from .guards import form_errors, patient_page, signed_in

VISIT_TYPES = [
    ("new", "New problem (30 minutes)"),
    ("follow_up", "Follow-up (15 minutes)"),
]


def _visit_type(request: HttpRequest) -> str:
    wanted = request.GET.get("type") or request.POST.get("type") or ""
    known = [code for code, _label in VISIT_TYPES if code in settings.CARECORE_VISIT_DURATIONS]
    return wanted if wanted in known else known[0]


def slot_value(clinician_id: Any, start: datetime) -> str:
    return f"{clinician_id}|{start.isoformat()}"


class SlotForm(forms.Form):
    """A slot is "<clinician id>|<start, ISO 8601 with offset>" (the radio button's value).

    Every page that books or moves a visit (the patient's and the workspace's) reads the slot
    here, so a value no page offered is this one field error, never a 500."""

    slot = forms.CharField(label="Time", error_messages={"required": "Choose a time."})
    reason = forms.CharField(
        label="What would you like to talk about? (optional)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only your care team reads this.",
    )

    def clean_slot(self) -> tuple[UUID, datetime]:
        """The clinician and the start in UTC. Offered starts are UTC already; converting here
        refuses one whose offset carries it past year 1 or 9999 (OverflowError), which the
        services' own conversion would otherwise meet."""
        try:
            clinician, start = self.cleaned_data["slot"].split("|", 1)
            moment = datetime.fromisoformat(start)
            if moment.tzinfo is None:
                raise ValueError(start)
            return UUID(clinician), moment.astimezone(UTC)
        except (ValueError, OverflowError):
            raise forms.ValidationError("Choose one of the times shown.") from None


@dataclass
class DayChoice:
    day: date
    first: date
    last: date


def day_choice(request: HttpRequest, default: datetime | None = None) -> DayChoice:
    """The day asked for (`?date=`; else the day of `default`, else the first bookable day),
    kept inside the booking window, in the zone active for the request (the patient's; the
    workspace activates the patient's zone before asking)."""
    window = selectors.booking_window()
    first = timezone.localdate(window.not_before)
    last = timezone.localdate(window.before)
    try:
        day = date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        day = timezone.localdate(default) if default is not None else first
    return DayChoice(day=min(max(day, first), last), first=first, last=last)


def slot_items(day: Any) -> list[dict[str, Any]]:
    """The day's open slots as radio choices: each slot with its form value."""
    return [
        {"value": slot_value(slot.clinician.id, slot.start), "slot": slot}
        for slot in day.answer.slots
    ]


def _upcoming(request: HttpRequest) -> list[Any]:
    user = signed_in(request)
    return audited_rows(
        user=user,
        rows=selectors.appointment_list(user=user, status="booked", upcoming=True).order_by(
            "start_at"
        ),
        object_type="appointment",
    )


@require_http_methods(["GET", "POST"])
@patient_page
def book(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    visit_type = _visit_type(request)
    form = SlotForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        clinician_id, start = form.cleaned_data["slot"]
        try:
            appointment = services.appointment_book(
                actor=user,
                patient_id=None,
                clinician_id=clinician_id,
                start=start,
                visit_type=visit_type,
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as error:
            error.after_rollback()
            form_errors(form, error)
        else:
            return redirect("patient_web:visit", appointment_id=appointment.id)
    earliest = selectors.earliest_slot(user=user, visit_type=visit_type)
    choice = day_choice(request, default=earliest.slot.start if earliest.slot else None)
    day = selectors.slots_on_day(user=user, day=choice.day, visit_type=visit_type)
    return render(
        request,
        "patient_web/booking/book.html",
        {
            "form": form,
            "visit_type": visit_type,
            "visit_types": VISIT_TYPES,
            "earliest": earliest,
            "earliest_value": slot_value(earliest.slot.clinician.id, earliest.slot.start)
            if earliest.slot
            else "",
            "choice": choice,
            "slots": slot_items(day),
            "message": day.answer.message,
            "upcoming": _upcoming(request),
        },
    )


def joinable_from(appointment: Any) -> datetime:
    """When the visit's "Join visit" button appears (the video link's early-join time)."""
    return appointment.start_at - timedelta(minutes=settings.CARECORE_JITSI_EARLY_JOIN_MINUTES)


def joinable(appointment: Any) -> bool:
    """Whether the visit's "Join visit" button shows now: booked, from `joinable_from` to its
    end (the patient's visit page and the workspace's; `join_url_for` decides who gets a link)."""
    now = timezone.now()
    return appointment.status == "booked" and joinable_from(appointment) <= now < (
        appointment.end_at
    )


@require_GET
@patient_page
def visit(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    user = signed_in(request)
    appointment = selectors.appointment_get(user=user, appointment_id=appointment_id)
    return render(
        request,
        "patient_web/booking/visit.html",
        {
            "appointment": appointment,
            "join_url": join_url_for(appointment, user) if joinable(appointment) else "",
            "joinable_from": joinable_from(appointment),
            "changeable": appointment.status == "booked" and appointment.start_at > timezone.now(),
        },
    )


@require_GET
@patient_page
def visit_calendar(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    user = signed_in(request)
    appointment = selectors.appointment_export(user=user, appointment_id=appointment_id)
    response = HttpResponse(
        appointment_ics(
            appointment, now=timezone.now(), join_url=calendar_join_url(appointment, user)
        ),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="carecore-visit.ics"'
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@patient_page
def visit_cancel(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    user = signed_in(request)
    error_message = ""
    if request.method == "POST":
        try:
            services.appointment_cancel(actor=user, appointment_id=appointment_id)
        except ApplicationError as error:
            if error.status_code == 404:
                raise
            error.after_rollback()
            error_message = error.message
        else:
            return redirect("patient_web:visit", appointment_id=appointment_id)
    appointment = selectors.appointment_get(user=user, appointment_id=appointment_id)
    return render(
        request,
        "patient_web/booking/cancel.html",
        {
            "appointment": appointment,
            "late": services.is_late_cancellation(appointment, now=timezone.now()),
            "late_hours": settings.CARECORE_LATE_CANCEL_HOURS,
            "error_message": error_message,
        },
    )


@require_http_methods(["GET", "POST"])
@patient_page
def visit_reschedule(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    user = signed_in(request)
    form = SlotForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _clinician_id, start = form.cleaned_data["slot"]
        try:
            services.appointment_reschedule(actor=user, appointment_id=appointment_id, start=start)
        except ApplicationError as error:
            if error.status_code == 404:
                raise
            error.after_rollback()
            form_errors(form, error)
        else:
            return redirect("patient_web:visit", appointment_id=appointment_id)
    appointment = selectors.appointment_get(user=user, appointment_id=appointment_id)
    choice = day_choice(request, default=appointment.start_at)
    day = selectors.slots_on_day(
        user=user,
        day=choice.day,
        visit_type=appointment.visit_type,
        clinician_id=appointment.clinician_id,
    )
    return render(
        request,
        "patient_web/booking/reschedule.html",
        {
            "form": form,
            "appointment": appointment,
            "choice": choice,
            "slots": slot_items(day),
            "message": day.answer.message,
        },
    )
