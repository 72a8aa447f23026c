"""Booking, reading, cancelling and rescheduling appointments, role by role."""

from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest

from carecore.accounts import services as account_services
from carecore.accounts.models import Patient
from carecore.audit.models import AuditEvent
from portal.models import Appointment, AppointmentStatus

from ..factories import ClinicianFactory, PatientFactory
from .conftest import (
    APPOINTMENTS,
    NEW_YORK,
    NOW,
    REASON,
    TOMORROW,
    appointment_url,
    at,
    book,
    book_directly,
    give_availability,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen", "schedules")]

SEES_IT = ["patient", "clinician", "coordinator", "scheduler"]
OUTSIDERS = ["other_patient", "other_clinician", "admin"]


# --- booking ------------------------------------------------------------------------------------


def test_it_books_an_open_slot_for_the_patient(client_for, patient, clinician):
    response = book(client_for(patient.user), clinician, at(TOMORROW, 10))

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "booked"
    assert body["patient"] == str(patient.id)
    assert body["clinician"] == str(clinician.id)
    assert body["start"] == "2026-06-11T10:00:00-04:00"
    assert body["end"] == "2026-06-11T10:30:00-04:00"
    assert body["reason"] == REASON
    assert body["join_url"] is None  # 26 h ahead: the link comes 24 h before the visit
    appointment = Appointment.objects.get(pk=body["id"])
    assert appointment.join_url.startswith("https://video.carecore.invalid/v/")
    assert appointment.booked_by == patient.user
    assert AuditEvent.objects.filter(
        object_type="appointment", object_id=body["id"], action="create", patient_id=patient.id
    ).exists()


def test_a_nul_in_the_reason_is_a_400_naming_it(client_for, patient, clinician):
    # PostgreSQL stores no NUL: DRF's CharField refuses it, a 400 rather than a 500.
    response = book(client_for(patient.user), clinician, at(TOMORROW, 10), reason="Rash\x00")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"reason": ["Null characters are not allowed."]}
    assert not Appointment.objects.exists()


def test_each_appointment_gets_its_own_unguessable_join_link(client_for, patient, clinician):
    client = client_for(patient.user)
    first = book(client, clinician, at(TOMORROW, 10)).json()
    second = book(client, clinician, at(TOMORROW, 11)).json()
    rooms = {
        body["id"]: Appointment.objects.get(pk=body["id"]).join_url for body in (first, second)
    }

    assert rooms[first["id"]] != rooms[second["id"]]
    for appointment_id, room in rooms.items():
        token = room.rsplit("/", 1)[1]
        assert len(token) >= 40
        assert appointment_id not in room
        assert str(patient.id) not in room


def test_it_rejects_booking_a_taken_slot(client_for, appointment, clinician, coordinator):
    second_patient = PatientFactory(state="NY")

    response = book(client_for(second_patient.user), clinician, at(TOMORROW, 10))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "slot_taken"
    assert Appointment.objects.count() == 1


def test_a_follow_up_inside_a_booked_visit_is_taken_too(client_for, appointment, clinician):
    second_patient = PatientFactory(state="NY")

    response = book(
        client_for(second_patient.user), clinician, at(TOMORROW, 10, 15), visit_type="follow_up"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "slot_taken"


def test_it_refuses_a_clinician_not_licensed_in_the_patients_state(
    client_for, patient, other_clinician
):
    response = book(client_for(patient.user), other_clinician, at(TOMORROW, 10))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "clinician_not_licensed"


@pytest.mark.parametrize(
    "start",
    [
        NOW - timedelta(days=1),  # the past
        NOW + timedelta(minutes=90),  # inside the two-hour minimum notice (09:30 New York)
        at(TOMORROW, 10) + timedelta(days=14),  # beyond the 14-day window
    ],
    ids=["past", "inside-minimum-notice", "beyond-window"],
)
def test_it_refuses_times_outside_the_booking_window(client_for, patient, clinician, start):
    response = book(client_for(patient.user), clinician, start)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "booking_window_closed"


def test_the_first_bookable_slot_is_exactly_the_minimum_notice_away(client_for, patient, clinician):
    response = book(client_for(patient.user), clinician, NOW + timedelta(hours=2))

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("hour", "minute"), [(10, 10), (7, 30), (20, 0)], ids=["off-grid", "before-hours", "after"]
)
def test_it_refuses_a_time_that_is_not_one_of_the_clinicians_slots(
    client_for, patient, clinician, hour, minute
):
    response = book(client_for(patient.user), clinician, at(TOMORROW, hour, minute))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "slot_unavailable"


