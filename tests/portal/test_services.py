"""Service-level behaviour not reachable through an endpoint: visit outcomes, demo seeding,
and the exclusion constraint itself."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import override_settings

from carecore.common.errors import ValidationFailed
from portal import services
from portal.models import Appointment, AppointmentStatus, AvailabilityRule

from ..factories import PatientFactory
from .conftest import TOMORROW, at, book_directly

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("schedules")
@pytest.mark.parametrize("outcome", [AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW])
def test_a_started_visit_is_marked_completed_or_missed(appointment, clinician, frozen, outcome):
    frozen.move_to(appointment.start_at + timedelta(minutes=1))

    services.appointment_status_set(
        actor=clinician.user, appointment_id=appointment.id, status=outcome
    )

    appointment.refresh_from_db()
    assert appointment.status == outcome


@pytest.mark.usefixtures("schedules")
def test_a_future_visit_cannot_be_marked_completed(appointment, clinician):
    with pytest.raises(ValidationFailed):
        services.appointment_status_set(
            actor=clinician.user, appointment_id=appointment.id, status=AppointmentStatus.COMPLETED
        )


@pytest.mark.usefixtures("schedules")
def test_a_completed_visit_still_holds_its_time(appointment, clinician, frozen):
    frozen.move_to(appointment.start_at + timedelta(minutes=1))
    services.appointment_status_set(
        actor=clinician.user, appointment_id=appointment.id, status=AppointmentStatus.COMPLETED
    )
    rival = Appointment(
        patient=PatientFactory(state="NY"),
        clinician=clinician,
        visit_type="new",
        start_at=appointment.start_at,
        end_at=appointment.end_at,
        during=(appointment.start_at, appointment.end_at),
        join_url="https://video.carecore.invalid/v/rival",
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        rival.save(force_insert=True)


@pytest.mark.usefixtures("frozen", "schedules")
def test_the_database_refuses_overlaps_written_past_the_services(patient, clinician):
    book_directly(patient=patient, clinician=clinician, start=at(TOMORROW, 10))
    overlapping = Appointment(
        patient=PatientFactory(state="NY"),
        clinician=clinician,
        visit_type="follow_up",
        start_at=at(TOMORROW, 10, 15),
        end_at=at(TOMORROW, 10, 30),
        during=(at(TOMORROW, 10, 15), at(TOMORROW, 10, 30)),
        join_url="https://video.carecore.invalid/v/sneaky",
    )

    with (
        pytest.raises(IntegrityError, match="appointment_no_overlap_per_clinician"),
        transaction.atomic(),
    ):
        overlapping.save(force_insert=True)


@pytest.mark.usefixtures("frozen", "schedules")
def test_the_range_must_match_start_and_end(patient, clinician):
    mismatched = Appointment(
        patient=patient,
        clinician=clinician,
        visit_type="new",
        start_at=at(TOMORROW, 10),
        end_at=at(TOMORROW, 10, 30),
        during=(at(TOMORROW, 11), at(TOMORROW, 11, 30)),
        join_url="https://video.carecore.invalid/v/mismatch",
    )

    with (
        pytest.raises(IntegrityError, match="appointment_during_matches_start_end"),
        transaction.atomic(),
    ):
        mismatched.save(force_insert=True)


# seed_demo's shared password "carecore-demo" fails Django's similarity check against the
# "@demo.carecore.test" e-mails, so seed_demo cannot run with the configured validators at all
# (reported to the lead; accounts' code, not fixed here). This test is about the availability
# seeding, so it runs the command with the validators off.
@override_settings(AUTH_PASSWORD_VALIDATORS=[])
def test_seed_demo_gives_the_demo_clinicians_availability_once():
    call_command("seed_demo", "--force", verbosity=0)
    call_command("seed_demo", "--force", verbosity=0)

    def rules(local: str) -> list[tuple[int, str, str]]:
        return [
            (rule.weekday, f"{rule.start_time:%H:%M}", f"{rule.end_time:%H:%M}")
            for rule in AvailabilityRule.objects.filter(
                clinician__user__email=f"{local}@demo.carecore.test"
            ).order_by("weekday")
        ]

    assert rules("clinician") == [(day, "08:00", "20:00") for day in range(7)]
    assert rules("clinician2") == [(day, "08:00", "20:00") for day in range(7)]
    assert rules("clinician3") == [(day, "09:00", "17:00") for day in range(5)]
