"""Booking on the patient's pages: the earliest slot first, a day's slots in the patient's zone,
book, see, reschedule, cancel, the calendar file; another patient's visit is a 404."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client

from carecore.accounts.models import Clinician, Patient, User
from carecore.audit.models import Action, AuditEvent, Outcome
from portal.models import Appointment, AppointmentStatus, TimeOff
from tests.portal.conftest import (
    LOS_ANGELES,
    TOMORROW,
    at,
    book_directly,
)

# Every test runs at portal's NOW (`frozen`); `schedules` is portal's fixture too (conftest).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

TODAY = date(2026, 6, 10)


# Offsets that carry the time past the first or last moment Python can count once in UTC.
BEYOND_TIME = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]


def slot(clinician: Clinician, start: datetime) -> str:
    """A slot's radio value: the clinician and the start in UTC."""
    return f"{clinician.id}|{start.astimezone(UTC).isoformat()}"


def summary_targets(html: str) -> list[str]:
    """The ids the error summary's links point at; each must be an element on the page, or the
    link moves the focus nowhere."""
    summary = html.split('class="error-summary"')[1].split("</div>")[0]
    targets = re.findall(r'href="#([^"]+)"', summary)
    assert targets and all(f'id="{target}"' in html for target in targets), targets
    return targets


def test_it_offers_the_earliest_slot_first_in_the_patients_zone(
    schedules: None, patient: Patient, clinician: Clinician, web_for: Callable[[User], Client]
) -> None:
    html = web_for(patient.user).get("/book/").content.decode()

    # 08:00 in New York now, two hours' notice: 10:00 today with the patient's own clinician.
    earliest = html.split('id="earliest-title"')[1].split("</section>")[0]
    assert "Wednesday 10 June, 10:00 AM EDT" in earliest
    assert clinician.user.full_name in earliest
    assert f'value="{slot(clinician, at(TODAY, 10))}"' in earliest


def test_it_books_the_earliest_slot_and_shows_the_visit(
    schedules: None, patient: Patient, clinician: Clinician, web_for: Callable[[User], Client]
) -> None:
    client = web_for(patient.user)

    response = client.post("/book/", {"type": "new", "slot": slot(clinician, at(TODAY, 10))})

    appointment = Appointment.objects.get(patient=patient)
    assert response["Location"] == f"/visits/{appointment.id}/"
    assert appointment.start_at == at(TODAY, 10)
    page = client.get(response["Location"]).content.decode()
    assert "Wednesday 10 June 2026, 10:00 AM EDT" in page
    assert "Add to calendar" in page
    assert "Join visit" not in page


def test_it_shows_a_days_slots_in_the_patients_own_zone(
    schedules: None,
    other_patient: Patient,
    other_clinician: Clinician,
    web_for: Callable[[User], Client],
) -> None:
    # The WA patient lives in Los Angeles; the clinician works 08:00-20:00 New York time.
    html = web_for(other_patient.user).get(f"/book/?date={TOMORROW}").content.decode()

    assert "Times on Thursday 11 June (PDT)" in html
    assert f'value="{slot(other_clinician, at(TOMORROW, 8))}"' in html
    assert "5:00 AM" in html  # 08:00 in New York


def test_it_keeps_the_errors_of_the_service_on_the_page(
    schedules: None, patient: Patient, clinician: Clinician, web_for: Callable[[User], Client]
) -> None:
    client = web_for(patient.user)
    client.post("/book/", {"type": "new", "slot": slot(clinician, at(TOMORROW, 10))})

    response = web_for(patient.user).post("/book/", {"type": "new", "slot": "nonsense"})
    assert "Choose one of the times shown." in response.content.decode()
    response = client.post("/book/", {"type": "new", "slot": slot(clinician, at(TODAY, 3))})
    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()


def test_the_error_summary_links_to_the_first_time_offered(
    schedules: None, patient: Patient, clinician: Clinician, web_for: Callable[[User], Client]
) -> None:
    html = web_for(patient.user).post("/book/", {"type": "new"}).content.decode()

    assert "Time: Choose a time." in html
    assert summary_targets(html) == ["id_slot"]
    first = re.search(r'<input type="radio" name="slot" [^>]*>', html)
    assert first is not None and 'id="id_slot"' in first.group()
    assert '<label for="id_slot">' in html


