"""The schedule in the workspace: a clinician's day and week (their own by default), schedulers
for every clinician; weekly hours and time off with the visits a time off collides with, by
name; booking, moving and cancelling on a patient's behalf; each role sees only what the API
shows it, and another team's patient's visit is a 404."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import resolve

from carecore.accounts.models import Clinician, Patient, User
from carecore.audit.models import Action, AuditEvent
from portal.models import Appointment, AppointmentStatus, AvailabilityRule, TimeOff
from tests.factories import PatientFactory
from tests.portal.conftest import NOW, REASON, TOMORROW, at, book_directly, give_availability

# Every test runs at portal's NOW (`frozen`); `schedules` is portal's fixture too (conftest).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

SCHEDULE = "/staff/schedule/"


@pytest.fixture
def visit(schedules: None, patient: Patient, clinician: Clinician) -> Appointment:
    """The patient's visit with their lead tomorrow at 10:00 New York time."""
    return book_directly(patient=patient, clinician=clinician, start=at(TOMORROW, 10))


@pytest.fixture
def other_visit(schedules: None, other_patient: Patient, other_clinician: Clinician) -> Appointment:
    """Another team's patient's visit (WA, Los Angeles) with their own lead, tomorrow."""
    return book_directly(patient=other_patient, clinician=other_clinician, start=at(TOMORROW, 11))


def slot(clinician: Clinician, start: datetime) -> str:
    return f"{clinician.id}|{start.astimezone(UTC).isoformat()}"


def availability_url(clinician: Clinician) -> str:
    return f"{SCHEDULE}clinicians/{clinician.id}/availability/"


def day_url(clinician: Clinician, day: date = TOMORROW, view: str = "day") -> str:
    return f"{SCHEDULE}?clinician={clinician.id}&view={view}&date={day.isoformat()}"


# Offsets that carry the time past the first or last moment Python can count once in UTC.
BEYOND_TIME = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]


def summary_targets(html: str) -> list[str]:
    """The ids the error summary's links point at; each must be an element on the page."""
    summary = html.split('class="error-summary"')[1].split("</div>")[0]
    targets = re.findall(r'href="#([^"]+)"', summary)
    assert targets and all(f'id="{target}"' in html for target in targets), targets
    return targets


# --- the calendar ---------------------------------------------------------------------------------


