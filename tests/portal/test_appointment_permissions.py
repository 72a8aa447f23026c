"""`appointment_permissions` asks the rules the actions themselves go through, as a yes or no:
for every viewer who sees a visit, each answer must be what that action's own access helper
decides (moving or cancelling, the patient's chart, the pre-visit summary)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine

from carecore.accounts import services as account_services
from carecore.accounts.access import Purpose, access_patient
from carecore.accounts.models import Patient, User
from carecore.common.errors import NotFound
from portal import services
from portal.access import access_appointment, access_previsit_summary, appointment_permissions
from portal.models import Appointment

from ..factories import ClinicianFactory
from .conftest import TOMORROW, at, book_directly, give_availability

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen", "schedules")]

GRANT_REASON = "Covering the on-call line tonight, the team is unreachable."


def passes(check: Callable[[], Any]) -> bool:
    try:
        check()
    except NotFound:
        return False
    return True


def what_the_actions_decide(user: User, visit: Appointment) -> tuple[bool, bool, bool]:
    return (
        passes(lambda: access_appointment(user=user, appointment_id=visit.id, for_write=True)),
        passes(
            lambda: access_patient(user=user, patient_id=visit.patient_id, purpose=Purpose.CLINICAL)
        ),
        passes(lambda: access_previsit_summary(user=user, appointment_id=visit.id)),
    )


def answers(user: User, visit: Appointment) -> tuple[bool, bool, bool]:
    may = appointment_permissions(user=user, appointment=visit)
    return may.change, may.read_patient_record, may.read_previsit_summary


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("clinician", (True, True, True)),
        ("coordinator", (True, True, True)),
        ("scheduler", (True, False, False)),
        ("other_clinician", (False, False, False)),  # does not see it at all (the page: 404)
    ],
)
def test_each_answer_is_the_actions_own(
    role: str, expected: tuple[bool, bool, bool], actors: dict[str, User], appointment: Appointment
) -> None:
    user = actors[role]

    assert answers(user, appointment) == what_the_actions_decide(user, appointment) == expected


def test_break_glass_reads_but_never_changes(
    actors: dict[str, User], appointment: Appointment
) -> None:
    user = actors["other_clinician"]
    account_services.break_glass_open(
        user=user, patient_id=appointment.patient_id, reason=GRANT_REASON
    )

    assert answers(user, appointment) == what_the_actions_decide(user, appointment)
    assert answers(user, appointment) == (False, True, True)


def test_the_visits_own_clinician_from_outside_the_team_reads_the_summary_in_its_window(
    patient: Patient, frozen: time_machine.Traveller
) -> None:
    locum = ClinicianFactory(user__email="locum@example.test", licensed_states=["NY"])
    give_availability(locum)
    visit = book_directly(patient=patient, clinician=locum, start=at(TOMORROW, 10))

    assert answers(locum.user, visit) == what_the_actions_decide(locum.user, visit)
    assert answers(locum.user, visit) == (True, False, False)  # 26 h ahead: window shut
    frozen.move_to(visit.start_at - timedelta(hours=1))
    assert answers(locum.user, visit) == what_the_actions_decide(locum.user, visit)
    assert answers(locum.user, visit) == (True, False, True)
    services.appointment_cancel(actor=patient.user, appointment_id=visit.id)
    visit.refresh_from_db()
    assert answers(locum.user, visit) == what_the_actions_decide(locum.user, visit)
    # Still theirs to see; the services refuse to move or cancel it again (the page asks the
    # status too), and the visit no longer opens the summary to them.
    assert answers(locum.user, visit) == (True, False, False)
