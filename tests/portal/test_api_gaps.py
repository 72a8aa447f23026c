"""Portal gaps from issue 13: late cancellation only within the window, appointment lists by
date range and clinician, visit types as an enum that names its values, every invalid
availability field in one answer, the reason for the clinician (its existence for schedulers),
and the patient's name in the pre-visit summary."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import PatientFactory

from .conftest import (
    APPOINTMENTS,
    NOW,
    REASON,
    SLOTS,
    TOMORROW,
    appointment_url,
    at,
    availability_url,
    book,
    book_directly,
)

pytestmark = pytest.mark.django_db


# --- late cancellation ------------------------------------------------------------------------


def test_cancelling_a_next_day_visit_right_after_booking_it_is_not_late(
    client_for, frozen, schedules, patient, clinician
):
    # At 10:00 New York, tomorrow 08:00 is 22 hours away: inside the 24-hour window already.
    frozen.move_to(NOW + timedelta(hours=2))
    booked = book(client_for(patient.user), clinician, at(TOMORROW, 8)).json()
    frozen.move_to(NOW + timedelta(hours=2, seconds=1))

    body = client_for(patient.user).post(appointment_url(booked["id"], "cancel")).json()

    assert body["status"] == "cancelled"
    assert body["late_cancel"] is False


def test_a_visit_moved_into_the_window_is_not_late_to_cancel(
    client_for, frozen, schedules, patient, clinician
):
    visit = book_directly(
        patient=patient, clinician=clinician, start=at(TOMORROW, 10) + timedelta(days=3)
    )
    frozen.move_to(NOW + timedelta(hours=2))
    client = client_for(patient.user)
    moved = client.post(
        appointment_url(visit, "reschedule"), {"start": at(TOMORROW, 8).isoformat()}, format="json"
    )
    assert moved.status_code == 200, moved.json()

    body = client.post(appointment_url(visit, "cancel")).json()

    assert body["late_cancel"] is False


def test_a_visit_booked_before_the_window_is_late_once_inside_it(
    client_for, frozen, schedules, patient, clinician
):
    visit = book_directly(
        patient=patient, clinician=clinician, start=at(TOMORROW, 10) + timedelta(days=1)
    )
    frozen.move_to(NOW + timedelta(days=1, hours=2))

    body = client_for(patient.user).post(appointment_url(visit, "cancel")).json()

    assert body["late_cancel"] is True


# --- list filters -----------------------------------------------------------------------------


@pytest.fixture
def week_of_visits(frozen, schedules, patient, clinician, other_clinician):
    """NY patients tomorrow, the day after and in four days; a WA patient with clinician2."""
    visits = [
        book_directly(
            patient=PatientFactory(state="NY"),
            clinician=clinician,
            start=at(TOMORROW + timedelta(days=d), 9),
        )
        for d in (0, 1, 4)
    ]
    other = PatientFactory(state="WA", user__timezone="America/Los_Angeles")
    visits.append(book_directly(patient=other, clinician=other_clinician, start=at(TOMORROW, 12)))
    return visits


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


def test_the_list_filters_by_a_date_range_in_the_callers_zone(
    client_for, scheduler, week_of_visits
):
    client = client_for(scheduler)
    first, second, fourth, _ = week_of_visits

    response = client.get(
        APPOINTMENTS,
        {"date_from": TOMORROW.isoformat(), "date_to": (TOMORROW + timedelta(days=1)).isoformat()},
    )

    assert str(fourth.id) not in _ids(response)
    assert {str(first.id), str(second.id)} <= set(_ids(response))
    only_later = client.get(APPOINTMENTS, {"date_from": (TOMORROW + timedelta(days=2)).isoformat()})
    assert _ids(only_later) == [str(fourth.id)]


def test_the_list_filters_by_clinician(client_for, scheduler, week_of_visits, other_clinician):
    response = client_for(scheduler).get(APPOINTMENTS, {"clinician": str(other_clinician.id)})

    assert _ids(response) == [str(week_of_visits[3].id)]


def test_a_backwards_date_range_and_a_bad_date_are_named_together(client_for, scheduler):
    response = client_for(scheduler).get(
        APPOINTMENTS, {"date_from": "2026-06-12", "date_to": "2026-06-11", "status": "gone"}
    )

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"date_to", "status"}


def test_a_patient_filtering_by_date_sees_only_their_own(client_for, other_patient, week_of_visits):
    response = client_for(other_patient.user).get(APPOINTMENTS, {"date_from": TOMORROW.isoformat()})

    assert _ids(response) == []


def test_a_filtered_list_costs_the_same_queries(
    client_for, scheduler, week_of_visits, django_assert_num_queries
):
    client = client_for(scheduler)
    # the token with its user, the page (patient, users, clinician joined), the audit INSERT
    with django_assert_num_queries(3):
        client.get(APPOINTMENTS, {"date_from": TOMORROW.isoformat()})


# --- visit types and availability input -------------------------------------------------------


def test_an_unknown_visit_type_lists_the_valid_ones(client_for, patient):
    response = client_for(patient.user).get(
        SLOTS, {"date": TOMORROW.isoformat(), "visit_type": "foo"}
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["visit_type"] == [
        '"foo" is not valid. Use one of: follow_up, new.'
    ]


def test_every_invalid_availability_field_comes_back_at_once(client_for, clinician):
    response = client_for(clinician.user).post(
        availability_url(clinician),
        {"kind": "rule", "weekday": 9, "start": "17:00", "end": "09:00", "visit_types": ["spa"]},
        format="json",
    )

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"weekday", "end", "visit_types"}
    assert "0, 1, 2, 3, 4, 5, 6" in fields["weekday"][0]


def test_an_empty_status_filter_is_refused_rather_than_ignored(client_for, scheduler):
    assert client_for(scheduler).get(f"{APPOINTMENTS}?status=").status_code == 400


def test_a_page_size_that_is_not_a_positive_number_is_refused(client_for, scheduler):
    client = client_for(scheduler)

    assert client.get(APPOINTMENTS, {"page_size": "0"}).status_code == 400
    assert client.get(APPOINTMENTS, {"page_size": "ten"}).status_code == 400
    assert client.get(APPOINTMENTS, {"page_size": "500"}).status_code == 200


# --- the reason -------------------------------------------------------------------------------


def test_the_clinician_reads_the_reason_and_the_scheduler_only_that_there_is_one(
    client_for, clinician, scheduler, appointment
):
    seen_by_clinician = client_for(clinician.user).get(appointment_url(appointment)).json()
    seen_by_scheduler = client_for(scheduler).get(appointment_url(appointment)).json()

    assert seen_by_clinician["reason"] == REASON
    assert seen_by_clinician["has_reason"] is True
    assert seen_by_scheduler["reason"] is None
    assert seen_by_scheduler["has_reason"] is True


def test_the_previsit_summary_names_the_patient(client_for, clinician, patient, appointment):
    body = client_for(clinician.user).get(appointment_url(appointment, "previsit-summary")).json()

    assert body["appointment"]["patient_name"] == patient.user.full_name


@pytest.mark.parametrize(("role", "expected"), [("other_clinician", 404), ("scheduler", 403)])
def test_others_never_see_the_summarys_name(
    client_for, actors, patient, appointment, role, expected
):
    response = client_for(actors[role]).get(appointment_url(appointment, "previsit-summary"))

    assert response.status_code == expected
    assert patient.user.full_name not in response.content.decode()
