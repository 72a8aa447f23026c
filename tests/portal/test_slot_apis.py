"""Open slots for a day and the earliest bookable slot."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal import services

from ..conftest import ACTOR_NAMES
from ..factories import ClinicianFactory, PatientFactory
from .conftest import (
    EARLIEST,
    NOW,
    SLOTS,
    TOMORROW,
    at,
    book_directly,
    give_availability,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen", "schedules")]


def slots(client, **params):
    return client.get(SLOTS, {"visit_type": "new", **params})


def starts(response) -> list[str]:
    return [item["start"] for item in response.json()["results"]]


def test_it_lists_tomorrows_open_slots_in_the_patients_zone(client_for, patient, clinician):
    response = slots(client_for(patient.user), date="2026-06-11")

    assert response.status_code == 200
    body = response.json()
    assert body["timezone"] == "America/New_York"
    assert body["message"] == ""
    assert len(body["results"]) == 24
    assert body["results"][0] == {
        "clinician": str(clinician.id),
        "clinician_name": clinician.user.full_name,
        "start": "2026-06-11T08:00:00-04:00",
        "end": "2026-06-11T08:30:00-04:00",
        "visit_type": "new",
    }
    assert body["next"] is None


def test_it_offers_only_clinicians_licensed_in_the_patients_state(
    client_for, patient, clinician, other_clinician
):
    results = slots(client_for(patient.user), date="2026-06-11").json()["results"]

    assert {item["clinician"] for item in results} == {str(clinician.id)}


def test_todays_slots_start_after_the_minimum_notice(client_for, patient):
    # Now is 08:00 in New York: the first bookable start is 10:00.
    found = starts(slots(client_for(patient.user), date="2026-06-10"))

    assert found[0] == "2026-06-10T10:00:00-04:00"
    assert len(found) == 20


def test_slots_beyond_the_rolling_window_are_not_offered(client_for, patient):
    # The window ends 14 days from now: 2026-06-24 08:00 in New York, the first rule start.
    client = client_for(patient.user)

    assert starts(slots(client, date="2026-06-23"))[-1] == "2026-06-23T19:30:00-04:00"
    assert starts(slots(client, date="2026-06-24")) == []


def test_booked_and_time_off_slots_disappear(client_for, patient, clinician):
    book_directly(patient=PatientFactory(state="NY"), clinician=clinician, start=at(TOMORROW, 10))
    services.time_off_create(
        actor=None, clinician=clinician, starts_at=at(TOMORROW, 14), ends_at=at(TOMORROW, 15)
    )

    found = starts(slots(client_for(patient.user), date="2026-06-11"))

    assert "2026-06-11T10:00:00-04:00" not in found
    assert "2026-06-11T14:00:00-04:00" not in found
    assert "2026-06-11T14:30:00-04:00" not in found
    assert len(found) == 21


def test_a_cancelled_visit_frees_its_slot(client_for, patient, clinician):
    visit = book_directly(
        patient=PatientFactory(state="NY"), clinician=clinician, start=at(TOMORROW, 10)
    )
    services.appointment_cancel(actor=visit.patient.user, appointment_id=visit.id)

    assert "2026-06-11T10:00:00-04:00" in starts(slots(client_for(patient.user), date="2026-06-11"))


def test_follow_up_slots_are_fifteen_minutes(client_for, patient):
    results = slots(client_for(patient.user), date="2026-06-11", visit_type="follow_up").json()

    assert len(results["results"]) == 48
    assert results["results"][1]["start"] == "2026-06-11T08:15:00-04:00"
    assert results["results"][1]["end"] == "2026-06-11T08:30:00-04:00"


def test_it_filters_by_clinician(client_for, patient, clinician):
    second = ClinicianFactory(licensed_states=["NY"])
    give_availability(second)
    client = client_for(patient.user)

    both = slots(client, date="2026-06-11").json()["results"]
    only = slots(client, date="2026-06-11", clinician=str(second.id)).json()["results"]

    assert len(both) == 48
    assert {item["clinician"] for item in only} == {str(second.id)}


def test_asking_for_a_clinician_not_licensed_in_the_patients_state_says_so(
    client_for, patient, other_clinician
):
    body = slots(client_for(patient.user), date="2026-06-11", clinician=str(other_clinician.id))

    assert body.json()["results"] == []
    assert "not offer this visit type to patients in your state" in body.json()["message"]


def test_a_patient_in_a_state_nobody_covers_gets_no_slots_and_a_message(client_for, clinician):
    montana = PatientFactory(state="MT")

    body = slots(client_for(montana.user), date="2026-06-11").json()

    assert body["results"] == []
    assert "No clinician is licensed in your state" in body["message"]


def test_staff_see_a_patients_slots_in_that_patients_zone(
    client_for, coordinator, patient, clinician
):
    patient.user.timezone = "America/Chicago"
    patient.user.save(update_fields=["timezone"])

    body = slots(client_for(coordinator), date="2026-06-11", patient=str(patient.id)).json()

    assert body["timezone"] == "America/Chicago"
    assert body["results"][0]["start"] == "2026-06-11T07:00:00-05:00"


def test_staff_asking_for_someone_elses_patient_get_404(client_for, coordinator, other_patient):
    response = slots(client_for(coordinator), date="2026-06-11", patient=str(other_patient.id))

    assert response.status_code == 404


def test_a_patient_cannot_ask_for_another_patients_slots(client_for, patient, other_patient):
    response = slots(client_for(patient.user), date="2026-06-11", patient=str(other_patient.id))

    assert response.status_code == 404


def test_a_scheduler_sees_every_clinicians_slots_without_a_patient(
    client_for, scheduler, clinician, other_clinician
):
    results = slots(client_for(scheduler), date="2026-06-11").json()["results"]

    assert {item["clinician"] for item in results} == {str(clinician.id), str(other_clinician.id)}


@pytest.mark.parametrize(
    "params",
    [{"date": "tomorrow"}, {"date": "2026-06-11", "visit_type": "surgery"}, {}],
    ids=["bad-date", "unknown-visit-type", "no-date"],
)
def test_bad_slot_queries_are_validation_errors(client_for, patient, params):
    response = client_for(patient.user).get(SLOTS, {"visit_type": "new", **params})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_anonymous_callers_get_no_slots(anon):
    assert slots(anon, date="2026-06-11").status_code == 401


def test_slots_are_paginated_by_a_cursor(client_for, patient):
    client = client_for(patient.user)

    first = slots(client, date="2026-06-11", page_size=10).json()
    second = client.get(first["next"]).json()
    everything = slots(client, date="2026-06-11").json()["results"]

    assert len(first["results"]) == 10
    assert first["results"] + second["results"] == everything[:20]


@pytest.mark.parametrize("page_size", ["٣", "+5", " 5", "5_0", "5.0", "0", ""])
def test_a_page_size_not_written_with_ascii_digits_from_1_is_a_400(client_for, patient, page_size):
    response = slots(client_for(patient.user), date="2026-06-11", page_size=page_size)

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"page_size"}


def test_a_huge_page_size_is_capped_like_every_lists(client_for, patient):
    response = slots(client_for(patient.user), date="2026-06-11", page_size="9" * 30)

    assert response.status_code == 200
    assert len(response.json()["results"]) == 24


def test_following_next_then_previous_visits_every_slot_once_in_order(client_for, scheduler):
    client = client_for(scheduler)  # both clinicians' slots: starts tie, clinician ids break them
    everything = slots(client, date="2026-06-11").json()
    assert (everything["next"], everything["previous"]) == (None, None)  # a day is one page
    key = [(item["start"], item["clinician"]) for item in everything["results"]]
    assert len(key) == 2 * 24 and len(set(key)) == len(key)

    pages = [slots(client, date="2026-06-11", page_size=7).json()]
    while pages[-1]["next"]:
        pages.append(client.get(pages[-1]["next"]).json())
    backwards = [pages[-1]]
    while backwards[-1]["previous"]:
        backwards.append(client.get(backwards[-1]["previous"]).json())

    assert pages[0]["previous"] is None
    assert [item for page in pages for item in page["results"]] == everything["results"]
    assert [len(page["results"]) for page in pages] == [7] * 6 + [6]
    assert [item for page in reversed(backwards) for item in page["results"]] == (
        everything["results"]
    )
    assert backwards[-1]["next"] is not None  # from the first page on again


def test_a_page_past_the_last_slot_leads_back_to_the_last_page(client_for, patient, clinician):
    client = client_for(patient.user)
    first = slots(client, date="2026-06-11", page_size=22).json()
    # The next page's two slots (19:00 and 19:30) are booked before it is read.
    for minute in (0, 30):
        book_directly(patient=patient, clinician=clinician, start=at(TOMORROW, 19, minute))

    past = client.get(first["next"]).json()
    last = client.get(past["previous"]).json()

    assert (past["results"], past["next"]) == ([], None)
    assert last["results"] == first["results"]
    assert (last["next"], last["previous"]) == (None, None)


def test_the_slot_list_costs_the_same_queries_for_more_clinicians_and_bookings(
    client_for, scheduler, clinician, django_assert_num_queries
):
    client = client_for(scheduler)
    # the token with its user, clinicians, their rules, their time off,
    # their appointments
    with django_assert_num_queries(5):
        first = slots(client, date="2026-06-11")
    for _ in range(5):
        give_availability(ClinicianFactory(licensed_states=["NY"]))
    for hour in range(9, 15):
        book_directly(
            patient=PatientFactory(state="NY"), clinician=clinician, start=at(TOMORROW, hour)
        )
    services.time_off_create(
        actor=None, clinician=clinician, starts_at=at(TOMORROW, 16), ends_at=at(TOMORROW, 17)
    )
    with django_assert_num_queries(5):
        second = slots(client, date="2026-06-11")

    assert len(first.json()["results"]) == 48
    assert len(second.json()["results"]) == 7 * 24 - 6 - 2


def test_a_patients_slot_list_costs_a_fixed_number_of_queries(
    client_for, patient, django_assert_num_queries
):
    client = client_for(patient.user)
    # the token with its user and their patient row, the patient (access check) + its
    # audit INSERT, clinicians, rules, time off, appointments
    with django_assert_num_queries(7):
        slots(client, date="2026-06-11")
    for _ in range(4):
        give_availability(ClinicianFactory(licensed_states=["NY"]))
    with django_assert_num_queries(7):
        response = slots(client, date="2026-06-11")

    assert len(response.json()["results"]) == 5 * 24


# --- earliest ---------------------------------------------------------------------------------


def earliest(client, **params):
    return client.get(EARLIEST, {"visit_type": "new", **params})


def test_the_earliest_slot_is_the_minimum_notice_away(client_for, patient, clinician):
    body = earliest(client_for(patient.user)).json()

    assert body["clinician"] == str(clinician.id)
    assert body["start"] == "2026-06-10T10:00:00-04:00"
    assert body["end"] == "2026-06-10T10:30:00-04:00"
    assert body["on_care_team"] is True
    assert body["message"] == ""


def test_the_care_teams_clinician_comes_first(client_for, patient, clinician):
    # Someone else licensed in NY is free earlier, but the patient's lead has a slot too.
    earlier = ClinicianFactory(licensed_states=["NY"])
    give_availability(earlier)
    services.time_off_create(
        actor=None, clinician=clinician, starts_at=NOW, ends_at=at(TOMORROW, 12)
    )

    body = earliest(client_for(patient.user)).json()

    assert body["clinician"] == str(clinician.id)
    assert body["start"] == "2026-06-11T12:00:00-04:00"
    assert body["on_care_team"] is True


def test_other_licensed_clinicians_step_in_when_the_care_team_has_nothing(
    client_for, patient, clinician
):
    stand_in = ClinicianFactory(licensed_states=["NY"])
    give_availability(stand_in)
    services.time_off_create(
        actor=None, clinician=clinician, starts_at=NOW, ends_at=NOW + timedelta(days=30)
    )

    body = earliest(client_for(patient.user)).json()

    assert body["clinician"] == str(stand_in.id)
    assert body["start"] == "2026-06-10T10:00:00-04:00"
    assert body["on_care_team"] is False


def test_the_earliest_slot_skips_taken_times(client_for, patient, clinician):
    book_directly(
        patient=PatientFactory(state="NY"), clinician=clinician, start=NOW + timedelta(hours=2)
    )

    assert earliest(client_for(patient.user)).json()["start"] == "2026-06-10T10:30:00-04:00"


def test_the_earliest_slot_never_offers_another_states_clinician(client_for, clinician):
    montana = PatientFactory(state="MT")

    body = earliest(client_for(montana.user)).json()

    assert body["start"] is None
    assert body["clinician"] is None
    assert "No clinician is licensed in your state" in body["message"]


def test_nothing_open_in_the_window_says_so(client_for, patient, clinician):
    services.time_off_create(
        actor=None, clinician=clinician, starts_at=NOW, ends_at=NOW + timedelta(days=30)
    )

    body = earliest(client_for(patient.user)).json()

    assert body["start"] is None
    assert "14 days" in body["message"]


def test_staff_ask_for_a_patients_earliest_slot(client_for, coordinator, patient, clinician):
    response = earliest(client_for(coordinator), patient=str(patient.id))

    assert response.status_code == 200
    assert response.json()["clinician"] == str(clinician.id)


@pytest.mark.parametrize("role", ["coordinator", "clinician", "admin", "patient"])
def test_the_earliest_slot_of_someone_elses_patient_is_not_found(
    client_for, actors, other_patient, role
):
    response = earliest(client_for(actors[role]), patient=str(other_patient.id))

    assert response.status_code == 404


def test_staff_must_name_the_patient_for_the_earliest_slot(client_for, scheduler):
    response = earliest(client_for(scheduler))

    assert response.status_code == 400
    assert "patient" in response.json()["error"]["fields"]


def test_anonymous_callers_get_no_earliest_slot(anon):
    assert earliest(anon).status_code == 401


def test_the_earliest_slot_costs_a_fixed_number_of_queries(
    client_for, patient, clinician, django_assert_num_queries
):
    client = client_for(patient.user)
    services.time_off_create(
        actor=None, clinician=clinician, starts_at=NOW, ends_at=NOW + timedelta(days=30)
    )
    give_availability(ClinicianFactory(licensed_states=["NY"]))
    # the token with its user and their patient row, the patient (access check) + its
    # audit INSERT, clinicians, care-team ids, then rules, time off and appointments once for
    # the care team and once for the others
    with django_assert_num_queries(11):
        earliest(client)
    for _ in range(4):
        give_availability(ClinicianFactory(licensed_states=["NY"]))
    with django_assert_num_queries(11):
        response = earliest(client)

    assert response.json()["on_care_team"] is False


@pytest.mark.parametrize(
    "role",
    ACTOR_NAMES,
)
def test_every_role_may_ask_for_slots(client_for, actors, role):
    # Open slots are not patient data; a patient sees their own state's clinicians, staff all.
    response = slots(client_for(actors[role]), date="2026-06-11")

    assert response.status_code == 200
    assert response.json()["results"]


@pytest.mark.parametrize("role", ["patient", "other_patient"])
def test_every_patient_gets_their_own_earliest_slot(client_for, actors, role):
    response = earliest(client_for(actors[role]))

    assert response.status_code == 200
    assert response.json()["start"] is not None