@pytest.mark.parametrize("moment", BEYOND_TIME)
def test_it_answers_a_time_beyond_the_calendar_with_a_form_error(
    moment: str,
    schedules: None,
    patient: Patient,
    clinician: Clinician,
    web_for: Callable[[User], Client],
) -> None:
    response = web_for(patient.user).post(
        "/book/", {"type": "new", "slot": f"{clinician.id}|{moment}"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Time: Choose one of the times shown." in html
    assert summary_targets(html) == ["id_slot"]
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("moment", BEYOND_TIME)
def test_it_answers_a_move_to_a_time_beyond_the_calendar_with_a_form_error(
    moment: str,
    schedules: None,
    patient: Patient,
    clinician: Clinician,
    web_for: Callable[[User], Client],
) -> None:
    appointment = book_directly(patient=patient, clinician=clinician, start=at(TOMORROW, 10))

    response = web_for(patient.user).post(
        f"/visits/{appointment.id}/reschedule/?date={TOMORROW}",
        {"slot": f"{clinician.id}|{moment}"},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Time: Choose one of the times shown." in html
    assert summary_targets(html) == ["id_slot"]
    appointment.refresh_from_db()
    assert appointment.start_at == at(TOMORROW, 10)


def test_the_error_summary_has_a_target_on_a_day_without_times(
    schedules: None, patient: Patient, clinician: Clinician, web_for: Callable[[User], Client]
) -> None:
    # The day's times went while the patient looked (here: the clinician took the day off) and
    # the form was sent without a choice: no radio button is left to move the focus to.
    appointment = book_directly(patient=patient, clinician=clinician, start=at(TODAY, 14))
    TimeOff.objects.create(
        clinician=clinician, starts_at=at(TOMORROW, 0), ends_at=at(TOMORROW + timedelta(1), 0)
    )

    html = (
        web_for(patient.user)
        .post(f"/visits/{appointment.id}/reschedule/?date={TOMORROW}", {"slot": ""})
        .content.decode()
    )

    assert 'type="radio"' not in html
    assert "Time: Choose a time." in html
    assert summary_targets(html) == ["id_slot"]


def test_it_reschedules_and_cancels_a_visit(
    schedules: None, patient: Patient, clinician: Clinician, web_for: Callable[[User], Client]
) -> None:
    appointment = book_directly(patient=patient, clinician=clinician, start=at(TOMORROW, 10))
    client = web_for(patient.user)

    page = client.get(f"/visits/{appointment.id}/reschedule/?date={TOMORROW}").content.decode()
    assert f'value="{slot(clinician, at(TOMORROW, 15))}"' in page
    response = client.post(
        f"/visits/{appointment.id}/reschedule/", {"slot": slot(clinician, at(TOMORROW, 15))}
    )
    assert response["Location"] == f"/visits/{appointment.id}/"
    appointment.refresh_from_db()
    assert appointment.start_at == at(TOMORROW, 15)

    assert "Cancel your visit?" in client.get(f"/visits/{appointment.id}/cancel/").content.decode()
    client.post(f"/visits/{appointment.id}/cancel/")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert "Cancelled" in client.get(f"/visits/{appointment.id}/").content.decode()


def test_it_hands_out_the_visit_as_a_calendar_file_audited_as_an_export(
    schedules: None, patient: Patient, clinician: Clinician, web_for: Callable[[User], Client]
) -> None:
    appointment = book_directly(patient=patient, clinician=clinician, start=at(TOMORROW, 10))

    response = web_for(patient.user).get(f"/visits/{appointment.id}/calendar.ics")

    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    body = response.content.decode()
    assert "BEGIN:VEVENT" in body
    assert f"UID:{appointment.id}@carecore" in body
    assert AuditEvent.objects.filter(
        actor_id=patient.user.id, object_id=str(appointment.id), action=Action.EXPORT
    ).exists()


@pytest.mark.parametrize("path", ["", "calendar.ics", "cancel/", "reschedule/"])
def test_it_answers_404_for_another_patients_visit(
    path: str,
    schedules: None,
    patient: Patient,
    other_patient: Patient,
    other_clinician: Clinician,
    web_for: Callable[[User], Client],
) -> None:
    theirs = book_directly(patient=other_patient, clinician=other_clinician, start=at(TOMORROW, 10))
    client = web_for(patient.user)

    assert client.get(f"/visits/{theirs.id}/{path}").status_code == 404
    if path in ("cancel/", "reschedule/"):
        assert client.post(f"/visits/{theirs.id}/{path}", {"slot": "x"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == AppointmentStatus.BOOKED
    assert AuditEvent.objects.filter(
        actor_id=patient.user.id, object_id=str(theirs.id), outcome=Outcome.DENIED
    ).exists()


def test_it_refuses_the_booking_pages_to_a_scheduler(
    schedules: None, scheduler: User, web_for: Callable[[User], Client]
) -> None:
    assert web_for(scheduler).get("/book/").status_code == 403


def test_los_angeles_is_the_zone_of_the_other_patient(other_patient: Patient) -> None:
    assert other_patient.user.zone == LOS_ANGELES