def test_a_clinician_sees_their_own_day_by_default_with_names_reasons_and_summaries(
    visit: Appointment, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    client = staff_web_for(clinician.user)

    html = client.get(f"{SCHEDULE}?date={TOMORROW.isoformat()}").content.decode()

    assert f"<h1>Schedule: {clinician.user.full_name}</h1>" in html
    assert '<a href="/staff/schedule/" aria-current="page">Schedule</a>' in html
    assert visit.patient.user.full_name in html
    assert "10:00 AM" in html
    assert REASON in html
    assert f"/staff/visits/{visit.id}/summary/" in html
    assert f"/staff/schedule/visits/{visit.id}/reschedule/" in html
    assert AuditEvent.objects.filter(
        object_type="appointment",
        action=Action.LIST,
        detail__object_ids__contains=[str(visit.id)],
    ).exists()


def test_a_scheduler_sees_every_clinician_names_and_times_but_never_the_reason(
    visit: Appointment,
    other_visit: Appointment,
    clinician: Clinician,
    other_clinician: Clinician,
    scheduler: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    client = staff_web_for(scheduler)

    html = client.get(day_url(other_clinician)).content.decode()

    assert f'<option value="{clinician.id}"' in html
    assert f'<option value="{other_clinician.id}" selected' in html
    assert other_visit.patient.user.full_name in html
    assert "reason given" in html
    assert REASON not in html
    assert "/summary/" not in html  # no pre-visit summaries: clinical data
    # The scheduler's navigation has the schedule only: no inbox, no reviews.
    assert ">Inbox</a>" not in html and ">Reviews</a>" not in html


def test_a_scheduler_lands_on_the_schedule_after_signing_in(scheduler: User) -> None:
    client = Client()
    response = client.post(
        "/staff/sign-in/", {"email": scheduler.email, "password": "correct-horse-battery-staple"}
    )
    assert response["Location"] == SCHEDULE


def test_the_week_shows_seven_days_from_monday_with_each_visit_on_its_day(
    schedules: None, patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    friday = date(2026, 6, 12)
    book_directly(patient=patient, clinician=clinician, start=at(friday, 9))

    html = staff_web_for(clinician.user).get(day_url(clinician, view="week")).content.decode()

    headings = [f'id="day-2026-06-{day:02d}"' for day in range(8, 15)]
    assert all(heading in html for heading in headings)
    friday_column = html.split('id="day-2026-06-12"')[1].split("</section>")[0]
    assert patient.user.full_name in friday_column


def test_a_clinician_sees_only_their_patients_on_another_clinicians_calendar(
    other_visit: Appointment,
    clinician: Clinician,
    other_clinician: Clinician,
    staff_web_for: Callable[[User], Client],
) -> None:
    html = staff_web_for(clinician.user).get(day_url(other_clinician)).content.decode()

    assert other_visit.patient.user.full_name not in html
    assert "Only visits of patients on your care teams are shown." in html
    assert "Weekly hours and time off" not in html


def test_a_coordinator_sees_the_clinician_they_coordinate_for_by_default(
    visit: Appointment, coordinator: User, staff_web_for: Callable[[User], Client]
) -> None:
    html = (
        staff_web_for(coordinator).get(f"{SCHEDULE}?date={TOMORROW.isoformat()}").content.decode()
    )

    assert visit.patient.user.full_name in html
    assert f"/staff/visits/{visit.id}/summary/" in html


def test_the_calendar_costs_the_same_queries_for_one_visit_or_many(
    schedules: None,
    patient: Patient,
    clinician: Clinician,
    scheduler: User,
    staff_web_for: Callable[[User], Client],
    django_assert_num_queries: Any,
) -> None:
    client = staff_web_for(scheduler)
    book_directly(patient=patient, clinician=clinician, start=at(TOMORROW, 9))
    url = day_url(clinician, view="week")
    client.get(url)

    # Session, user, clinicians for the picker, the visits with patient and clinician, their
    # audit events (one INSERT), the clinician's availability access and the time off.
    with django_assert_num_queries(7):
        assert client.get(url).status_code == 200
    for hour in (11, 12, 13, 14):
        other = PatientFactory(state="NY")
        book_directly(patient=other, clinician=clinician, start=at(TOMORROW + timedelta(1), hour))
    with django_assert_num_queries(7):
        html = client.get(url).content.decode()
    assert html.count('class="visit visit--booked"') == 5


@pytest.mark.parametrize("view", ["day", "week"])
@pytest.mark.parametrize("asked", ["0001-01-01", "9999-12-31", "1925-12-31", "2127-01-01", "x"])
def test_a_day_beyond_the_calendars_reach_shows_today_instead(
    asked: str,
    view: str,
    clinician: Clinician,
    scheduler: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    # A hundred years either way of today (2026): a hand-made URL outside that is read like an
    # unreadable date, never a step past the first or last day Python can count.
    response = staff_web_for(scheduler).get(
        f"{SCHEDULE}?clinician={clinician.id}&view={view}&date={asked}"
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="day-2026-06-10"' in html  # today in New York
    previous, following = ("06-09", "06-11") if view == "day" else ("06-03", "06-17")
    assert f"view={view}&amp;date=2026-{previous}" in html
    assert f"view={view}&amp;date=2026-{following}" in html


def test_the_calendar_offers_no_step_beyond_its_reach(
    clinician: Clinician, coordinator: User, staff_web_for: Callable[[User], Client]
) -> None:
    client = staff_web_for(coordinator)

    last = client.get(day_url(clinician, day=date(2126, 12, 31))).content.decode()
    assert 'id="day-2126-12-31"' in last
    assert "Previous day" in last and "Next day" not in last
    first = client.get(day_url(clinician, day=date(1926, 1, 1), view="week")).content.decode()
    assert 'id="day-1926-01-01"' in first
    assert "Previous week" not in first and "Next week" in first


@pytest.mark.parametrize("role", ["patient", "admin"])
def test_patients_and_admins_are_refused_every_schedule_page(
    role: str,
    actors: dict[str, User],
    visit: Appointment,
    clinician: Clinician,
    staff_web_for: Callable[[User], Client],
) -> None:
    client = staff_web_for(actors[role])
    for url in [
        SCHEDULE,
        f"{SCHEDULE}book/",
        availability_url(clinician),
        f"{SCHEDULE}visits/{visit.id}/reschedule/",
        f"{SCHEDULE}visits/{visit.id}/cancel/",
        f"/staff/visits/{visit.id}/summary/",
    ]:
        assert client.get(url).status_code == 403, url


def test_a_signed_out_visitor_is_sent_to_the_workspace_sign_in() -> None:
    response = Client().get(SCHEDULE)
    assert response["Location"] == "/staff/sign-in/?next=/staff/schedule/"


# --- weekly hours and time off --------------------------------------------------------------------


def test_checking_time_off_lists_the_colliding_visits_by_name_without_saving(
    visit: Appointment,
    clinician: Clinician,
    scheduler: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    response = staff_web_for(scheduler).post(
        availability_url(clinician),
        {
            "form": "time_off",
            "action": "check",
            "off-start_date": TOMORROW.isoformat(),
            "off-start_time": "09:00",
            "off-end_date": TOMORROW.isoformat(),
            "off-end_time": "12:00",
        },
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Booked visits inside this time off: 1" in html
    assert visit.patient.user.full_name in html
    assert REASON not in html
    assert not TimeOff.objects.exists()


def test_adding_time_off_saves_it_and_lists_the_visits_still_booked_inside(
    visit: Appointment,
    clinician: Clinician,
    scheduler: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    client = staff_web_for(scheduler)

    response = client.post(
        availability_url(clinician),
        {
            "form": "time_off",
            "action": "save",
            "off-start_date": TOMORROW.isoformat(),
            "off-start_time": "09:00",
            "off-end_date": TOMORROW.isoformat(),
            "off-end_time": "12:00",
            "off-note": "Conference",
        },
    )

    off = TimeOff.objects.get()
    assert off.starts_at == at(TOMORROW, 9) and off.ends_at == at(TOMORROW, 12)
    assert response["Location"].endswith(f"?time_off={off.id}#time-off-added")
    html = client.get(response["Location"]).content.decode()
    assert "Time off added." in html
    added = html.split('id="time-off-added"')[1].split("</section>")[0]
    assert visit.patient.user.full_name in added
    assert f"/staff/schedule/visits/{visit.id}/reschedule/" in added
    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.BOOKED  # time off never cancels a visit


def test_the_time_off_form_reports_every_invalid_field_at_once(
    clinician: Clinician, scheduler: User, staff_web_for: Callable[[User], Client]
) -> None:
    client = staff_web_for(scheduler)

    html = client.post(
        availability_url(clinician), {"form": "time_off", "action": "save"}
    ).content.decode()

    summary = html.split('class="error-summary"')[1].split("</div>")[0]
    for label in ["First day", "From", "Last day", "Until"]:
        assert f"{label}: This field is required." in summary
    backwards = client.post(
        availability_url(clinician),
        {
            "form": "time_off",
            "action": "save",
            "off-start_date": TOMORROW.isoformat(),
            "off-start_time": "12:00",
            "off-end_date": TOMORROW.isoformat(),
            "off-end_time": "09:00",
            "off-note": "x" * 201,
        },
    ).content.decode()
    assert "Until: The time off must end after it starts." in backwards
    assert "Note (optional): Ensure this value has at most 200 characters" in backwards
    assert not TimeOff.objects.exists()


def test_the_weekly_hours_form_reports_every_invalid_field_at_once_then_adds_hours(
    clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    client = staff_web_for(clinician.user)

    html = client.post(availability_url(clinician), {"form": "rule"}).content.decode()
    summary = html.split('class="error-summary"')[1].split("</div>")[0]
    for label in ["Day of the week", "From", "Until", "Visit types"]:
        assert f"{label}: This field is required." in summary

    backwards = client.post(
        availability_url(clinician),
        {"form": "rule", "rule-weekday": "0", "rule-start": "12:00", "rule-end": "09:00"}
        | {"rule-visit_types": ["new"]},
    ).content.decode()
    assert "Must be after the start; a window cannot cross midnight." in backwards

    response = client.post(
        availability_url(clinician),
        {"form": "rule", "rule-weekday": "0", "rule-start": "09:00", "rule-end": "12:00"}
        | {"rule-visit_types": ["new", "follow_up"]},
    )
    assert response.status_code == 302
    rule = AvailabilityRule.objects.get(clinician=clinician)
    assert (rule.weekday, rule.start_time, rule.end_time) == (0, time(9), time(12))
    assert "Weekly hours added." in client.get(response["Location"]).content.decode()


def test_hours_and_time_off_are_removed(
    clinician: Clinician, scheduler: User, staff_web_for: Callable[[User], Client]
) -> None:
    give_availability(clinician)
    client = staff_web_for(scheduler)
    rule = AvailabilityRule.objects.filter(clinician=clinician).first()
    assert rule is not None
    off = TimeOff.objects.create(
        clinician=clinician, starts_at=at(TOMORROW, 9), ends_at=at(TOMORROW, 10)
    )
    base = f"{SCHEDULE}clinicians/{clinician.id}"

    assert client.post(f"{base}/hours/{rule.id}/delete/").status_code == 302
    assert client.post(f"{base}/time-off/{off.id}/delete/").status_code == 302

    assert not AvailabilityRule.objects.filter(pk=rule.pk).exists()
    assert not TimeOff.objects.filter(pk=off.pk).exists()


def test_availability_is_the_clinicians_own_or_any_for_a_scheduler(
    clinician: Clinician,
    other_clinician: Clinician,
    coordinator: User,
    scheduler: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    own = staff_web_for(clinician.user)
    assert own.get(availability_url(clinician)).status_code == 200
    assert own.get(availability_url(other_clinician)).status_code == 404
    assert staff_web_for(scheduler).get(availability_url(other_clinician)).status_code == 200
    assert staff_web_for(coordinator).get(availability_url(clinician)).status_code == 403


# --- moving, cancelling and booking on a patient's behalf ----------------------------------------


def test_a_scheduler_moves_a_visit_to_another_open_slot(
    visit: Appointment,
    clinician: Clinician,
    scheduler: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    client = staff_web_for(scheduler)
    url = f"{SCHEDULE}visits/{visit.id}/reschedule/"

    page = client.get(url).content.decode()
    assert f"Move {visit.patient.user.full_name}'s visit" in page
    assert f'value="{slot(clinician, at(TOMORROW, 15))}"' in page

    response = client.post(url, {"slot": slot(clinician, at(TOMORROW, 15))})

    visit.refresh_from_db()
    assert visit.start_at == at(TOMORROW, 15)
    assert response["Location"] == f"{SCHEDULE}?clinician={clinician.id}&date=2026-06-11"
    assert "Visit moved." in client.get(response["Location"]).content.decode()


def test_moving_reports_the_services_refusals_on_the_page(
    visit: Appointment,
    schedules: None,
    other_patient: Patient,
    clinician: Clinician,
    scheduler: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    client = staff_web_for(scheduler)
    url = f"{SCHEDULE}visits/{visit.id}/reschedule/"

    nothing = client.post(url, {}).content.decode()
    assert "Time: Choose a time." in nothing
    too_soon = client.post(url, {"slot": slot(clinician, at(date(2026, 6, 10), 9))})
    assert "can no longer be booked" in too_soon.content.decode()
    taken_by = PatientFactory(state="NY")
    book_directly(patient=taken_by, clinician=clinician, start=at(TOMORROW, 15))
    taken = client.post(url, {"slot": slot(clinician, at(TOMORROW, 15))}).content.decode()
    assert "That time has just been booked" in taken
    visit.refresh_from_db()
    assert visit.start_at == at(TOMORROW, 10)


@pytest.mark.parametrize("moment", BEYOND_TIME)
def test_moving_to_a_time_beyond_the_calendar_is_a_form_error(
    moment: str,
    visit: Appointment,
    clinician: Clinician,
    scheduler: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    response = staff_web_for(scheduler).post(
        f"{SCHEDULE}visits/{visit.id}/reschedule/?date={TOMORROW}",
        {"slot": f"{clinician.id}|{moment}"},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Time: Choose one of the times shown." in html
    assert summary_targets(html) == ["id_slot"]
    visit.refresh_from_db()
    assert visit.start_at == at(TOMORROW, 10)


def test_the_error_summary_has_a_target_on_a_day_without_times(
    visit: Appointment,
    clinician: Clinician,
    scheduler: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    # The day's times went while the page was open (the clinician took the day off) and the
    # form was sent without a choice: no radio button is left to move the focus to.
    day_after = TOMORROW + timedelta(1)
    TimeOff.objects.create(
        clinician=clinician, starts_at=at(day_after, 0), ends_at=at(day_after + timedelta(1), 0)
    )

    html = (
        staff_web_for(scheduler)
        .post(f"{SCHEDULE}visits/{visit.id}/reschedule/?date={day_after}", {})
        .content.decode()
    )

    assert 'type="radio"' not in html
    assert "Time: Choose a time." in html
    assert summary_targets(html) == ["id_slot"]


def test_cancelling_says_when_it_is_late_and_flags_it(
    schedules: None,
    patient: Patient,
    clinician: Clinician,
    coordinator: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    # Booked two days ago for 08:00 tomorrow: 24 hours from now, inside the late-cancel window.
    with time_machine.travel(NOW - timedelta(days=2), tick=False):
        visit = book_directly(patient=patient, clinician=clinician, start=at(TOMORROW, 8))
    client = staff_web_for(coordinator)
    url = f"{SCHEDULE}visits/{visit.id}/cancel/"

    assert "counts as a late cancellation" in client.get(url).content.decode()
    response = client.post(url)

    visit.refresh_from_db()
    assert visit.status == AppointmentStatus.CANCELLED and visit.late_cancel
    assert visit.cancelled_by == coordinator
    assert (
        "Visit cancelled (a late cancellation)."
        in client.get(response["Location"]).content.decode()
    )


def test_another_teams_patients_visit_is_a_404_to_move_or_cancel(
    other_visit: Appointment,
    clinician: Clinician,
    coordinator: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    for user in (clinician.user, coordinator):
        client = staff_web_for(user)
        for action in ("reschedule", "cancel"):
            url = f"{SCHEDULE}visits/{other_visit.id}/{action}/"
            assert client.get(url).status_code == 404
            assert client.post(url, {"slot": ""}).status_code == 404
    other_visit.refresh_from_db()
    assert other_visit.status == AppointmentStatus.BOOKED
    assert AuditEvent.objects.filter(object_id=str(other_visit.id), outcome="denied").exists()


def test_a_scheduler_finds_a_patient_and_books_for_them(
    schedules: None,
    patient: Patient,
    clinician: Clinician,
    other_clinician: Clinician,
    scheduler: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    client = staff_web_for(scheduler)

    search = client.post(f"{SCHEDULE}book/", {"q": patient.user.last_name})
    found = search.content.decode()
    assert search.status_code == 200  # answered in place: no redirect puts the name in a URL
    assert f"?patient={patient.id}" in found
    assert AuditEvent.objects.filter(
        actor_id=scheduler.id,
        object_type="patient",
        action=Action.LIST,
        detail__object_ids__contains=[str(patient.id)],
    ).exists()

    page = client.get(f"{SCHEDULE}book/?patient={patient.id}&date=2026-06-11").content.decode()
    assert f'value="{slot(clinician, at(TOMORROW, 9))}"' in page
    assert str(other_clinician.id) not in page  # licensed in WA only, the patient lives in NY
    assert "Reason for the visit" not in page  # schedulers never handle the clinical reason

    response = client.post(
        f"{SCHEDULE}book/",
        {"patient": str(patient.id), "type": "follow_up", "slot": slot(clinician, at(TOMORROW, 9))},
    )

    booked = Appointment.objects.get(patient=patient)
    assert (booked.start_at, booked.visit_type, booked.booked_by) == (
        at(TOMORROW, 9),
        "follow_up",
        scheduler,
    )
    assert response["Location"] == f"{SCHEDULE}?clinician={clinician.id}&date=2026-06-11"


def test_the_search_form_posts_so_the_name_stays_out_of_the_url(
    scheduler: User, staff_web_for: Callable[[User], Client]
) -> None:
    html = staff_web_for(scheduler).get(f"{SCHEDULE}book/").content.decode()

    form = re.search(r'<form [^>]*role="search"[^>]*>.*?</form>', html, re.DOTALL)
    assert form is not None
    assert 'method="post"' in form.group()
    assert f'action="{SCHEDULE}book/"' in form.group()
    assert 'name="csrfmiddlewaretoken"' in form.group()
    assert '<label for="id_q">Patient\'s name or e-mail</label>' in form.group()


def test_a_search_in_the_url_finds_nobody_and_is_not_echoed(
    patient: Patient, scheduler: User, staff_web_for: Callable[[User], Client]
) -> None:
    response = staff_web_for(scheduler).get(f"{SCHEDULE}book/?q={patient.user.last_name}")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="search"' in html  # the empty search form
    assert "Patients found" not in html
    assert patient.user.last_name not in html
    assert str(patient.id) not in html
    assert not AuditEvent.objects.filter(object_type="patient", action=Action.LIST).exists()


def test_the_search_needs_the_csrf_token(
    patient: Patient, scheduler: User, staff_web_for: Callable[[User], Client]
) -> None:
    client = staff_web_for(scheduler)
    client.handler.enforce_csrf_checks = True

    response = client.post(f"{SCHEDULE}book/", {"q": patient.user.last_name})

    assert response.status_code == 403
    assert str(patient.id) not in response.content.decode()
    assert not AuditEvent.objects.filter(object_type="patient", action=Action.LIST).exists()


def test_booking_reports_every_problem_on_the_page(
    schedules: None,
    patient: Patient,
    other_clinician: Clinician,
    coordinator: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    client = staff_web_for(coordinator)

    empty = client.post(f"{SCHEDULE}book/", {"patient": str(patient.id), "reason": "x" * 2001})
    html = empty.content.decode()
    assert "Time: Choose a time." in html
    assert "Reason for the visit (optional): Ensure this value has at most 2000" in html
    unlicensed = client.post(
        f"{SCHEDULE}book/",
        {"patient": str(patient.id), "slot": slot(other_clinician, at(TOMORROW, 9))},
    )
    assert "not licensed in the patient" in unlicensed.content.decode()
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("asked", ["abc", "1" * 200, "00000000-0000-0000-0000-000000000000"])
def test_a_malformed_or_unknown_patient_id_is_a_404(
    asked: str,
    schedules: None,
    clinician: Clinician,
    scheduler: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    client = staff_web_for(scheduler)

    assert client.get(f"{SCHEDULE}book/?patient={asked}").status_code == 404
    posted = client.post(
        f"{SCHEDULE}book/", {"patient": asked, "slot": slot(clinician, at(TOMORROW, 9))}
    )
    assert posted.status_code == 404
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("moment", BEYOND_TIME)
def test_booking_a_time_beyond_the_calendar_is_a_form_error(
    moment: str,
    schedules: None,
    patient: Patient,
    clinician: Clinician,
    coordinator: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    response = staff_web_for(coordinator).post(
        f"{SCHEDULE}book/?date={TOMORROW}",
        {"patient": str(patient.id), "slot": f"{clinician.id}|{moment}"},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Time: Choose one of the times shown." in html
    assert summary_targets(html) == ["id_slot"]
    assert not Appointment.objects.exists()


def test_the_care_team_cannot_find_or_book_another_teams_patient(
    schedules: None,
    other_patient: Patient,
    clinician: Clinician,
    staff_web_for: Callable[[User], Client],
) -> None:
    client = staff_web_for(clinician.user)

    found = client.post(f"{SCHEDULE}book/", {"q": other_patient.user.last_name}).content.decode()
    assert "Patients found: 0" in found
    assert str(other_patient.id) not in found
    assert client.get(f"{SCHEDULE}book/?patient={other_patient.id}").status_code == 404


# --- the pre-visit summary ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["clinician", "coordinator"])
def test_the_care_team_reads_the_pre_visit_summary(
    role: str,
    visit: Appointment,
    actors: dict[str, User],
    staff_web_for: Callable[[User], Client],
) -> None:
    response = staff_web_for(actors[role]).get(f"/staff/visits/{visit.id}/summary/")

    html = response.content.decode()
    assert response.status_code == 200
    assert f"Pre-visit summary: {visit.patient.user.full_name}" in html
    assert "The gut-skin intake is still missing." in html
    assert REASON in html
    assert f'<a href="/staff/patients/{visit.patient_id}/care-plan/">Open the care plan</a>' in html
    assert AuditEvent.objects.filter(
        object_type="previsit_summary", object_id=str(visit.id), action=Action.READ
    ).exists()


def test_the_summarys_open_red_flags_are_audited_in_one_event_naming_each(
    visit: Appointment,
    patient: Patient,
    other_patient: Patient,
    clinician: Clinician,
    questionnaires: None,
    frozen: time_machine.Traveller,
    staff_web_for: Callable[[User], Client],
) -> None:
    from .test_plan_pages import intake_done

    first = intake_done(patient, **{"rf-rectal-bleeding": True})
    frozen.shift(60)  # the summary shows the oldest first: the clock is frozen
    second = intake_done(patient, **{"rf-rectal-bleeding": True})
    intake_done(other_patient, **{"rf-rectal-bleeding": True})  # not this visit's patient

    html = staff_web_for(clinician.user).get(f"/staff/visits/{visit.id}/summary/").content.decode()

    assert f"/staff/reviews/{first.id}/" in html and f"/staff/reviews/{second.id}/" in html
    # One LIST event for the visit's patient, naming both reviews in the order shown.
    events = AuditEvent.objects.filter(
        actor_id=clinician.user.id, object_type="intake_review", action=Action.LIST
    )
    assert [(event.patient_id, event.object_id, event.detail) for event in events] == [
        (patient.id, "", {"object_ids": [str(first.id), str(second.id)]})
    ]


@pytest.mark.parametrize("role", ["scheduler", "other_clinician"])
def test_the_summary_is_a_404_for_schedulers_and_another_team(
    role: str,
    visit: Appointment,
    actors: dict[str, User],
    staff_web_for: Callable[[User], Client],
) -> None:
    assert staff_web_for(actors[role]).get(f"/staff/visits/{visit.id}/summary/").status_code == 404
    assert AuditEvent.objects.filter(
        object_type="previsit_summary", object_id=str(visit.id), outcome="denied"
    ).exists()


def test_the_old_summary_link_and_the_notification_open_the_page(
    visit: Appointment, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    from carecore.notifications import links

    path = links.previsit_summary_page(visit.id)
    assert resolve(path).view_name == "staff_web:visit_summary"
    moved = staff_web_for(clinician.user).get(f"/visits/{visit.id}/summary/")
    assert moved["Location"] == path
    assert Client().get(f"/visits/{visit.id}/summary/")["Location"].startswith("/staff/sign-in/")
