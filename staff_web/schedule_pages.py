"""The schedule ("Schedule"): a clinician's day or week, weekly availability and time off (with
the visits a time off would strand, by name), booking, moving and cancelling visits on a
patient's behalf, one visit (the page visit notifications link staff to), and the pre-visit
summary of a visit.

Thin like the APIs: portal's services and selectors decide who sees which visit (the API's
`appointment_visibility`), what is bookable (notice, window, licence, slot grid), the late-cancel
flag and the calendar's advisory lock; careplans' selector decides who reads a pre-visit summary.
Who may open which page (docs/web-portal.md, "Schedule"):

- the calendar, one visit, booking, moving and cancelling: clinicians, coordinators and
  schedulers;
- availability and time off: the clinician (their own) and schedulers (everyone's), as the API;
- the pre-visit summary: the care team and the visit's own clinician; a scheduler gets the same
  404 as for a visit that does not exist (audited), never clinical data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from carecore.accounts.models import Clinician, Role, User
from carecore.accounts.page_guards import role_page
from carecore.accounts.selectors import clinician_list, patient_get, patient_list
from carecore.audit.lists import audited_rows
from carecore.common.errors import ApplicationError
from careplans.selectors import previsit_summary
from patient_web.booking_pages import (
    VISIT_TYPES,
    SlotForm,
    day_choice,
    joinable,
    joinable_from,
    slot_items,
)
from patient_web.guards import form_errors
from portal import selectors, services
from portal.access import appointment_permissions, can_see_reason
from portal.slots import local_day_bounds
from portal.video import join_url_for

from .guards import staff_user

SCHEDULE_ROLES = frozenset({Role.CLINICIAN, Role.COORDINATOR, Role.SCHEDULER})
AVAILABILITY_ROLES = frozenset({Role.CLINICIAN, Role.SCHEDULER})
PATIENT_RESULTS = 20

schedule_page = role_page(
    roles=SCHEDULE_ROLES,
    refused_template="staff_web/schedule/refused.html",
    login_url="staff_web:sign-in",
)
"""Calendar, booking, moving, cancelling, and the pre-visit summary (whose selector refuses
schedulers with a 404)."""

availability_page = role_page(
    roles=AVAILABILITY_ROLES,
    refused_template="staff_web/schedule/refused.html",
    login_url="staff_web:sign-in",
)
"""Weekly availability and time off: the API's roles (coordinators and admins are refused)."""

WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


def _visit_type_choices() -> list[tuple[str, str]]:
    labels = dict(VISIT_TYPES)
    return [(code, labels.get(code, code)) for code in settings.CARECORE_VISIT_DURATIONS]


# --- forms: they parse and label; every rule is portal's --------------------------------------


