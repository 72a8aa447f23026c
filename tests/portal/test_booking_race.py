"""Twenty patients grab one slot at the same instant: the database lets exactly one win.

Real threads, each with its own API client and its own database connection, released together by
a barrier. The test database is shared (transaction=True), so every booking really commits.
"""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from portal.models import Appointment, AppointmentStatus

from ..factories import PatientFactory
from .conftest import NEW_YORK, book, book_directly, give_availability

CONTENDERS = 20


def tomorrow_noon_in_new_york() -> datetime:
    tomorrow = timezone.now().astimezone(NEW_YORK).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(12), tzinfo=NEW_YORK)


def _patients(count: int):
    # care_team_assign_new_patient locks clinician rows and expects its caller's transaction
    # (patient_register provides one); outside the usual per-test transaction we open it here.
    with transaction.atomic():
        return PatientFactory.create_batch(count, state="NY")


def race(clients, book_one) -> list[tuple[int, dict]]:
    barrier = threading.Barrier(len(clients))
    outcomes: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def contend(client) -> None:
        try:
            barrier.wait(timeout=30)
            response = book_one(client)
            with lock:
                outcomes.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=contend, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_bookings_of_one_slot_give_one_booking_and_nineteen_409s(
    clinician, client_for
):
    give_availability(clinician)
    start = tomorrow_noon_in_new_york()
    patients = _patients(CONTENDERS)
    clients = [client_for(patient.user) for patient in patients]

    outcomes = race(clients, lambda client: book(client, clinician, start))

    statuses = sorted(status for status, _ in outcomes)
    assert len(outcomes) == CONTENDERS
    assert statuses == [201] + [409] * (CONTENDERS - 1)
    assert {body["error"]["code"] for status, body in outcomes if status == 409} == {"slot_taken"}
    assert Appointment.objects.count() == 1
    assert Appointment.objects.get().status == AppointmentStatus.BOOKED


@pytest.mark.django_db(transaction=True)
def test_racing_reschedules_onto_one_slot_move_exactly_one_appointment(clinician, client_for):
    give_availability(clinician)
    target = tomorrow_noon_in_new_york()
    clients = []
    for index, patient in enumerate(_patients(6)):
        visit = book_directly(
            patient=patient, clinician=clinician, start=target + timedelta(hours=1 + index)
        )
        client = client_for(patient.user)
        client.reschedule_url = f"/api/v1/appointments/{visit.id}/reschedule/"
        clients.append(client)

    outcomes = race(
        clients,
        lambda client: client.post(
            client.reschedule_url, {"start": target.isoformat()}, format="json"
        ),
    )

    assert sorted(status for status, _ in outcomes) == [200] + [409] * 5
    assert Appointment.objects.filter(start_at=target).count() == 1
    # The losers kept their own times: nothing was released before the new time was held.
    assert Appointment.objects.filter(status=AppointmentStatus.BOOKED).count() == 6
    assert Appointment.objects.values("start_at").distinct().count() == 6
