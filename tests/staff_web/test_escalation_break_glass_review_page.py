"""A clinician called in on an unanswered red-flag page they cannot read
(`/staff/reviews/<id>/`): the clinical lead, the ladder's last rung, is usually off the patient's
care team. Instead of the review's 404 they are told they were called in, and offered
break-glass access with a written reason; then they read the review (never complete it). Anyone
else gets today's answers. The thread's offer is test_escalation_break_glass_page.py."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from carecore.accounts.models import (
    BreakGlassGrant,
    CareTeamMember,
    Clinician,
    Patient,
    Role,
    User,
)
from carecore.audit.models import AuditEvent
from carecore.notifications.models import Notification
from intake.models import IntakeReview, ReviewEscalationStep
from tests.factories import ClinicianFactory, UserFactory
from tests.intake.helpers import escalated_red_flag_review

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 11, 3, 0, tzinfo=UTC)  # a night page, unanswered
FLAG = "Rectal bleeding or blood in the stool"
REASON = "Paged on the unanswered red flag: the care team has not reviewed the intake."
OFFER = "You were called in on an unanswered red flag"
READ_ONLY = "Read-only: you are reading this review under break-glass access."


@pytest.fixture
def chief(db: None) -> Clinician:
    """The practice's clinical lead, not on the patient's care team."""
    return ClinicianFactory(
        user__email="chief@example.test", is_clinical_lead=True, licensed_states=["CA"]
    )


@pytest.fixture
def escalated(client_for, patient: Patient, coordinator: User, chief: Clinician) -> IntakeReview:
    """The review of a red-flag intake whose page nobody answered: the whole ladder recorded,
    the chief on step 3."""
    call_command("sync_questionnaires", verbosity=0)
    review = escalated_red_flag_review(client_for(patient.user), T0)
    step_3 = ReviewEscalationStep.objects.get(review=review, step=3)
    assert step_3.recipient_ids == [str(chief.user_id)]
    return review


@pytest.fixture(autouse=True)
def clock(escalated: IntakeReview) -> Iterator[time_machine.Traveller]:
    with time_machine.travel(T0 + timedelta(hours=2, minutes=5), tick=False) as traveller:
        yield traveller


def review_url(review_id: object) -> str:
    return f"/staff/reviews/{review_id}/"


def break_glass_url(review_id: object) -> str:
    return f"/staff/reviews/{review_id}/break-glass/"


def _without_csrf_token(content: bytes) -> bytes:
    """A page as its reader sees it, minus the per-response CSRF token."""
    return re.sub(rb'(csrf-token" content|csrfmiddlewaretoken" value)="[^"]*"', b"", content)


def _shows_nothing_of_the_patient(html: str, patient: Patient, review: IntakeReview) -> None:
    assert patient.user.full_name not in html
    assert patient.user.first_name not in html
    assert str(patient.id) not in html
    assert review.response.version.questionnaire.title not in html
    assert FLAG not in html


def test_the_escalated_clinical_lead_is_offered_break_glass_without_the_patient(
    patient: Patient,
    chief: Clinician,
    escalated: IntakeReview,
    staff_web_for: Callable[[User], Client],
) -> None:
    # Where the page sends them (one notification per channel).
    notices = Notification.objects.filter(event="intake_red_flag", recipient=chief.user)
    assert {notice.link_path for notice in notices} == {review_url(escalated.id)}

    response = staff_web_for(chief.user).get(review_url(escalated.id))

    html = response.content.decode()
    assert response.status_code == 403
    assert f"<h1>{OFFER}</h1>" in html
    assert "read-only" in html
    assert "but not complete it" in html
    assert f'action="{break_glass_url(escalated.id)}"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<label for="id_reason">' in html
    assert "Open access and read the review" in html
    _shows_nothing_of_the_patient(html, patient, escalated)
    # The refused read is audited as denied, as before; it names no patient.
    denied = AuditEvent.objects.get(
        actor_id=chief.user_id, object_type="intake_review", action="read"
    )
    assert (denied.object_id, denied.patient_id, denied.outcome) == (
        str(escalated.id),
        None,
        "denied",
    )
    assert not BreakGlassGrant.objects.exists()


def test_a_reason_opens_a_grant_and_the_lead_then_reads_the_review(
    patient: Patient,
    clinician: Clinician,
    chief: Clinician,
    escalated: IntakeReview,
    staff_web_for: Callable[[User], Client],
) -> None:
    client = staff_web_for(chief.user)

    response = client.post(break_glass_url(escalated.id), {"reason": REASON})

    assert response.status_code == 302
    assert response["Location"] == review_url(escalated.id)
    grant = BreakGlassGrant.objects.get()
    assert (grant.user_id, grant.patient_id, grant.reason) == (chief.user_id, patient.id, REASON)
    opened = AuditEvent.objects.get(actor_id=chief.user_id, action="break_glass")
    assert (opened.object_id, opened.patient_id) == (str(grant.id), patient.id)
    told = Notification.objects.filter(event="break_glass_opened").values_list(
        "recipient_id", flat=True
    )
    assert clinician.user_id in set(told)

    page = client.get(review_url(escalated.id))

    assert page.status_code == 200
    html = page.content.decode()
    assert FLAG in html
    assert patient.user.full_name in html
    # Read-only: the page offers no completion form, and says why.
    assert READ_ONLY in html
    assert "Complete review" not in html
    assert 'name="note"' not in html
    reads = AuditEvent.objects.filter(
        actor_id=chief.user_id, object_type="intake_review", action="read", outcome="success"
    )
    # Marked as reads under the grant (for the patient's "who viewed my record").
    assert reads and all(read.detail["grant_id"] == str(grant.id) for read in reads)
    # A second click (the button pressed twice) opens nothing more: to the review.
    again = client.post(break_glass_url(escalated.id), {"reason": REASON})
    assert again["Location"] == review_url(escalated.id)
    assert BreakGlassGrant.objects.count() == 1


@pytest.mark.parametrize("reason", ["", "   ", "Overdue, checking."])
def test_a_short_reason_shows_the_error_on_the_form_and_opens_nothing(
    reason: str,
    patient: Patient,
    chief: Clinician,
    escalated: IntakeReview,
    staff_web_for: Callable[[User], Client],
) -> None:
    response = staff_web_for(chief.user).post(break_glass_url(escalated.id), {"reason": reason})

    html = response.content.decode()
    assert response.status_code == 403
    assert f"<h1>{OFFER}</h1>" in html
    assert "There is a problem" in html
    assert "Explain why in at least 20 characters." in html
    assert 'id="id_reason_error"' in html
    _shows_nothing_of_the_patient(html, patient, escalated)
    assert not BreakGlassGrant.objects.exists()
    assert not Notification.objects.filter(event="break_glass_opened").exists()


def test_completing_under_the_grant_is_still_refused(
    chief: Clinician, escalated: IntakeReview, staff_web_for: Callable[[User], Client]
) -> None:
    client = staff_web_for(chief.user)
    client.post(break_glass_url(escalated.id), {"reason": REASON})

    completed = client.post(review_url(escalated.id), {"note": "Seen, calling the patient."})

    assert completed.status_code == 404
    # A refused write is the plain 404, not the offer again.
    assert OFFER not in completed.content.decode()
    escalated.refresh_from_db()
    assert (escalated.status, escalated.completed_by_id) == ("pending", None)


def test_once_the_grant_has_expired_the_offer_is_back(
    chief: Clinician,
    escalated: IntakeReview,
    clock: time_machine.Traveller,
    staff_web_for: Callable[[User], Client],
) -> None:
    client = staff_web_for(chief.user)
    client.post(break_glass_url(escalated.id), {"reason": REASON})
    grant = BreakGlassGrant.objects.get()
    clock.shift(grant.expires_at - grant.created_at + timedelta(seconds=1))

    response = client.get(review_url(escalated.id))

    assert response.status_code == 403
    assert OFFER in response.content.decode()


def test_a_recipient_now_on_the_care_team_simply_reads_and_may_complete(
    patient: Patient,
    chief: Clinician,
    escalated: IntakeReview,
    staff_web_for: Callable[[User], Client],
) -> None:
    CareTeamMember.objects.create(care_team=patient.care_team, user=chief.user)
    client = staff_web_for(chief.user)

    page = client.get(review_url(escalated.id))
    posted = client.post(break_glass_url(escalated.id), {"reason": REASON})

    assert page.status_code == 200
    html = page.content.decode()
    assert FLAG in html
    assert "Complete review" in html  # on the team: the form is back
    assert "Read-only" not in html
    assert posted["Location"] == review_url(escalated.id)
    assert not BreakGlassGrant.objects.exists()


def test_a_clinician_not_called_in_gets_the_plain_404(
    other_clinician: Clinician,
    escalated: IntakeReview,
    staff_web_for: Callable[[User], Client],
) -> None:
    client = staff_web_for(other_clinician.user)

    theirs = client.get(review_url(escalated.id))
    missing = client.get(review_url(uuid.uuid4()))
    posted = client.post(break_glass_url(escalated.id), {"reason": REASON})

    assert (theirs.status_code, missing.status_code, posted.status_code) == (404, 404, 404)
    assert _without_csrf_token(theirs.content) == _without_csrf_token(missing.content)
    assert _without_csrf_token(posted.content) == _without_csrf_token(missing.content)
    assert not BreakGlassGrant.objects.exists()
    outcomes = AuditEvent.objects.filter(actor_id=other_clinician.user_id).values_list(
        "object_id", "action", "outcome", "patient_id"
    )
    assert (str(escalated.id), "read", "denied", None) in outcomes
    assert (str(escalated.id), "break_glass", "denied", None) in outcomes


def test_the_offer_is_for_the_escalated_review_only(
    chief: Clinician,
    escalated: IntakeReview,
    staff_web_for: Callable[[User], Client],
) -> None:
    # The same patient's review, its ladder's record gone: the chief was not called in on it.
    ReviewEscalationStep.objects.filter(review=escalated).delete()
    client = staff_web_for(chief.user)

    response = client.get(review_url(escalated.id))
    posted = client.post(break_glass_url(escalated.id), {"reason": REASON})

    assert (response.status_code, posted.status_code) == (404, 404)
    assert OFFER not in response.content.decode()
    assert not BreakGlassGrant.objects.exists()


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("coordinator", 404),  # coordinators cannot break the glass: the review's plain 404
        ("scheduler", 403),  # the workspace's refusal, as today
        ("admin", 403),  # admins break the glass in the administration site
    ],
)
def test_other_roles_named_on_an_escalation_get_todays_answer(
    role: str,
    status: int,
    escalated: IntakeReview,
    staff_web_for: Callable[[User], Client],
) -> None:
    # Off the care team, and recorded on a step of the review's ladder all the same.
    someone = UserFactory(role=Role(role), email=f"called-in-{role}@example.test")
    ReviewEscalationStep.objects.filter(review=escalated, step=1).update(
        recipient_ids=[str(someone.id)]
    )
    client = staff_web_for(someone)

    theirs = client.get(review_url(escalated.id))
    missing = client.get(review_url(uuid.uuid4()))
    posted = client.post(break_glass_url(escalated.id), {"reason": REASON})

    assert (theirs.status_code, missing.status_code, posted.status_code) == (status,) * 3
    assert _without_csrf_token(theirs.content) == _without_csrf_token(missing.content)
    assert OFFER not in theirs.content.decode()
    assert not BreakGlassGrant.objects.exists()