def test_it_refuses_a_slot_inside_time_off(client_for, patient, clinician):
    from portal import services

    services.time_off_create(
        actor=None,
        clinician=clinician,
        starts_at=at(TOMORROW, 9),
        ends_at=at(TOMORROW, 12),
        note="conference",
    )

    response = book(client_for(patient.user), clinician, at(TOMORROW, 10))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "slot_unavailable"


def test_it_refuses_a_visit_type_the_clinician_does_not_offer(client_for, patient, clinician):
    clinician.visit_types = ["follow_up"]
    clinician.save(update_fields=["visit_types"])

    response = book(client_for(patient.user), clinician, at(TOMORROW, 10))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "slot_unavailable"


def test_it_refuses_a_time_without_an_offset(client_for, patient, clinician):
    response = client_for(patient.user).post(
        APPOINTMENTS,
        {"clinician": str(clinician.id), "start": "2026-06-11T10:00:00", "visit_type": "new"},
        format="json",
    )

    assert response.status_code == 400
    assert "start" in response.json()["error"]["fields"]


def test_it_caps_upcoming_appointments_per_patient(client_for, patient, clinician):
    client = client_for(patient.user)
    assert book(client, clinician, at(TOMORROW, 10)).status_code == 201
    assert book(client, clinician, at(TOMORROW, 11)).status_code == 201

    response = book(client, clinician, at(TOMORROW, 12))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "too_many_upcoming"


def test_a_cancelled_visit_does_not_count_towards_the_cap(client_for, patient, clinician):
    client = client_for(patient.user)
    first = book(client, clinician, at(TOMORROW, 10)).json()
    book(client, clinician, at(TOMORROW, 11))
    client.post(appointment_url(first["id"], "cancel"))

    assert book(client, clinician, at(TOMORROW, 12)).status_code == 201


def test_a_coordinator_books_for_a_patient_on_their_care_team(
    client_for, coordinator, patient, clinician
):
    response = book(client_for(coordinator), clinician, at(TOMORROW, 10), patient=patient.id)

    assert response.status_code == 201
    assert response.json()["patient"] == str(patient.id)
    assert Appointment.objects.get().booked_by == coordinator


def test_a_scheduler_books_for_any_patient(client_for, scheduler, other_patient):
    wa_clinician = ClinicianFactory(licensed_states=["WA"])
    give_availability(wa_clinician)

    response = book(client_for(scheduler), wa_clinician, at(TOMORROW, 10), patient=other_patient.id)

    assert response.status_code == 201
    assert response.json()["reason"] is None


