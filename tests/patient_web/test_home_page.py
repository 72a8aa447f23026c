"""The home page: the next visit (joinable from 10 minutes before), unread messages, what is
left to fill in and the active plan; every row shown is audited as through the API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from carecore.accounts.models import Clinician, Patient, User
from carecore.audit.models import Action, AuditEvent
from tests.portal.conftest import NOW, TOMORROW, at, book_directly, give_availability

pytestmark = pytest.mark.django_db


@pytest.fixture
def visit(patient: Patient, clinician: Clinician, other_clinician: Clinician) -> object:
    with time_machine.travel(NOW, tick=False):
        give_availability(clinician)
        return book_directly(patient=patient, clinician=clinician, start=at(TOMORROW, 10))


def test_it_shows_the_next_visit_in_the_patients_zone_and_audits_it(
    visit: object, patient: Patient, web_for: Callable[[User], Client]
) -> None:
    client = web_for(patient.user)
    with time_machine.travel(NOW, tick=False):
        html = client.get("/").content.decode()

    assert "Thursday 11 June, 10:00 AM" in html
    assert "EDT" in html
    assert "Join visit" not in html
    assert "You can join from 9:50 AM" in html
    assert AuditEvent.objects.filter(
        actor_id=patient.user.id,
        action=Action.LIST,
        object_type="appointment",
        detail__object_ids__contains=[str(visit.id)],  # type: ignore[attr-defined]
    ).exists()


def test_it_offers_join_visit_from_ten_minutes_before(
    visit: object, patient: Patient, web_for: Callable[[User], Client]
) -> None:
    client = web_for(patient.user)
    start = at(TOMORROW, 10)

    with time_machine.travel(start - timedelta(minutes=10, seconds=1), tick=False):
        assert "Join visit" not in client.get("/").content.decode()
    with time_machine.travel(start - timedelta(minutes=10), tick=False):
        assert "Join visit" in client.get("/").content.decode()


def test_it_shows_nothing_of_another_patients_visit(
    visit: object, other_patient: Patient, web_for: Callable[[User], Client]
) -> None:
    with time_machine.travel(NOW, tick=False):
        html = web_for(other_patient.user).get("/").content.decode()

    assert "No visit booked." in html
    assert "Complete your health questionnaire" in html


def test_it_shows_the_navigation_and_landmarks(
    patient: Patient, web_for: Callable[[User], Client]
) -> None:
    html = web_for(patient.user).get("/").content.decode()

    assert 'href="#main">Skip to main content</a>' in html
    assert '<nav aria-label="Main">' in html
    assert '<a href="/" aria-current="page">Home</a>' in html
    assert '<main id="main"' in html
