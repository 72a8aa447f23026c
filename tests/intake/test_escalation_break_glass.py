"""Break-glass for whoever a step of an unanswered red-flag page's ladder told and who cannot
read the review (`intake.access.escalated_review_patient_id`,
`services.review_break_glass_open`): a clinician on the review's ladder (the clinical lead,
usually off the care team) may open a grant to the review's patient from the review; anyone
else gets the review's 404."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command

from carecore.accounts import services as account_services
from carecore.accounts.models import BreakGlassGrant, CareTeamMember, Clinician, Patient, Role, User
from carecore.audit.models import AuditEvent
from carecore.common.errors import NotFound, ValidationFailed
from intake import selectors, services
from intake.access import escalated_review_patient_id
from intake.models import IntakeReview, ReviewEscalationStep

from ..factories import ClinicianFactory, UserFactory
from ..outbox import recipients
from .helpers import escalated_red_flag_review

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 11, 3, 0, tzinfo=UTC)  # a night page
REASON = "Paged on the unanswered red flag: the care team has not reviewed the intake."


@pytest.fixture
def chief(db: None) -> Clinician:
    """The clinical lead, off the patient's care team."""
    return ClinicianFactory(is_clinical_lead=True, licensed_states=["CA"])


@pytest.fixture
def escalated(client_for, patient: Patient, coordinator: User, chief: Clinician) -> IntakeReview:
    call_command("sync_questionnaires", verbosity=0)
    return escalated_red_flag_review(client_for(patient.user), T0)


@pytest.fixture
def clock(escalated: IntakeReview):
    with time_machine.travel(T0 + timedelta(hours=2, minutes=5), tick=False) as traveller:
        yield traveller


def test_the_clinical_lead_told_is_offered_the_reviews_patient(
    patient: Patient, chief: Clinician, escalated: IntakeReview
) -> None:
    assert escalated_review_patient_id(user=chief.user, review_id=escalated.id) == patient.id
    assert selectors.review_break_glass_offered(user=chief.user, review_id=escalated.id)


def test_nobody_else_is_offered_anything(
    client_for,
    other_patient: Patient,
    clinician: Clinician,
    other_clinician: Clinician,
    escalated: IntakeReview,
    chief: Clinician,
) -> None:
    # The team's own clinician was told (step 2) but reads the review anyway.
    assert escalated_review_patient_id(user=clinician.user, review_id=escalated.id) is None
    # Never told about this review.
    assert escalated_review_patient_id(user=other_clinician.user, review_id=escalated.id) is None
    # Told about another review, not this one.
    another = escalated_red_flag_review(client_for(other_patient.user), T0)
    ReviewEscalationStep.objects.filter(review=escalated).delete()
    assert escalated_review_patient_id(user=chief.user, review_id=escalated.id) is None
    assert escalated_review_patient_id(user=chief.user, review_id=another.id) is not None
    # Named on a step but not a clinician (coordinators cannot break the glass; admins do it in
    # the administration site).
    for role in (Role.COORDINATOR, Role.ADMIN, Role.SCHEDULER):
        someone = UserFactory(role=role)
        ReviewEscalationStep.objects.filter(review=another, step=3).update(
            recipient_ids=[str(someone.id)]
        )
        assert escalated_review_patient_id(user=someone, review_id=another.id) is None


def test_a_recipient_who_can_read_the_review_is_offered_nothing(
    patient: Patient, chief: Clinician, escalated: IntakeReview
) -> None:
    CareTeamMember.objects.create(care_team=patient.care_team, user=chief.user)

    assert escalated_review_patient_id(user=chief.user, review_id=escalated.id) is None
    assert (
        services.review_break_glass_open(actor=chief.user, review_id=escalated.id, reason=REASON)
        is None
    )
    assert not BreakGlassGrant.objects.exists()


def test_it_opens_a_grant_announced_to_the_lead_clinician(
    patient: Patient, clinician: Clinician, chief: Clinician, escalated: IntakeReview
) -> None:
    grant = services.review_break_glass_open(
        actor=chief.user, review_id=escalated.id, reason=REASON
    )

    assert grant is not None
    assert (grant.user_id, grant.patient_id, grant.reason) == (chief.user_id, patient.id, REASON)
    assert clinician.user_id in recipients("break_glass_opened")
    assert AuditEvent.objects.filter(
        actor_id=chief.user_id, action="break_glass", object_id=str(grant.id), outcome="success"
    ).exists()
    # Under the grant the review is read, never completed.
    assert escalated_review_patient_id(user=chief.user, review_id=escalated.id) is None
    selectors.review_get(user=chief.user, review_id=escalated.id)
    assert not selectors.review_writable(user=chief.user, review_id=escalated.id)
    with pytest.raises(NotFound):
        services.review_complete(user=chief.user, review_id=escalated.id, note="Seen.")
    escalated.refresh_from_db()
    assert escalated.status == "pending"


def test_an_expired_grant_is_offered_again(
    chief: Clinician, escalated: IntakeReview, clock: time_machine.Traveller
) -> None:
    services.review_break_glass_open(actor=chief.user, review_id=escalated.id, reason=REASON)
    grant = BreakGlassGrant.objects.get()
    clock.shift(grant.expires_at - grant.created_at + timedelta(seconds=1))

    assert selectors.review_break_glass_offered(user=chief.user, review_id=escalated.id)


def test_a_short_reason_is_refused_and_opens_nothing(
    chief: Clinician, escalated: IntakeReview
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.review_break_glass_open(actor=chief.user, review_id=escalated.id, reason="now")

    assert "reason" in refused.value.fields
    assert not BreakGlassGrant.objects.exists()


def test_anyone_else_gets_the_reviews_404_before_any_word_on_the_reason(
    other_clinician: Clinician, escalated: IntakeReview
) -> None:
    with pytest.raises(NotFound) as refused:
        services.review_break_glass_open(
            actor=other_clinician.user, review_id=escalated.id, reason="short"
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
    patient: Patient, chief: Clinician, escalated: IntakeReview
) -> None:
    # A grant opened some other way (the API) counts the same: nothing more is offered.
    account_services.break_glass_open(user=chief.user, patient_id=patient.id, reason=REASON)

    assert not selectors.review_break_glass_offered(user=chief.user, review_id=escalated.id)
