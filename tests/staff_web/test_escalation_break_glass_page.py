"""A clinician called in on an escalation they cannot read (`/staff/threads/<id>/`): the
clinical lead, the ladder's last rung, is usually off the patient's care team. Instead of the
thread's 404 they are told they were called in, and offered break-glass access with a written
reason; then they read the thread (never write in it). Anyone else gets today's answers."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import time_machine
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
from messaging import services
from messaging.models import EscalationStep, Message, Thread
from tests.factories import ClinicianFactory, UserFactory
from tests.messaging.conftest import WORKING_MOMENT, open_thread

pytestmark = pytest.mark.django_db

SUBJECT = "Swollen lips after the new cream"
BODY = "My lips started swelling an hour after I used the cream."
REASON = "Called in on the overdue thread: the care team has not answered the patient."
OFFER = "You were called in on an escalated thread"


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(WORKING_MOMENT, tick=False) as traveller:
        yield traveller


@pytest.fixture
def thread(patient: Patient) -> Thread:
    return open_thread(patient, subject=SUBJECT, body=BODY)


@pytest.fixture
def chief(patient: Patient) -> Clinician:
    """The practice's clinical lead, not on the patient's care team."""
    return ClinicianFactory(
        user__email="chief@example.test", is_clinical_lead=True, licensed_states=["CA"]
    )


@pytest.fixture
def escalated(thread: Thread, chief: Clinician) -> Thread:
    """The thread, overdue all day: a late sweep records the whole ladder, the chief on step 3."""
    # Due 14:00 (4 working hours after 10:00); steps at 14:00, 15:00 and 16:00.
    services.thread_escalate(thread_id=thread.id, now=WORKING_MOMENT.replace(hour=17))
    assert EscalationStep.objects.get(thread=thread, step=3).recipient_ids == [str(chief.user_id)]
    return thread


def thread_url(thread_id: object) -> str:
    return f"/staff/threads/{thread_id}/"


def break_glass_url(thread_id: object) -> str:
    return f"/staff/threads/{thread_id}/break-glass/"


def _without_csrf_token(content: bytes) -> bytes:
    """A page as its reader sees it, minus the per-response CSRF token."""
    return re.sub(rb'(csrf-token" content|csrfmiddlewaretoken" value)="[^"]*"', b"", content)


def _shows_nothing_of_the_patient(html: str, patient: Patient, thread: Thread) -> None:
    assert patient.user.full_name not in html
    assert patient.user.first_name not in html
    assert str(patient.id) not in html
    assert SUBJECT not in html
    assert BODY not in html


def test_the_escalated_clinical_lead_is_offered_break_glass_without_the_patient(
    patient: Patient,
    chief: Clinician,
    escalated: Thread,
    staff_web_for: Callable[[User], Client],
) -> None:
    # Where the notice sends them (one notification per channel).
    notices = Notification.objects.filter(event="thread_escalated", recipient=chief.user)
    assert {notice.link_path for notice in notices} == {thread_url(escalated.id)}

    response = staff_web_for(chief.user).get(thread_url(escalated.id))

    html = response.content.decode()
    assert response.status_code == 403
    assert f"<h1>{OFFER}</h1>" in html
    assert "read-only" in html
    assert f'action="{break_glass_url(escalated.id)}"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<label for="id_reason">' in html
    _shows_nothing_of_the_patient(html, patient, escalated)
    # The refused read is audited as denied, as before; it names no patient.
    denied = AuditEvent.objects.get(
        actor_id=chief.user_id, object_type="message_thread", action="read"
    )
    assert (denied.object_id, denied.patient_id, denied.outcome) == (
        str(escalated.id),
        None,
        "denied",
    )
    assert not BreakGlassGrant.objects.exists()


def test_a_reason_opens_a_grant_and_the_lead_then_reads_the_thread(
    patient: Patient,
    clinician: Clinician,
    chief: Clinician,
    escalated: Thread,
    staff_web_for: Callable[[User], Client],
) -> None:
    client = staff_web_for(chief.user)

    response = client.post(break_glass_url(escalated.id), {"reason": REASON})

    assert response.status_code == 302
    assert response["Location"] == thread_url(escalated.id)
    grant = BreakGlassGrant.objects.get()
    assert (grant.user_id, grant.patient_id, grant.reason) == (chief.user_id, patient.id, REASON)
    opened = AuditEvent.objects.get(actor_id=chief.user_id, action="break_glass")
    assert (opened.object_id, opened.patient_id) == (str(grant.id), patient.id)
    # break_glass_open's own announcement: the patient's lead clinician is told.
    told = Notification.objects.filter(event="break_glass_opened").values_list(
        "recipient_id", flat=True
    )
    assert clinician.user_id in set(told)

    page = client.get(thread_url(escalated.id))

    assert page.status_code == 200
    html = page.content.decode()
    assert BODY in html
    # Read-only: the page offers none of the writes the grant does not allow.
    assert "Read-only: you are reading this thread under break-glass access." in html
    for form in ("reply-body", "note-body", "/assign/", "/close/", "/claim/"):
        assert form not in html
    reads = AuditEvent.objects.filter(
        actor_id=chief.user_id, object_type="message_thread", action="read", outcome="success"
    )
    # Marked as reads under the grant (for the patient's "who viewed my record").
    assert reads and all(read.detail["grant_id"] == str(grant.id) for read in reads)
    # A second click (the button pressed twice) opens nothing more: to the thread.
    again = client.post(break_glass_url(escalated.id), {"reason": REASON})
    assert again["Location"] == thread_url(escalated.id)
    assert BreakGlassGrant.objects.count() == 1


@pytest.mark.parametrize("reason", ["", "   ", "Overdue, checking."])
def test_a_short_reason_shows_the_error_on_the_form_and_opens_nothing(
    reason: str,
    patient: Patient,
    chief: Clinician,
    escalated: Thread,
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


def test_a_write_under_the_grant_is_still_refused(
    chief: Clinician, escalated: Thread, staff_web_for: Callable[[User], Client]
) -> None:
    client = staff_web_for(chief.user)
    client.post(break_glass_url(escalated.id), {"reason": REASON})
    messages_before = Message.objects.filter(thread=escalated).count()

    reply = client.post(
        thread_url(escalated.id),
        {"action": "reply", "reply-body": "I will take this.", "reply-client_id": "web-x"},
    )
    claim = client.post(f"/staff/threads/{escalated.id}/claim/")

    assert (reply.status_code, claim.status_code) == (404, 404)
    # A refused write is the plain 404, not the offer again.
    assert OFFER not in reply.content.decode()
    assert Message.objects.filter(thread=escalated).count() == messages_before
    escalated.refresh_from_db()
    assert escalated.assignee_id is None


def test_once_the_grant_has_expired_the_offer_is_back(
    chief: Clinician,
    escalated: Thread,
    clock: time_machine.Traveller,
    staff_web_for: Callable[[User], Client],
) -> None:
    client = staff_web_for(chief.user)
    client.post(break_glass_url(escalated.id), {"reason": REASON})
    grant = BreakGlassGrant.objects.get()
    clock.shift(grant.expires_at - grant.created_at + timedelta(seconds=1))

    response = client.get(thread_url(escalated.id))

    assert response.status_code == 403
    assert OFFER in response.content.decode()


def test_a_recipient_now_on_the_care_team_simply_reads_the_thread(
    patient: Patient,
    chief: Clinician,
    escalated: Thread,
    staff_web_for: Callable[[User], Client],
) -> None:
    CareTeamMember.objects.create(care_team=patient.care_team, user=chief.user)
    client = staff_web_for(chief.user)

    page = client.get(thread_url(escalated.id))
    posted = client.post(break_glass_url(escalated.id), {"reason": REASON})

    assert page.status_code == 200
    assert BODY in page.content.decode()
    assert 'id="id_reply-body"' in page.content.decode()  # on the team: the forms are back
    assert "Read-only" not in page.content.decode()
    assert posted["Location"] == thread_url(escalated.id)
    assert not BreakGlassGrant.objects.exists()


def test_a_clinician_not_called_in_gets_the_plain_404(
    patient: Patient,
    other_clinician: Clinician,
    escalated: Thread,
    staff_web_for: Callable[[User], Client],
) -> None:
    client = staff_web_for(other_clinician.user)

    theirs = client.get(thread_url(escalated.id))
    missing = client.get(thread_url(uuid.uuid4()))
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


def test_the_offer_is_for_the_escalated_thread_only(
    patient: Patient,
    chief: Clinician,
    escalated: Thread,
    staff_web_for: Callable[[User], Client],
) -> None:
    # Another thread of the same patient, never escalated: the chief was not called in on it.
    quiet = open_thread(patient, subject="A billing question", body="Was I charged twice?")
    client = staff_web_for(chief.user)

    response = client.get(thread_url(quiet.id))
    posted = client.post(break_glass_url(quiet.id), {"reason": REASON})

    assert (response.status_code, posted.status_code) == (404, 404)
    assert OFFER not in response.content.decode()
    assert not BreakGlassGrant.objects.exists()


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("coordinator", 404),  # coordinators cannot break the glass: the thread's plain 404
        ("scheduler", 403),  # the workspace's refusal, as today
        ("admin", 403),  # admins break the glass in the administration site
    ],
)
def test_other_roles_named_on_an_escalation_get_todays_answer(
    role: str,
    status: int,
    patient: Patient,
    thread: Thread,
    staff_web_for: Callable[[User], Client],
) -> None:
    # Off the care team, and recorded on a step of the thread's ladder all the same.
    someone = UserFactory(role=Role(role), email=f"called-in-{role}@example.test")
    assert thread.awaiting_since is not None  # the patient's message started the clock
    EscalationStep.objects.create(
        thread=thread,
        awaiting_since=thread.awaiting_since,
        step=EscalationStep.Step.ASSIGNEE_AND_COORDINATORS,
        recipient_ids=[str(someone.id)],
    )
    client = staff_web_for(someone)

    theirs = client.get(thread_url(thread.id))
    missing = client.get(thread_url(uuid.uuid4()))
    posted = client.post(break_glass_url(thread.id), {"reason": REASON})

    assert (theirs.status_code, missing.status_code, posted.status_code) == (status,) * 3
    assert _without_csrf_token(theirs.content) == _without_csrf_token(missing.content)
    assert OFFER not in theirs.content.decode()
    assert not BreakGlassGrant.objects.exists()