class RuleForm(forms.Form):
    """A weekly window, in the clinician's own zone; field names are the service's."""

    weekday = forms.TypedChoiceField(label="Day of the week", choices=WEEKDAYS, coerce=int)
    start = forms.TimeField(
        label="From", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    end = forms.TimeField(
        label="Until", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    visit_types = forms.MultipleChoiceField(
        label="Visit types", choices=_visit_type_choices, widget=forms.CheckboxSelectMultiple
    )


class TimeOffForm(forms.Form):
    """A stretch of time off, entered as wall-clock days and times in the clinician's zone."""

    start_date = forms.DateField(
        label="First day", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    start_time = forms.TimeField(
        label="From", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    end_date = forms.DateField(
        label="Last day", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end_time = forms.TimeField(
        label="Until", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=200,
        help_text="For staff, e.g. “conference”. Never patient details.",
    )

    def __init__(self, *args: Any, zone: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if {"start_date", "start_time", "end_date", "end_time"} <= data.keys():
            data["starts_at"] = datetime.combine(
                data["start_date"], data["start_time"], tzinfo=self.zone
            )
            data["ends_at"] = datetime.combine(data["end_date"], data["end_time"], tzinfo=self.zone)
            if data["ends_at"] <= data["starts_at"]:
                self.add_error("end_time", "The time off must end after it starts.")
        return data


class StaffSlotForm(SlotForm):
    """The portal's slot choice, with the reason written for the patient as staff hear it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = "Reason for the visit (optional)"
        self.fields["reason"].help_text = "Only the care team reads this; schedulers never do."


def _show_errors(
    form: forms.Form, error: ApplicationError, renamed: dict[str, str] | None = None
) -> None:
    """A service's errors next to the form's fields (`renamed`: service field -> form field)."""
    if renamed:
        error.fields = {renamed.get(name, name): value for name, value in error.fields.items()}
    form_errors(form, error)


# --- the calendar ---------------------------------------------------------------------------------


@dataclass
class CalendarDay:
    day: date
    visits: list[Any]
    time_off: list[Any]


def _chosen_clinician(request: HttpRequest, clinicians: list[Clinician]) -> Clinician | None:
    """`?clinician=`, else the viewer's own calendar (a clinician), the first clinician they
    coordinate for (a coordinator), or the first of the list."""
    user = staff_user(request)
    by_id = {str(clinician.id): clinician for clinician in clinicians}
    wanted = by_id.get(request.GET.get("clinician", ""))
    if wanted is not None:
        return wanted
    own = next((c for c in clinicians if c.user_id == user.id), None)
    if own is None and user.role == Role.COORDINATOR:
        coordinated = set(user.coordinated_clinicians.values_list("id", flat=True))
        own = next((c for c in clinicians if c.id in coordinated), None)
    return own or (clinicians[0] if clinicians else None)


CALENDAR_REACH_YEARS = 100
"""How many years before and after today's the calendar goes: further than any visit a clinic
keeps, and far enough inside Python's years 1 to 9999 that stepping a week or reading a day's
bounds in any zone never overflows."""


@dataclass(frozen=True)
class CalendarReach:
    first: date
    last: date

    @classmethod
    def around(cls, today: date) -> CalendarReach:
        return cls(
            first=date(today.year - CALENDAR_REACH_YEARS, 1, 1),
            last=date(today.year + CALENDAR_REACH_YEARS, 12, 31),
        )

    def within(self, day: date) -> date | None:
        return day if self.first <= day <= self.last else None


def _asked_day(request: HttpRequest, today: date, reach: CalendarReach) -> date:
    """`?date=`, or today when it is missing, unreadable or beyond the calendar's reach (only a
    hand-made URL gets there: the page links no further)."""
    try:
        asked = date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        return today
    return reach.within(asked) or today


def _may_manage_availability(user: User, clinician: Clinician) -> bool:
    return user.role == Role.SCHEDULER or clinician.user_id == user.id


def _calendar_days(user: User, clinician: Clinician, first: date, count: int) -> list[CalendarDay]:
    """The clinician's visits (those the viewer may see, each audited as shown) and time off
    (for those who manage it) on `count` days from `first`, in the viewer's zone."""
    zone = timezone.get_current_timezone()
    last = first + timedelta(days=count - 1)
    visits = audited_rows(
        user=user,
        rows=selectors.appointment_list(
            user=user, clinician_id=clinician.id, date_from=first, date_to=last, zone=zone
        ).order_by("start_at", "id"),
        object_type="appointment",
    )
    start = local_day_bounds(first, zone).start
    end = local_day_bounds(last, zone).end
    time_off = (
        selectors.time_off_during(user=user, clinician_id=clinician.id, start=start, end=end)
        if _may_manage_availability(user, clinician)
        else []
    )
    days = []
    for offset in range(count):
        day = first + timedelta(days=offset)
        bounds = local_day_bounds(day, zone)
        days.append(
            CalendarDay(
                day=day,
                visits=[v for v in visits if timezone.localdate(v.start_at) == day],
                time_off=[
                    t for t in time_off if t.starts_at < bounds.end and t.ends_at > bounds.start
                ],
            )
        )
    return days


@require_GET
@schedule_page
def schedule(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    clinicians = list(clinician_list().order_by("user__last_name", "user__first_name", "id"))
    clinician = _chosen_clinician(request, clinicians)
    view = "week" if request.GET.get("view") == "week" else "day"
    today = timezone.localdate()
    reach = CalendarReach.around(today)
    day = _asked_day(request, today, reach)
    first = day - timedelta(days=day.weekday()) if view == "week" else day
    step = timedelta(days=7 if view == "week" else 1)
    return render(
        request,
        "staff_web/schedule/calendar.html",
        {
            "clinicians": clinicians,
            "clinician": clinician,
            "view": view,
            "day": day,
            "today": today,
            # No link past the calendar's reach (None: the template leaves it out).
            "previous_day": reach.within(day - step),
            "next_day": reach.within(day + step),
            "days": _calendar_days(user, clinician, first, 7 if view == "week" else 1)
            if clinician
            else [],
            "own_calendar": clinician is not None and clinician.user_id == user.id,
            "sees_every_visit": user.role == Role.SCHEDULER
            or (clinician is not None and clinician.user_id == user.id),
            "can_see_reason": can_see_reason(user),
            "can_read_summaries": user.role != Role.SCHEDULER,
            "can_manage_availability": clinician is not None
            and _may_manage_availability(user, clinician),
            "now": timezone.now(),
        },
    )


def _calendar_url(clinician_id: Any, moment: datetime | None = None) -> str:
    url = f"{reverse('staff_web:schedule')}?clinician={clinician_id}"
    if moment is not None:
        url += f"&date={timezone.localdate(moment).isoformat()}"
    return url


# --- availability and time off ------------------------------------------------------------------


def _collisions(
    user: User, clinician: Clinician, starts_at: datetime, ends_at: datetime
) -> list[Any]:
    return audited_rows(
        user=user,
        rows=selectors.booked_appointments_during(
            user=user, clinician_id=clinician.id, start=starts_at, end=ends_at
        ),
        object_type="appointment",
    )


def _save_time_off(
    request: HttpRequest, clinician: Clinician, form: TimeOffForm
) -> HttpResponse | None:
    try:
        created = services.clinician_time_off_create(
            user=staff_user(request),
            clinician_id=clinician.id,
            starts_at=form.cleaned_data["starts_at"],
            ends_at=form.cleaned_data["ends_at"],
            note=form.cleaned_data["note"],
        )
    except ApplicationError as error:
        if error.status_code == 404:
            raise
        error.after_rollback()
        _show_errors(form, error, renamed={"start": "start_date", "end": "end_time"})
        return None
    messages.success(request, "Time off added.")
    url = reverse("staff_web:schedule-availability", kwargs={"clinician_id": clinician.id})
    return redirect(f"{url}?time_off={created.time_off.id}#time-off-added")


def _save_rule(request: HttpRequest, clinician: Clinician, form: RuleForm) -> HttpResponse | None:
    try:
        services.clinician_rule_create(
            user=staff_user(request),
            clinician_id=clinician.id,
            weekday=form.cleaned_data["weekday"],
            start_time=form.cleaned_data["start"],
            end_time=form.cleaned_data["end"],
            visit_types=form.cleaned_data["visit_types"],
        )
    except ApplicationError as error:
        if error.status_code == 404:
            raise
        error.after_rollback()
        _show_errors(form, error)
        return None
    messages.success(request, "Weekly hours added.")
    return redirect("staff_web:schedule-availability", clinician_id=clinician.id)


def _added_time_off(request: HttpRequest, time_off: Iterable[Any]) -> Any:
    """The time off just added (`?time_off=` after the redirect), if it is this clinician's."""
    wanted = request.GET.get("time_off", "")
    return next((item for item in time_off if str(item.id) == wanted), None)


@require_http_methods(["GET", "POST"])
@availability_page
def availability(request: HttpRequest, clinician_id: UUID) -> HttpResponse:
    """Weekly hours and time off of one clinician, in the clinician's own zone. "Check for
    visits" lists the booked visits a time off would overlap without saving it; "Add time off"
    saves it (visits stay booked: portal's rule) and lists them again to be moved one by one."""
    user = staff_user(request)
    current = selectors.clinician_availability(user=user, clinician_id=clinician_id)
    clinician = current.clinician
    zone = clinician.user.zone
    posted = request.POST.get("form") if request.method == "POST" else None
    rule_form = RuleForm(request.POST if posted == "rule" else None, prefix="rule")
    time_off_form = TimeOffForm(
        request.POST if posted == "time_off" else None, prefix="off", zone=zone
    )
    collisions: list[Any] | None = None
    saved: HttpResponse | None = None
    if posted == "rule" and rule_form.is_valid():
        saved = _save_rule(request, clinician, rule_form)
    elif posted == "time_off" and time_off_form.is_valid():
        if request.POST.get("action") == "save":
            saved = _save_time_off(request, clinician, time_off_form)
        else:
            collisions = _collisions(
                user,
                clinician,
                time_off_form.cleaned_data["starts_at"],
                time_off_form.cleaned_data["ends_at"],
            )
    if saved is not None:
        return saved
    time_off = list(current.time_off)
    added = _added_time_off(request, time_off)
    with timezone.override(zone):
        return render(
            request,
            "staff_web/schedule/availability.html",
            {
                "clinician": clinician,
                "rules": list(current.rules),
                "time_off": time_off,
                "rule_form": rule_form,
                "time_off_form": time_off_form,
                "collisions": collisions,
                "added": added,
                "added_collisions": _collisions(user, clinician, added.starts_at, added.ends_at)
                if added
                else None,
                "weekdays": dict(WEEKDAYS),
                "visit_type_labels": dict(_visit_type_choices()),
            },
        )


@require_POST
@availability_page
def rule_delete(request: HttpRequest, clinician_id: UUID, rule_id: UUID) -> HttpResponse:
    services.clinician_rule_delete(
        user=staff_user(request), clinician_id=clinician_id, rule_id=rule_id
    )
    messages.success(request, "Weekly hours removed.")
    return redirect("staff_web:schedule-availability", clinician_id=clinician_id)


@require_POST
@availability_page
def time_off_delete(request: HttpRequest, clinician_id: UUID, time_off_id: UUID) -> HttpResponse:
    services.clinician_time_off_delete(
        user=staff_user(request), clinician_id=clinician_id, time_off_id=time_off_id
    )
    messages.success(request, "Time off removed.")
    return redirect("staff_web:schedule-availability", clinician_id=clinician_id)


# --- booking, moving and cancelling on a patient's behalf ---------------------------------------


def _patient_search(request: HttpRequest, query: str) -> list[Any] | None:
    """Patients the caller may book for whose name or e-mail contains each of the first four
    words of `query` (schedulers: every patient, demographics only; the care team: their
    patients), each audited as shown."""
    words = query.split()
    if not words:
        return None
    patients = patient_list(user=staff_user(request))
    for word in words[:4]:
        patients = patients.filter(
            Q(user__first_name__icontains=word)
            | Q(user__last_name__icontains=word)
            | Q(user__email__icontains=word)
        )
    return audited_rows(
        user=request.user,
        rows=patients.order_by("user__last_name", "user__first_name", "id")[:PATIENT_RESULTS],
        object_type="patient",
        patient_id_of=lambda patient: patient.id,
    )


def _visit_type(request: HttpRequest) -> str:
    wanted = request.POST.get("type") or request.GET.get("type") or ""
    known = [code for code, _label in _visit_type_choices()]
    return wanted if wanted in known else known[0]


def _clinician_filter(request: HttpRequest) -> UUID | None:
    try:
        return UUID(request.POST.get("clinician") or request.GET.get("clinician") or "")
    except ValueError:
        return None


def _patient_asked(request: HttpRequest) -> UUID | None:
    """`patient` (posted, else `?patient=`), or None when there is none. An id that is not a
    UUID names no patient: the same 404 as an unknown one, as the URLs' `<uuid:...>` answer, and
    not audited (there is no row to name, and the text may be anything)."""
    value = request.POST.get("patient") or request.GET.get("patient")
    if not value:
        return None
    try:
        return UUID(value)
    except ValueError:
        raise Http404 from None


@require_http_methods(["GET", "POST"])
@schedule_page
def book(request: HttpRequest) -> HttpResponse:
    """Find the patient, then their open slots (licence, window and grid are portal's) on a day
    of the patient's own zone, then book (`appointment_book`: the same checks, the patient's
    upcoming-visit cap, the calendar's advisory lock, the exclusion constraint).

    The search is a POST (a POST without `patient`) answered in place, never redirected: what
    was typed (a patient's name or e-mail) stays out of the URL, so out of the browser's
    history, Referer headers and proxies' logs (docs/security.md). A GET ignores `?q=`."""
    user = staff_user(request)
    if request.method == "POST" and "patient" not in request.POST:
        query = request.POST.get("q", "")
        return render(
            request,
            "staff_web/schedule/book.html",
            {"patients": _patient_search(request, query), "query": query},
        )
    patient_id = _patient_asked(request)
    if patient_id is None:
        return render(request, "staff_web/schedule/book.html", {"patients": None, "query": ""})
    patient = patient_get(user=user, patient_id=patient_id)
    visit_type = _visit_type(request)
    clinician_id = _clinician_filter(request)
    form = StaffSlotForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        slot_clinician, start = form.cleaned_data["slot"]
        try:
            appointment = services.appointment_book(
                actor=user,
                patient_id=patient.id,
                clinician_id=slot_clinician,
                start=start,
                visit_type=visit_type,
                # Schedulers are not offered the field: the reason is clinical text.
                reason=form.cleaned_data["reason"] if can_see_reason(user) else "",
            )
        except ApplicationError as error:
            if error.status_code == 404:
                raise
            error.after_rollback()
            _show_errors(form, error)
        else:
            messages.success(request, "Visit booked.")
            return redirect(_calendar_url(appointment.clinician_id, appointment.start_at))
    with timezone.override(patient.user.zone):
        choice = day_choice(request)
        day = selectors.slots_on_day(
            user=user,
            day=choice.day,
            visit_type=visit_type,
            patient_id=patient.id,
            clinician_id=clinician_id,
        )
        return render(
            request,
            "staff_web/schedule/book.html",
            {
                "patient": patient,
                "form": form,
                "visit_type": visit_type,
                "visit_types": _visit_type_choices(),
                "clinicians": selectors.bookable_clinicians(
                    visit_type=visit_type, state=patient.state
                ),
                "clinician_id": clinician_id,
                "can_write_reason": can_see_reason(user),
                "choice": choice,
                # The day picker's GET keeps the patient, visit type and clinician filter.
                "keep": [("patient", patient.id), ("type", visit_type)]
                + ([("clinician", clinician_id)] if clinician_id else []),
                "slots": slot_items(day),
                "message": day.answer.message,
            },
        )


@require_http_methods(["GET", "POST"])
@schedule_page
def reschedule(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    """Move a visit to another open slot of the same clinician (`appointment_reschedule`: the
    new time is taken before the old is released), days and times in the patient's zone."""
    user = staff_user(request)
    form = SlotForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        _clinician_id, start = form.cleaned_data["slot"]
        try:
            moved = services.appointment_reschedule(
                actor=user, appointment_id=appointment_id, start=start
            )
        except ApplicationError as error:
            if error.status_code == 404:
                raise
            error.after_rollback()
            _show_errors(form, error)
        else:
            messages.success(request, "Visit moved.")
            return redirect(_calendar_url(moved.clinician_id, moved.start_at))
    appointment = selectors.appointment_get(user=user, appointment_id=appointment_id)
    with timezone.override(appointment.patient.user.zone):
        choice = day_choice(request, default=appointment.start_at)
        day = selectors.slots_on_day(
            user=user,
            day=choice.day,
            visit_type=appointment.visit_type,
            patient_id=appointment.patient_id,
            clinician_id=appointment.clinician_id,
        )
        return render(
            request,
            "staff_web/schedule/reschedule.html",
            {
                "appointment": appointment,
                "form": form,
                "choice": choice,
                "slots": slot_items(day),
                "message": day.answer.message,
                "changeable": appointment.status == "booked"
                and appointment.start_at > timezone.now(),
            },
        )


@require_http_methods(["GET", "POST"])
@schedule_page
def cancel(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    """Cancel on the patient's behalf (`appointment_cancel`); the page says beforehand when it
    counts as a late cancellation (portal's rule: late for that time, whoever cancels)."""
    user = staff_user(request)
    error_message = ""
    if request.method == "POST":
        try:
            cancelled = services.appointment_cancel(actor=user, appointment_id=appointment_id)
        except ApplicationError as error:
            if error.status_code == 404:
                raise
            error.after_rollback()
            error_message = error.message
        else:
            messages.success(
                request,
                "Visit cancelled (a late cancellation)."
                if cancelled.late_cancel
                else "Visit cancelled.",
            )
            return redirect(_calendar_url(cancelled.clinician_id, cancelled.start_at))
    appointment = selectors.appointment_get(user=user, appointment_id=appointment_id)
    return render(
        request,
        "staff_web/schedule/cancel.html",
        {
            "appointment": appointment,
            "late": services.is_late_cancellation(appointment, now=timezone.now()),
            "late_hours": settings.CARECORE_LATE_CANCEL_HOURS,
            "changeable": appointment.status == "booked" and appointment.start_at > timezone.now(),
            "error_message": error_message,
        },
    )


# --- one visit ------------------------------------------------------------------------------------


@require_GET
@schedule_page
def visit(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    """One visit as the workspace sees it, the page visit notifications (booked, moved,
    cancelled) link staff to (`links.page_for`): its status, time in the viewer's
    zone, type, clinician and patient, the reason for those who may read it, and only the
    actions the viewer's rules allow (`appointment_permissions`: move and cancel, the patient's
    chart, the pre-visit summary; "Join" for the visit's own clinician, `join_url_for`).

    Who sees it is the schedule's rule (`access_appointment`, audited): a visit the viewer may
    not see, another team's patient's or none at all, is the same 404."""
    user = staff_user(request)
    appointment = selectors.appointment_get(user=user, appointment_id=appointment_id)
    now = timezone.now()
    may = appointment_permissions(user=user, appointment=appointment)
    return render(
        request,
        "staff_web/schedule/visit.html",
        {
            "appointment": appointment,
            "may": may,
            "can_see_reason": can_see_reason(user),
            "changeable": may.change
            and appointment.status == "booked"
            and appointment.start_at > now,
            "started": appointment.status == "booked" and appointment.start_at <= now,
            "join_url": join_url_for(appointment, user) if joinable(appointment) else None,
            "joinable_from": joinable_from(appointment),
            "own_visit": appointment.clinician.user_id == user.id,
            "upcoming": appointment.start_at > now,
        },
    )


# --- the pre-visit summary ------------------------------------------------------------------------


@require_GET
@schedule_page
def visit_summary(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    """careplans' pre-visit summary (audited; a scheduler, another team's patient or a missing
    visit: the same 404), the page the `previsit_summary` notification links to."""
    summary = previsit_summary(user=staff_user(request), appointment_id=appointment_id)
    return render(
        request,
        "staff_web/schedule/summary.html",
        {"summary": summary, "appointment": summary.appointment},
    )


@require_GET
@schedule_page
def visit_summary_moved(request: HttpRequest, appointment_id: UUID) -> HttpResponse:
    """`/visits/<id>/summary/`, where pre-visit notifications linked before the page existed:
    the same guard (signed out -> the workspace's sign-in), then to the page itself."""
    return redirect("staff_web:visit_summary", appointment_id=appointment_id)