@pytest.mark.parametrize("role", ["patient", "coordinator", "clinician", "admin"])
def test_booking_for_someone_elses_patient_is_not_found(
    client_for, actors, role, other_patient, other_clinician
):
    response = book(
        client_for(actors[role]), other_clinician, at(TOMORROW, 10), patient=other_patient.id
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert not Appointment.objects.exists()


def test_staff_must_say_which_patient_they_book_for(client_for, coordinator, clinician):
    response = book(client_for(coordinator), clinician, at(TOMORROW, 10))

    assert response.status_code == 400
    assert "patient" in response.json()["error"]["fields"]


@pytest.mark.parametrize("holder", ["admin", "other_clinician"])
def test_break_glass_does_not_let_its_holder_book(
    client_for, actors, other_clinician, patient, holder
):
    """A grant is read-only: booking is a write, and a clinician booking themselves with the
    patient would turn a grant into lasting visit-based access."""
    account_services.break_glass_open(
        user=actors[holder], patient_id=patient.id, reason="Patient phoned the front desk in tears"
    )
    give_availability(other_clinician)
    client = client_for(actors[holder])

    assert client.get(f"/api/v1/patients/{patient.id}/").status_code == 200
    response = book(client, other_clinician, at(TOMORROW, 10), patient=patient.id)

    assert response.status_code == 404
    assert not Appointment.objects.filter(patient=patient).exists()


def test_anonymous_callers_are_not_authenticated(anon, clinician):
    response = book(anon, clinician, at(TOMORROW, 10))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


# --- reading ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", SEES_IT)
def test_participants_and_staff_read_the_appointment(client_for, actors, appointment, role):
    response = client_for(actors[role]).get(appointment_url(appointment))

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(appointment.id)
    assert body["status"] == "booked"
    assert body["join_url"] is None  # 26 h ahead: nobody's link yet (see the window tests)
    assert body["reason"] == (None if role == "scheduler" else REASON)


@pytest.mark.parametrize("role", OUTSIDERS)
def test_someone_elses_appointment_is_not_found(client_for, actors, appointment, role):
    response = client_for(actors[role]).get(appointment_url(appointment))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert AuditEvent.objects.filter(
        object_type="appointment", object_id=str(appointment.id), outcome="denied"
    ).exists()


def test_a_missing_appointment_looks_the_same_as_a_forbidden_one(
    client_for, patient, other_patient, appointment
):
    forbidden = client_for(other_patient.user).get(appointment_url(appointment))
    missing = client_for(other_patient.user).get(appointment_url(str(Patient().id)))

    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.json() == missing.json()


def test_reading_an_appointment_is_audited(client_for, patient, appointment):
    client_for(patient.user).get(appointment_url(appointment))

    assert AuditEvent.objects.filter(
        object_type="appointment",
        object_id=str(appointment.id),
        patient_id=patient.id,
        action="read",
        outcome="success",
    ).exists()


def test_times_are_shown_in_the_viewers_own_zone(client_for, scheduler, appointment):
    scheduler.timezone = "America/Los_Angeles"
    scheduler.save(update_fields=["timezone"])

    body = client_for(scheduler).get(appointment_url(appointment)).json()

    assert body["start"] == "2026-06-11T07:00:00-07:00"


def test_a_clinician_sees_their_own_schedule_even_off_the_patients_care_team(
    client_for, other_patient, clinician
):
    wa_clinician = ClinicianFactory(licensed_states=["WA"])
    give_availability(wa_clinician)
    visit = book_directly(patient=other_patient, clinician=wa_clinician, start=at(TOMORROW, 10))

    assert client_for(wa_clinician.user).get(appointment_url(visit)).status_code == 200
    assert client_for(clinician.user).get(appointment_url(visit)).status_code == 404


def test_anonymous_callers_cannot_read_appointments(anon, appointment):
    assert anon.get(appointment_url(appointment)).status_code == 401


# --- the list --------------------------------------------------------------------------------


def _ids(response) -> set[str]:
    return {item["id"] for item in response.json()["results"]}


@pytest.fixture
def two_teams_booked(appointment, other_patient):
    wa_clinician = ClinicianFactory(licensed_states=["WA"])
    give_availability(wa_clinician)
    other = book_directly(patient=other_patient, clinician=wa_clinician, start=at(TOMORROW, 10))
    return appointment, other


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        ("patient", {"mine"}),
        ("clinician", {"mine"}),
        ("coordinator", {"mine"}),
        ("scheduler", {"mine", "other"}),
        ("other_patient", {"other"}),
        ("other_clinician", {"other"}),  # the other patient's care-team lead
        ("admin", set()),
    ],
)
def test_the_list_shows_each_role_only_what_it_may_see(
    client_for, actors, two_teams_booked, role, sees
):
    mine, other = two_teams_booked
    names = {str(mine.id): "mine", str(other.id): "other"}

    response = client_for(actors[role]).get(APPOINTMENTS)

    assert response.status_code == 200
    assert {names[item_id] for item_id in _ids(response)} == sees


def test_the_list_hides_the_reason_from_schedulers(client_for, scheduler, appointment):
    results = client_for(scheduler).get(APPOINTMENTS).json()["results"]

    assert [item["reason"] for item in results] == [None]


