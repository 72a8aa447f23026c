"""Access a visit gives holds only in its window: from 24 h before the start to 24 h after the
end (issue 12, items 3 and 10). The join link goes to the visit's patient and clinician only, in
that window; the pre-visit summary opens to the visit's own clinician from outside the care team
only in that window."""

from __future__ import annotations

from datetime import timedelta

import pytest

from carecore.accounts import services as account_services
from carecore.accounts.access import VISIT_ACCESS_WINDOW
from portal import services

from ..factories import ClinicianFactory
from .conftest import TOMORROW, appointment_url, at, book_directly, give_availability

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen", "schedules")]

REASON = "Covering the on-call line; the care team is unreachable."


def _link(client, appointment):
    # Pass a fresh client after moving the clock: a sign-in token lives 12 h.
    response = client.get(appointment_url(appointment))
    assert response.status_code == 200, response.json()
    return response.json()["join_url"]


def test_the_window_is_a_day_either_side():
    assert timedelta(hours=24) == VISIT_ACCESS_WINDOW


@pytest.mark.parametrize("role", ["patient", "clinician"])
def test_the_visits_patient_and_clinician_get_the_link_only_in_the_window(
    client_for, actors, frozen, appointment, role
):
    user = actors[role]

    frozen.move_to(appointment.start_at - timedelta(hours=25))
    assert _link(client_for(user), appointment) is None
    frozen.move_to(appointment.start_at - timedelta(hours=23))
    assert _link(client_for(user), appointment) == appointment.join_url
    frozen.move_to(appointment.end_at + timedelta(hours=23))
    assert _link(client_for(user), appointment) == appointment.join_url
    frozen.move_to(appointment.end_at + timedelta(hours=25))
    assert _link(client_for(user), appointment) is None


@pytest.mark.parametrize("role", ["coordinator", "scheduler", "admin"])
def test_everyone_else_who_sees_the_visit_gets_no_link(
    client_for, actors, frozen, appointment, role
):
    frozen.move_to(appointment.start_at - timedelta(minutes=5))
    if role == "admin":
        account_services.break_glass_open(
            user=actors["admin"], patient_id=appointment.patient_id, reason=REASON
        )

    assert _link(client_for(actors[role]), appointment) is None


def test_a_cancelled_visit_gives_no_link(client_for, frozen, patient, appointment):
    services.appointment_cancel(actor=patient.user, appointment_id=appointment.id)
    frozen.move_to(appointment.start_at - timedelta(hours=1))

    assert _link(client_for(patient.user), appointment) is None


def test_a_break_glass_admins_calendar_file_carries_no_link(client_for, admin_user, appointment):
    account_services.break_glass_open(
        user=admin_user, patient_id=appointment.patient_id, reason=REASON
    )

    content = client_for(admin_user).get(appointment_url(appointment, "ics")).content.decode()

    assert "video.carecore.invalid" not in content


def test_the_treating_clinician_reads_the_summary_only_in_the_visits_window(
    client_for, frozen, patient
):
    outsider = ClinicianFactory(user__email="locum@example.test", licensed_states=["NY"])
    give_availability(outsider)
    visit = book_directly(patient=patient, clinician=outsider, start=at(TOMORROW, 10))
    summary = f"/api/v1/appointments/{visit.id}/previsit-summary/"

    frozen.move_to(visit.start_at - timedelta(hours=25))
    assert client_for(outsider.user).get(summary).status_code == 404
    frozen.move_to(visit.start_at - timedelta(hours=23))
    assert client_for(outsider.user).get(summary).status_code == 200
    frozen.move_to(visit.end_at + timedelta(hours=23))
    assert client_for(outsider.user).get(summary).status_code == 200
    frozen.move_to(visit.end_at + timedelta(hours=25))
    assert client_for(outsider.user).get(summary).status_code == 404


def test_a_clinician_on_a_grant_cannot_book_themselves_into_lasting_access(
    client_for, frozen, patient, other_clinician
):
    account_services.break_glass_open(
        user=other_clinician.user, patient_id=patient.id, reason=REASON
    )
    client = client_for(other_clinician.user)

    response = client.post(
        "/api/v1/appointments/",
        {
            "clinician": str(other_clinician.id),
            "patient": str(patient.id),
            "start": at(TOMORROW + timedelta(days=5), 10).isoformat(),
            "visit_type": "new",
        },
        format="json",
    )

    assert response.status_code == 404
    # Once the grant is over, nothing is left to read the patient through.
    frozen.move_to(at(TOMORROW + timedelta(days=5), 9))
    assert (
        client_for(other_clinician.user).get(f"/api/v1/patients/{patient.id}/").status_code == 404
    )
