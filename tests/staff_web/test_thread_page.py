"""A thread in the workspace: the patient header, messages and internal notes told apart, the
triage hit with its matched words, reply and note composers (idempotent by client id), the
live-update fragment, and the patient never seeing a note."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from carecore.accounts import services as account_services
from carecore.accounts.models import Clinician, Patient, User
from carecore.audit.models import AuditEvent
from carecore.common.throttling import UserRateThrottle
from messaging import services
from messaging.models import Message
from staff_web import pages
from tests.messaging.conftest import WORKING_MOMENT, open_thread
from tests.patient_web.conftest import sign_in as patient_sign_in

pytestmark = pytest.mark.django_db

# Session and user, feed position, the thread read and audited, its messages and their audit,
# the thread's detail, mark-read (its access, audit and `message.read` event), the patient and
# care team, open red flags, whether the reader may write: none of it per message.
THREAD_PAGE_QUERIES = 25


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(WORKING_MOMENT, tick=False) as traveller:
        yield traveller


@pytest.mark.parametrize("role", ["clinician", "coordinator"])
def test_the_thread_page_shows_the_patient_header_messages_and_notes(
    role: str,
    actors: dict[str, User],
    patient: Patient,
    clinician: Clinician,
    coordinator: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    thread = open_thread(patient, subject="Cannot breathe", body="I have chest pain when I walk")
    services.message_send(
        actor=coordinator, thread_id=thread.id, body="Paging the lead now.", internal=True
    )

    response = staff_web_for(actors[role]).get(f"/staff/threads/{thread.id}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert patient.user.full_name in html
    assert "<dt>Age</dt>" in html and "<dt>State</dt>" in html
    assert clinician.user.full_name in html  # care team
    assert "<dt>Open red flags</dt>" in html
    assert "I have chest pain when I walk" in html
    assert '<p class="message__label">Internal note</p>' in html
    assert "Paging the lead now." in html
    assert "<mark>chest pain</mark>" in html  # the triage hit's matched words
    assert 'data-updates-url="/staff/threads/' in html
    assert "portal/live-thread" in html


def test_reply_and_note_from_the_page_and_the_patient_never_sees_the_note(
    patient: Patient,
    clinician: Clinician,
    staff_web_for: Callable[[User], Client],
) -> None:
    thread = open_thread(patient, subject="Itchy again")
    client = staff_web_for(clinician.user)

    noted = client.post(
        f"/staff/threads/{thread.id}/",
        {"action": "note", "note-body": "Check the last plan first.", "note-client_id": "n-1"},
    )
    replied = client.post(
        f"/staff/threads/{thread.id}/",
        {"action": "reply", "reply-body": "Please send a photo.", "reply-client_id": "r-1"},
    )
    again = client.post(
        f"/staff/threads/{thread.id}/",
        {"action": "reply", "reply-body": "Please send a photo.", "reply-client_id": "r-1"},
    )

    assert noted.status_code == replied.status_code == again.status_code == 302
    note = Message.objects.get(thread=thread, client_id="n-1")
    reply = Message.objects.get(thread=thread, client_id="r-1")
    assert note.internal and not reply.internal
    assert Message.objects.filter(thread=thread).count() == 3  # the repeat made nothing new
    staff_html = client.get(f"/staff/threads/{thread.id}/").content.decode()
    assert "Check the last plan first." in staff_html
    patient_client = Client()
    patient_sign_in(patient_client, patient.user)
    patient_html = patient_client.get(f"/messages/{thread.id}/").content.decode()
    assert "Please send a photo." in patient_html
    assert "Check the last plan first." not in patient_html


def test_an_empty_reply_is_refused_next_to_its_field(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    thread = open_thread(patient)

    response = staff_web_for(clinician.user).post(
        f"/staff/threads/{thread.id}/",
        {"action": "reply", "reply-body": "", "reply-client_id": "r-2"},
    )

    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert Message.objects.filter(thread=thread).count() == 1


def test_the_updates_fragment_has_what_came_after(
    patient: Patient,
    clinician: Clinician,
    coordinator: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    thread = open_thread(patient)
    client = staff_web_for(clinician.user)
    services.message_send(actor=coordinator, thread_id=thread.id, body="A note.", internal=True)
    services.message_send(actor=patient.user, thread_id=thread.id, body="And another thing.")

    response = client.get(f"/staff/threads/{thread.id}/updates/?after=1")

    html = response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert "My eczema is itchy again." not in html
    assert 'data-position="2"' in html and "Internal note" in html
    assert "And another thing." in html
    assert client.get(f"/staff/threads/{thread.id}/updates/?after=3").content.strip() == b""


def test_assign_to_a_care_team_member_from_the_thread(
    patient: Patient,
    clinician: Clinician,
    coordinator: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    thread = open_thread(patient)
    client = staff_web_for(clinician.user)

    response = client.post(
        f"/staff/threads/{thread.id}/assign/", {"assignee": str(coordinator.id), "back": "thread"}
    )

    assert response["Location"] == f"/staff/threads/{thread.id}/"
    thread.refresh_from_db()
    assert thread.assignee_id == coordinator.id


def test_a_break_glass_reader_changes_nothing_the_patient_or_the_care_team_sees(
    patient: Patient,
    clinician: Clinician,
    coordinator: User,
    other_clinician: Clinician,
    staff_web_for: Callable[[User], Client],
) -> None:
    thread = open_thread(patient, body="Is this cream safe?")
    account_services.break_glass_open(
        user=other_clinician.user,
        patient_id=patient.id,
        reason="Patient called the on-call line at night, their team was unreachable.",
    )
    patient_client = Client()
    patient_sign_in(patient_client, patient.user)
    reader = staff_web_for(other_clinician.user)

    opened = reader.get(f"/staff/threads/{thread.id}/")
    updates = reader.get(f"/staff/threads/{thread.id}/updates/?after=0")

    assert opened.status_code == updates.status_code == 200
    assert "Is this cream safe?" in opened.content.decode()
    # Nobody on the care team has read it: the patient is not told otherwise.
    assert (
        "Seen by your care team"
        not in patient_client.get(f"/messages/{thread.id}/").content.decode()
    )
    for member in (clinician.user, coordinator):
        inbox = staff_web_for(member).get("/staff/").content.decode()
        assert '<span class="badge">1<span class="visually-hidden"> unread</span>' in inbox

    staff_web_for(coordinator).get(f"/staff/threads/{thread.id}/")

    assert (
        "Seen by your care team" in patient_client.get(f"/messages/{thread.id}/").content.decode()
    )


def test_the_assignee_select_offers_only_active_care_team_members(
    patient: Patient,
    clinician: Clinician,
    coordinator: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    thread = open_thread(patient)
    coordinator.is_active = False
    coordinator.save(update_fields=["is_active"])

    html = staff_web_for(clinician.user).get(f"/staff/threads/{thread.id}/").content.decode()

    assert f'<option value="{clinician.user.id}">{clinician.user.full_name}</option>' in html
    assert str(coordinator.id) not in html  # deactivated: not offered (the inbox's rule)


def test_a_holder_who_may_no_longer_be_assigned_is_still_shown_as_the_holder(
    patient: Patient,
    clinician: Clinician,
    coordinator: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    """Deactivated while holding the thread: the select says who holds it (not "Nobody"),
    and the header's care team lists active members only."""
    thread = open_thread(patient)
    services.thread_assign(actor=clinician.user, thread_id=thread.id, assignee_id=coordinator.id)
    coordinator.is_active = False
    coordinator.save(update_fields=["is_active"])
    client = staff_web_for(clinician.user)

    for page in (f"/staff/threads/{thread.id}/", "/staff/"):
        html = client.get(page).content.decode()

        assert (
            f'<option value="{coordinator.id}" selected>{coordinator.full_name} '
            "(can no longer be assigned)</option>"
        ) in html
        assert '<option value="" selected>' not in html
        assert f'<option value="{clinician.user.id}">' in html
    header = client.get(f"/staff/threads/{thread.id}/").content.decode()
    care_team = header.split("<dt>Care team</dt>", 1)[1].split("</dd>", 1)[0]
    assert clinician.user.full_name in care_team
    assert coordinator.full_name not in care_team