def test_the_list_filters_by_patient_status_and_time(client_for, scheduler, two_teams_booked):
    mine, other = two_teams_booked
    client = client_for(scheduler)

    assert _ids(client.get(APPOINTMENTS, {"patient": str(mine.patient_id)})) == {str(mine.id)}
    assert _ids(client.get(APPOINTMENTS, {"clinician": str(other.clinician_id)})) == {str(other.id)}
    assert _ids(client.get(APPOINTMENTS, {"status": "cancelled"})) == set()
    assert len(_ids(client.get(APPOINTMENTS, {"upcoming": "true"}))) == 2
    assert _ids(client.get(APPOINTMENTS, {"upcoming": "false"})) == set()


@pytest.mark.parametrize("value", ["", "null", "soon"])
def test_an_empty_or_unknown_upcoming_is_a_400(client_for, scheduler, appointment, value):
    # `?upcoming=` was read as "no filter" (DRF's BooleanField with allow_null): every visit.
    response = client_for(scheduler).get(APPOINTMENTS, {"upcoming": value})

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"upcoming": ["Use true or false."]}


def test_listing_writes_one_audit_event_naming_every_appointment_and_patient_shown(
    client_for, scheduler, two_teams_booked
):
    shown = client_for(scheduler).get(APPOINTMENTS).json()["results"]

    (event,) = AuditEvent.objects.filter(object_type="appointment", action="list")
    assert event.detail["object_ids"] == [appointment["id"] for appointment in shown]
    mine, other = two_teams_booked
    by_appointment = dict(zip(event.detail["object_ids"], event.patient_ids, strict=True))
    assert by_appointment == {str(mine.id): mine.patient_id, str(other.id): other.patient_id}


def test_the_list_is_soonest_first_and_paginated(client_for, scheduler, patient, clinician):
    extra = PatientFactory.create_batch(3, state="NY")
    for hour, someone in zip((13, 11, 15), extra, strict=True):
        book_directly(patient=someone, clinician=clinician, start=at(TOMORROW, hour))
    client = client_for(scheduler)

    first = client.get(APPOINTMENTS, {"page_size": 2}).json()
    second = client.get(first["next"]).json()

    starts = [item["start"] for item in first["results"] + second["results"]]
    assert starts == sorted(starts)
    assert len(starts) == 3
    assert second["next"] is None


def test_the_list_costs_the_same_queries_for_many_rows(
    client_for, scheduler, clinician, django_assert_num_queries
):
    book_directly(patient=PatientFactory(state="NY"), clinician=clinician, start=at(TOMORROW, 9))
    client = client_for(scheduler)
    # the token with its user, the page (with patient, users, clinician),
    # one audit INSERT for the page
    with django_assert_num_queries(3):
        first = client.get(APPOINTMENTS)
    for hour in range(10, 16):
        book_directly(
            patient=PatientFactory(state="NY"), clinician=clinician, start=at(TOMORROW, hour)
        )
    with django_assert_num_queries(3):
        second = client.get(APPOINTMENTS)

    assert len(first.json()["results"]) == 1
    assert len(second.json()["results"]) == 7


# --- cancel ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", SEES_IT)
def test_the_patient_and_staff_cancel(client_for, actors, appointment, role):
    response = client_for(actors[role]).post(appointment_url(appointment, "cancel"))

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["late_cancel"] is False
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancelled_by == actors[role]


@pytest.mark.parametrize("role", OUTSIDERS)
def test_someone_elses_appointment_cannot_be_cancelled(client_for, actors, appointment, role):
    response = client_for(actors[role]).post(appointment_url(appointment, "cancel"))

    assert response.status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_a_cancellation_inside_the_policy_window_is_flagged_late(
    client_for, patient, appointment, frozen
):
    # Booked 26 hours ahead; four hours later it is 22 hours away, inside the 24-hour window.
    frozen.move_to(NOW + timedelta(hours=4))

    body = client_for(patient.user).post(appointment_url(appointment, "cancel")).json()

    assert body["late_cancel"] is True
    assert body["status"] == "cancelled"


def test_an_early_cancellation_is_not_late(client_for, patient, clinician):
    visit = book_directly(
        patient=patient, clinician=clinician, start=at(TOMORROW, 10) + timedelta(days=2)
    )

    body = client_for(patient.user).post(appointment_url(visit, "cancel")).json()

    assert body["late_cancel"] is False


