"""Break-glass for whoever an escalation of a thread called in and who cannot read it
(`messaging.access.escalated_thread_patient_id`, `services.thread_break_glass_open`): a
clinician on the thread's ladder (the clinical lead, usually off the care team) may open a
grant to the thread's patient from the thread; anyone else gets the thread's 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from carecore.accounts import services as account_services
from carecore.accounts.models import BreakGlassGrant, CareTeamMember, Clinician, Patient, Role, User
from carecore.audit.models import AuditEvent
from carecore.common.errors import NotFound, ValidationFailed
from messaging import selectors, services
from messaging.access import escalated_thread_patient_id
from messaging.models import EscalationStep, Thread

from ..factories import ClinicianFactory, UserFactory
from ..outbox import recipients
from .conftest import WORKING_MOMENT

pytestmark = pytest.mark.django_db

REASON = "Called in on the overdue thread: the care team has not answered the patient."


@pytest.fixture
def chief(patient: Patient) -> Clinician:
    """The clinical lead, off the patient's care team."""
    return ClinicianFactory(is_clinical_lead=True, licensed_states=["CA"])


@pytest.fixture
def escalated(thread: Thread, chief: Clinician) -> Thread:
    # Due 14:00; a sweep at 17:00 records all three steps, the chief on step 3.
    services.thread_escalate(thread_id=thread.id, now=WORKING_MOMENT.replace(hour=17))
    return thread


def test_the_clinical_lead_called_in_is_offered_the_threads_patient(
    patient: Patient, chief: Clinician, escalated: Thread
) -> None:
    assert escalated_thread_patient_id(user=chief.user, thread_id=escalated.id) == patient.id
    assert selectors.thread_break_glass_offered(user=chief.user, thread_id=escalated.id)


def test_nobody_else_is_offered_anything(
    patient: Patient,
    clinician: Clinician,
    other_clinician: Clinician,
    coordinator: User,
    escalated: Thread,
    other_thread: Thread,
    chief: Clinician,
) -> None:
    # The team's own clinician was called in (step 2) but reads the thread anyway.
    assert escalated_thread_patient_id(user=clinician.user, thread_id=escalated.id) is None
    # Never called in on this thread.
    assert escalated_thread_patient_id(user=other_clinician.user, thread_id=escalated.id) is None
    # Called in on another thread, not this one.
    assert escalated_thread_patient_id(user=chief.user, thread_id=other_thread.id) is None
    # Named on a step but not a clinician (coordinators cannot break the glass; admins do it in
    # the administration site).
    for role in (Role.COORDINATOR, Role.ADMIN, Role.SCHEDULER):
        someone = UserFactory(role=role)
        EscalationStep.objects.filter(thread=escalated, step=3).update(
            recipient_ids=[str(someone.id)]
        )
        assert escalated_thread_patient_id(user=someone, thread_id=escalated.id) is None


def test_a_recipient_who_can_read_the_thread_is_offered_nothing(
    patient: Patient, chief: Clinician, escalated: Thread
) -> None:
    CareTeamMember.objects.create(care_team=patient.care_team, user=chief.user)

    assert escalated_thread_patient_id(user=chief.user, thread_id=escalated.id) is None
    assert (
        services.thread_break_glass_open(actor=chief.user, thread_id=escalated.id, reason=REASON)
        is None
    )
    assert not BreakGlassGrant.objects.exists()


def test_it_opens_a_grant_announced_to_the_lead_clinician(
    patient: Patient, clinician: Clinician, chief: Clinician, escalated: Thread
) -> None:
    grant = services.thread_break_glass_open(
        actor=chief.user, thread_id=escalated.id, reason=REASON
    )

    assert grant is not None
    assert (grant.user_id, grant.patient_id, grant.reason) == (chief.user_id, patient.id, REASON)
    assert clinician.user_id in recipients("break_glass_opened")
    assert AuditEvent.objects.filter(
        actor_id=chief.user_id, action="break_glass", object_id=str(grant.id), outcome="success"
    ).exists()
    # Under the grant the thread is read, never written in.
    assert escalated_thread_patient_id(user=chief.user, thread_id=escalated.id) is None
    selectors.thread_get(user=chief.user, thread_id=escalated.id)
    with pytest.raises(NotFound):
        services.message_send(actor=chief.user, thread_id=escalated.id, body="On it.")


def test_an_expired_grant_is_offered_again(
    chief: Clinician, escalated: Thread, clock: time_machine.Traveller
) -> None:
    services.thread_break_glass_open(actor=chief.user, thread_id=escalated.id, reason=REASON)
    clock.shift(timedelta(minutes=61))

    assert selectors.thread_break_glass_offered(user=chief.user, thread_id=escalated.id)


def test_a_short_reason_is_refused_and_opens_nothing(chief: Clinician, escalated: Thread) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.thread_break_glass_open(actor=chief.user, thread_id=escalated.id, reason="now")

    assert "reason" in refused.value.fields
    assert not BreakGlassGrant.objects.exists()


def test_anyone_else_gets_the_threads_404_before_any_word_on_the_reason(
    other_clinician: Clinician, escalated: Thread
) -> None:
    with pytest.raises(NotFound) as refused:
        services.thread_break_glass_open(
            actor=other_clinician.user, thread_id=escalated.id, reason="short"
        )
    refused.value.after_rollback()

    assert not BreakGlassGrant.objects.exists()
    denied = AuditEvent.objects.get(actor_id=other_clinician.user_id, action="break_glass")
    assert (denied.object_id, denied.patient_id, denied.outcome) == (
        str(escalated.id),
        None,
        "denied",
    )


def test_an_ordinary_grant_lets_the_recipient_read_too(
    patient: Patient, chief: Clinician, escalated: Thread
) -> None:
    # A grant opened some other way (the API) counts the same: nothing more is offered.
    account_services.break_glass_open(user=chief.user, patient_id=patient.id, reason=REASON)

    assert not selectors.thread_break_glass_offered(user=chief.user, thread_id=escalated.id)