def test_a_refused_assignment_is_shown_on_the_thread_after_the_redirect(
    patient: Patient,
    clinician: Clinician,
    coordinator: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    thread = open_thread(patient)
    client = staff_web_for(clinician.user)
    page = client.get(f"/staff/threads/{thread.id}/").content.decode()
    assert f'<option value="{coordinator.id}">' in page
    # Deactivated while the page was open: the page still offers them.
    coordinator.is_active = False
    coordinator.save(update_fields=["is_active"])

    refused = client.post(
        f"/staff/threads/{thread.id}/assign/",
        {"assignee": str(coordinator.id), "back": "thread"},
        follow=True,
    )

    assert refused.redirect_chain == [(f"/staff/threads/{thread.id}/", 302)]
    assert (
        '<p class="notice notice--error" role="alert">The thread was not assigned: '
        "Must be a clinician or coordinator on the care team.</p>"
    ) in refused.content.decode()
    thread.refresh_from_db()
    assert thread.assignee_id is None
    # Shown once.
    assert "not assigned" not in client.get(f"/staff/threads/{thread.id}/").content.decode()


@pytest.mark.parametrize("value", ["not-a-uuid", "1234", "' OR 1=1 --"])
def test_a_malformed_assignee_is_refused_not_an_unassign(
    value: str,
    patient: Patient,
    clinician: Clinician,
    coordinator: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    thread = open_thread(patient)
    services.thread_assign(actor=clinician.user, thread_id=thread.id, assignee_id=coordinator.id)
    client = staff_web_for(clinician.user)

    plain = client.post(
        f"/staff/threads/{thread.id}/assign/", {"assignee": value, "back": "thread"}, follow=True
    )
    in_place = client.post(
        f"/staff/threads/{thread.id}/assign/", {"assignee": value}, headers={"HX-Request": "true"}
    )

    thread.refresh_from_db()
    assert thread.assignee_id == coordinator.id  # unchanged
    assert plain.status_code == 200
    assert (
        'role="alert">The thread was not assigned: '
        "Must be a clinician or coordinator on the care team.</p>"
    ) in plain.content.decode()
    assert (
        'role="alert">Must be a clinician or coordinator on the care team.</p>'
        in in_place.content.decode()
    )


def test_assigning_on_another_teams_thread_is_a_404_whatever_is_posted(
    patient: Patient,
    clinician: Clinician,
    other_clinician: Clinician,
    staff_web_for: Callable[[User], Client],
) -> None:
    thread = open_thread(patient, subject="Not yours")
    client = staff_web_for(other_clinician.user)

    for value in ("not-a-uuid", str(clinician.user.id), ""):
        for headers in ({}, {"HX-Request": "true"}):
            response = client.post(
                f"/staff/threads/{thread.id}/assign/",
                {"assignee": value, "back": "thread"},
                headers=headers,
            )
            assert response.status_code == 404
            assert "Not yours" not in response.content.decode()
    thread.refresh_from_db()
    assert thread.assignee_id is None


def test_reading_the_thread_is_audited_naming_each_message(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    thread = open_thread(patient)

    staff_web_for(clinician.user).get(f"/staff/threads/{thread.id}/")

    message = Message.objects.get(thread=thread)
    assert AuditEvent.objects.filter(
        actor_id=clinician.user.id,
        object_type="message",
        action="list",
        detail__object_ids__contains=[str(message.id)],
    ).exists()


def test_a_long_thread_opens_on_its_latest_messages(
    monkeypatch: pytest.MonkeyPatch,
    patient: Patient,
    clinician: Clinician,
    staff_web_for: Callable[[User], Client],
) -> None:
    monkeypatch.setattr(pages, "LATEST_SHOWN", 3)
    thread = open_thread(patient, body="Message 1.")
    for number in range(2, 6):
        services.message_send(
            actor=clinician.user, thread_id=thread.id, body=f"Message {number}.", internal=True
        )
    client = staff_web_for(clinician.user)

    html = client.get(f"/staff/threads/{thread.id}/").content.decode()
    everything = client.get(f"/staff/threads/{thread.id}/?all=1").content.decode()

    assert "Message 1." not in html and "Message 2." not in html
    assert all(f"Message {n}." in html for n in (3, 4, 5))
    assert '<a href="?all=1">Show 2 earlier messages</a>' in html
    assert all(f"Message {n}." in everything for n in range(1, 6))
    assert "earlier message" not in everything


def test_the_headers_open_red_flags_are_audited_in_one_event_naming_each(
    patient: Patient,
    other_patient: Patient,
    clinician: Clinician,
    questionnaires: None,
    clock: time_machine.Traveller,
    staff_web_for: Callable[[User], Client],
) -> None:
    from .test_plan_pages import intake_done

    first = intake_done(patient, **{"rf-rectal-bleeding": True})
    clock.shift(60)  # the header shows the oldest first: the clock is frozen
    second = intake_done(patient, **{"rf-rectal-bleeding": True})
    intake_done(other_patient, **{"rf-rectal-bleeding": True})  # not this thread's patient
    thread = open_thread(patient)

    html = staff_web_for(clinician.user).get(f"/staff/threads/{thread.id}/").content.decode()

    assert "<dt>Open red flags</dt><dd>None" not in html
    # One LIST event for the one patient in the header, naming both reviews in the order shown.
    events = AuditEvent.objects.filter(
        actor_id=clinician.user.id, object_type="intake_review", action="list"
    )
    assert [(event.patient_id, event.object_id, event.detail) for event in events] == [
        (patient.id, "", {"object_ids": [str(first.id), str(second.id)]})
    ]


def test_no_open_red_flags_write_no_event(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    thread = open_thread(patient)

    html = staff_web_for(clinician.user).get(f"/staff/threads/{thread.id}/").content.decode()

    assert "<dt>Open red flags</dt><dd>None" in html
    assert not AuditEvent.objects.filter(object_type="intake_review").exists()


def test_over_the_users_budget_the_workspace_answers_429_with_retry_after(
    patient: Patient,
    clinician: Clinician,
    staff_web_for: Callable[[User], Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The API's per-user budget (carecore/common/throttling.py), small here.
    monkeypatch.setattr(UserRateThrottle, "rate", "2/min")
    thread = open_thread(patient)
    client = staff_web_for(clinician.user)

    allowed = [
        client.get(f"/staff/threads/{thread.id}/"),
        client.get(f"/staff/threads/{thread.id}/updates/?after=0"),
    ]
    refused_reply = client.post(
        f"/staff/threads/{thread.id}/",
        {"action": "reply", "reply-body": "Over the budget.", "reply-client_id": "r-9"},
    )
    refused_claim = client.post(f"/staff/threads/{thread.id}/claim/")

    assert [response.status_code for response in allowed] == [200, 200]
    for refused in (refused_reply, refused_claim):
        assert refused.status_code == 429
        assert 0 < int(refused["Retry-After"]) <= 60
    assert not Message.objects.filter(body="Over the budget.").exists()


def test_page_titles_carry_no_patient_text(
    patient: Patient,
    clinician: Clinician,
    staff_web_for: Callable[[User], Client],
) -> None:
    """A title goes where the page's body does not: tab strips on a shared screen, browser
    history and its sync (docs/security.md, "Page titles"). The name and subject stay in the
    page's heading."""
    thread = open_thread(patient, subject="Flare on my arms")
    client = staff_web_for(clinician.user)
    pages = {
        f"/staff/threads/{thread.id}/": "Conversation",
        f"/staff/patients/{patient.id}/": "Patient chart",
        f"/staff/patients/{patient.id}/care-plan/": "Care plan",
    }

    for path, title in pages.items():
        html = client.get(path).content.decode()

        assert f"<title>{title} · CareCore workspace</title>" in html
        assert patient.user.full_name in html  # in the page, not in its title
    thread_page = client.get(f"/staff/threads/{thread.id}/").content.decode()
    assert "<h1>Flare on my arms" in thread_page or ">Flare on my arms<" in thread_page


def test_the_thread_pages_query_count_is_pinned_and_does_not_grow_with_messages(
    patient: Patient,
    clinician: Clinician,
    staff_web_for: Callable[[User], Client],
) -> None:
    """The page reads the thread, its messages, their attachments, the care team, open red
    flags and whether the reader may write, each once, however many messages are shown."""
    thread = open_thread(patient)
    client = staff_web_for(clinician.user)
    client.get(f"/staff/threads/{thread.id}/")  # the session's first request warms its caches
    # Each measured view has something new to mark read (and to announce as read).
    services.message_send(actor=patient.user, thread_id=thread.id, body="One more question.")

    with CaptureQueriesContext(connection) as short:
        client.get(f"/staff/threads/{thread.id}/")
    for number in range(15):
        services.message_send(actor=clinician.user, thread_id=thread.id, body=f"Answer {number}")
        services.message_send(actor=patient.user, thread_id=thread.id, body=f"Thanks {number}")
    with CaptureQueriesContext(connection) as long:
        client.get(f"/staff/threads/{thread.id}/")

    assert len(long.captured_queries) == len(short.captured_queries) == THREAD_PAGE_QUERIES