def test_a_cancelled_slot_can_be_booked_again(client_for, patient, appointment, clinician):
    client_for(patient.user).post(appointment_url(appointment, "cancel"))
    someone = PatientFactory(state="NY")

    assert book(client_for(someone.user), clinician, at(TOMORROW, 10)).status_code == 201


def test_cancelling_twice_is_a_conflict(client_for, patient, appointment):
    client = client_for(patient.user)
    client.post(appointment_url(appointment, "cancel"))

    response = client.post(appointment_url(appointment, "cancel"))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "appointment_not_active"


def test_a_visit_that_has_started_cannot_be_cancelled(client_for, patient, appointment, frozen):
    frozen.move_to(appointment.start_at + timedelta(minutes=5))

    response = client_for(patient.user).post(appointment_url(appointment, "cancel"))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "appointment_started"


def test_anonymous_callers_cannot_cancel(anon, appointment):
    assert anon.post(appointment_url(appointment, "cancel")).status_code == 401


# --- reschedule ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", SEES_IT)
def test_the_patient_and_staff_reschedule(client_for, actors, appointment, role):
    join_url = appointment.join_url

    response = client_for(actors[role]).post(
        appointment_url(appointment, "reschedule"),
        {"start": at(TOMORROW, 15).isoformat()},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(appointment.id)
    appointment.refresh_from_db()
    assert appointment.join_url == join_url  # the same room
    assert appointment.start_at == at(TOMORROW, 15)
    assert appointment.end_at == at(TOMORROW, 15, 30)
    assert (appointment.during.lower, appointment.during.upper) == (
        appointment.start_at,
        appointment.end_at,
    )
    assert appointment.status == AppointmentStatus.BOOKED


def test_reschedule_answers_with_the_new_start(client_for, patient, appointment):
    response = client_for(patient.user).post(
        appointment_url(appointment, "reschedule"),
        {"start": "2026-06-11T19:00:00Z"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["start"] == "2026-06-11T15:00:00-04:00"


@pytest.mark.parametrize("role", OUTSIDERS)
def test_someone_elses_appointment_cannot_be_rescheduled(client_for, actors, appointment, role):
    response = client_for(actors[role]).post(
        appointment_url(appointment, "reschedule"),
        {"start": at(TOMORROW, 15).isoformat()},
        format="json",
    )

    assert response.status_code == 404
    appointment.refresh_from_db()
    assert appointment.start_at == at(TOMORROW, 10)


def test_rescheduling_onto_a_taken_slot_changes_nothing(
    client_for, patient, appointment, clinician
):
    rival = book_directly(
        patient=PatientFactory(state="NY"), clinician=clinician, start=at(TOMORROW, 15)
    )

    response = client_for(patient.user).post(
        appointment_url(appointment, "reschedule"),
        {"start": at(TOMORROW, 15).isoformat()},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "slot_taken"
    appointment.refresh_from_db()
    assert (appointment.start_at, appointment.status, appointment.sequence) == (
        at(TOMORROW, 10),
        AppointmentStatus.BOOKED,
        0,
    )
    rival.refresh_from_db()
    assert rival.status == AppointmentStatus.BOOKED


def test_rescheduling_frees_the_old_time(client_for, patient, appointment, clinician):
    client_for(patient.user).post(
        appointment_url(appointment, "reschedule"),
        {"start": at(TOMORROW, 15).isoformat()},
        format="json",
    )
    someone = PatientFactory(state="NY")

    assert book(client_for(someone.user), clinician, at(TOMORROW, 10)).status_code == 201


def test_rescheduling_onto_a_non_slot_changes_nothing(client_for, patient, appointment):
    response = client_for(patient.user).post(
        appointment_url(appointment, "reschedule"),
        {"start": at(TOMORROW, 22).isoformat()},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "slot_unavailable"
    appointment.refresh_from_db()
    assert appointment.start_at == at(TOMORROW, 10)


def test_rescheduling_inside_the_minimum_notice_is_refused(client_for, patient, appointment):
    response = client_for(patient.user).post(
        appointment_url(appointment, "reschedule"),
        {"start": (NOW + timedelta(hours=1)).isoformat()},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "booking_window_closed"


def test_a_cancelled_appointment_cannot_be_rescheduled(client_for, patient, appointment):
    client = client_for(patient.user)
    client.post(appointment_url(appointment, "cancel"))

    response = client.post(
        appointment_url(appointment, "reschedule"),
        {"start": at(TOMORROW, 15).isoformat()},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "appointment_not_active"


def test_anonymous_callers_cannot_reschedule(anon, appointment):
    response = anon.post(
        appointment_url(appointment, "reschedule"),
        {"start": at(TOMORROW, 15).isoformat()},
        format="json",
    )

    assert response.status_code == 401


# --- ics --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", SEES_IT)
def test_participants_and_staff_download_a_calendar_file(client_for, actors, appointment, role):
    response = client_for(actors[role]).get(appointment_url(appointment, "ics"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    event = calendar.walk("VEVENT")[0]
    assert event.decoded("dtstart") == at(TOMORROW, 10)
    assert event.decoded("dtend") == at(TOMORROW, 10, 30)
    assert str(event["uid"]) == f"{appointment.id}@carecore"
    # The link only in the participants' own calendars.
    in_visit = role in ("patient", "clinician")
    assert (appointment.join_url in str(event["description"])) is in_visit
    assert (str(event.get("url", "")) == appointment.join_url) is in_visit
    assert appointment.clinician.user.last_name in str(event["summary"])


def test_the_calendar_file_carries_no_reason_and_no_patient_name(client_for, patient, appointment):
    content = client_for(patient.user).get(appointment_url(appointment, "ics")).content.decode()

    assert "elbows" not in content
    assert patient.user.last_name not in content
    assert patient.user.email not in content


def test_a_cancelled_visit_exports_as_cancelled(client_for, patient, appointment):
    client = client_for(patient.user)
    client.post(appointment_url(appointment, "cancel"))

    response = client.get(appointment_url(appointment, "ics"))

    event = icalendar.Calendar.from_ical(response.content).walk("VEVENT")[0]
    assert str(event["status"]) == "CANCELLED"
    assert int(str(event["sequence"])) == 1


def test_the_calendar_file_works_with_an_accept_header(client_for, patient, appointment):
    response = client_for(patient.user).get(
        appointment_url(appointment, "ics"), HTTP_ACCEPT="text/calendar"
    )

    assert response.status_code == 200


def test_the_calendar_file_is_asked_for_by_format_name(client_for, patient, appointment):
    response = client_for(patient.user).get(appointment_url(appointment, "ics") + "?format=ics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")


@pytest.mark.parametrize("named", ["", "xml"])
def test_a_format_named_that_it_does_not_offer_is_not_found(
    client_for, patient, appointment, named
):
    # An empty `?format=` was ignored (a calendar for a client that named no format it offers).
    response = client_for(patient.user).get(
        appointment_url(appointment, "ics") + f"?format={named}"
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("role", OUTSIDERS)
def test_someone_elses_calendar_file_is_not_found(client_for, actors, appointment, role):
    response = client_for(actors[role]).get(appointment_url(appointment, "ics"))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_downloading_the_calendar_file_is_audited_as_an_export(client_for, patient, appointment):
    client_for(patient.user).get(appointment_url(appointment, "ics"))

    assert AuditEvent.objects.filter(
        object_type="appointment", object_id=str(appointment.id), action="export"
    ).exists()


def test_anonymous_callers_cannot_download_calendar_files(anon, appointment):
    assert anon.get(appointment_url(appointment, "ics")).status_code == 401


def test_times_in_the_calendar_file_are_absolute(client_for, patient, appointment):
    event = icalendar.Calendar.from_ical(
        client_for(patient.user).get(appointment_url(appointment, "ics")).content
    ).walk("VEVENT")[0]

    assert event.decoded("dtstart").astimezone(NEW_YORK) == at(TOMORROW, 10)


def test_an_admin_reads_an_appointment_only_through_break_glass(
    client_for, admin_user, appointment
):
    client = client_for(admin_user)
    assert client.get(appointment_url(appointment)).status_code == 404

    account_services.break_glass_open(
        user=admin_user,
        patient_id=appointment.patient_id,
        reason="Investigating a complaint about this visit",
    )

    assert client.get(appointment_url(appointment)).status_code == 200
