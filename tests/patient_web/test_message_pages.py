"""Messages on the patient's pages: list with unread markers, a new thread with a photo, the
thread with replies, read receipts and the crisis auto-reply; sends are idempotent by client id;
someone else's thread is a 404 (audited); every message shown is audited."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from PIL import Image

from carecore.accounts.models import Clinician, Patient, User
from carecore.audit.models import Action, AuditEvent, Outcome
from carecore.common.throttling import UserRateThrottle
from messaging import services
from messaging.models import Attachment, Message, Thread
from tests.messaging.conftest import WORKING_MOMENT, open_thread

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _working_hours() -> Iterator[None]:
    with time_machine.travel(WORKING_MOMENT, tick=False):
        yield


def png(name: str = "rash.png") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (12, 12), (200, 40, 40)).save(out, format="PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def reply(clinician: Clinician, thread: Thread, body: str = "Please send a photo.") -> Message:
    return services.message_send(actor=clinician.user, thread_id=thread.id, body=body).message


def test_it_lists_the_patients_threads_with_unread_markers_and_audits_them(
    patient: Patient,
    other_patient: Patient,
    clinician: Clinician,
    web_for: Callable[[User], Client],
) -> None:
    answered = open_thread(patient, subject="Flare on my arms")
    reply(clinician, answered)
    quiet = open_thread(patient, subject="Billing question", category="billing")
    open_thread(other_patient, subject="Someone else's thread")

    html = web_for(patient.user).get("/messages/").content.decode()

    assert "Flare on my arms" in html
    assert "1 unread" in html
    assert "Billing question" in html
    assert "Someone else" not in html
    # One event for the page (one patient), naming every thread shown.
    (listed,) = AuditEvent.objects.filter(
        actor_id=patient.user.id, action=Action.LIST, object_type="message_thread"
    )
    assert set(listed.detail["object_ids"]) == {str(answered.id), str(quiet.id)}
    assert listed.patient_id == patient.id


def test_it_opens_a_thread_with_a_photo_once_however_often_the_form_is_sent(
    patient: Patient, clinician: Clinician, web_for: Callable[[User], Client]
) -> None:
    client = web_for(patient.user)
    form = client.get("/messages/new/").content.decode()
    assert 'accept="image/*" capture="environment"' in form
    fields = {
        "subject": "New spots",
        "category": "clinical",
        "body": "Spots on my neck since Monday.",
        "client_id": "web-test-1",
    }

    first = client.post("/messages/new/", {**fields, "camera": png()})
    again = client.post("/messages/new/", {**fields, "camera": png()})

    thread = Thread.objects.get(patient=patient)
    assert first["Location"] == again["Location"] == f"/messages/{thread.id}/"
    assert Message.objects.filter(thread=thread).count() == 1
    message = Message.objects.get(thread=thread)
    assert Attachment.objects.filter(message=message).count() == 1
    page = client.get(f"/messages/{thread.id}/").content.decode()
    attachment = Attachment.objects.get(message=message)
    assert f'src="/api/v1/attachments/{attachment.id}/"' in page
    assert client.get(f"/api/v1/attachments/{attachment.id}/").status_code == 200


def test_it_puts_the_services_errors_next_to_the_fields(
    patient: Patient, web_for: Callable[[User], Client]
) -> None:
    client = web_for(patient.user)
    fields = {"category": "clinical", "body": "x", "client_id": "c"}

    def not_an_image() -> SimpleUploadedFile:
        return SimpleUploadedFile("notes.png", b"hello", content_type="image/png")

    response = client.post("/messages/new/", {**fields, "subject": "", "photos": not_an_image()})
    assert 'href="#id_subject"' in response.content.decode()

    response = client.post("/messages/new/", {**fields, "subject": "s", "photos": not_an_image()})
    assert "Only JPEG, PNG and PDF files are accepted." in response.content.decode()
    assert not Thread.objects.filter(patient=patient).exists()


def test_it_sends_a_reply_once_per_client_id(
    patient: Patient, web_for: Callable[[User], Client]
) -> None:
    thread = open_thread(patient)
    client = web_for(patient.user)

    for _ in range(2):
        response = client.post(
            f"/messages/{thread.id}/", {"body": "It is spreading.", "client_id": "web-reply-1"}
        )
        assert response.status_code == 302

    assert Message.objects.filter(thread=thread, body="It is spreading.").count() == 1
    message = Message.objects.get(thread=thread, body="It is spreading.")
    assert response["Location"] == f"/messages/{thread.id}/#message-{message.id}"


def test_it_shows_the_thread_marks_it_read_and_shows_read_receipts(
    patient: Patient, clinician: Clinician, web_for: Callable[[User], Client]
) -> None:
    thread = open_thread(patient, body="Is this cream safe?")
    client = web_for(patient.user)
    html = client.get(f"/messages/{thread.id}/").content.decode()
    assert "Seen by your care team" not in html

    services.thread_mark_read(actor=clinician.user, thread_id=thread.id)
    reply(clinician, thread, "Yes, twice a day.")
    html = client.get(f"/messages/{thread.id}/").content.decode()

    assert "Seen by your care team" in html
    assert "Yes, twice a day." in html
    assert clinician.user.full_name in html
    assert "0 unread" not in client.get("/messages/").content.decode()
    assert "unread" not in client.get("/messages/").content.decode().split("<main")[1]


def test_it_shows_the_crisis_reply_prominently_with_the_number_to_call(
    patient: Patient, clinician: Clinician, web_for: Callable[[User], Client]
) -> None:
    client = web_for(patient.user)

    response = client.post(
        "/messages/new/",
        {
            "subject": "Can't go on",
            "category": "clinical",
            "body": "I want to kill myself.",
            "client_id": "web-crisis",
        },
        follow=True,
    )

    html = response.content.decode()
    assert '<div class="alert" role="alert">' in html
    assert "988" in html
    assert 'href="tel:988"' in html
    assert 'href="sms:988"' in html


def test_it_hands_the_script_only_the_messages_after_a_position(
    patient: Patient, clinician: Clinician, web_for: Callable[[User], Client]
) -> None:
    thread = open_thread(patient, body="First question.")
    client = web_for(patient.user)
    client.get(f"/messages/{thread.id}/")
    reply(clinician, thread, "First answer.")

    fragment = client.get(f"/messages/{thread.id}/updates/?after=1")

    assert fragment["Cache-Control"] == "no-store"
    html = fragment.content.decode()
    assert "First answer." in html
    assert "First question." not in html
    assert client.get(f"/messages/{thread.id}/updates/?after=2").content.decode().strip() == ""
    # Shown live means read.
    assert "unread" not in client.get("/messages/").content.decode().split("<main")[1]


@pytest.mark.parametrize("path", ["", "updates/"])
def test_it_answers_404_for_another_patients_thread_and_audits_the_denial(
    path: str, patient: Patient, other_patient: Patient, web_for: Callable[[User], Client]
) -> None:
    theirs = open_thread(other_patient)

    response = web_for(patient.user).get(f"/messages/{theirs.id}/{path}")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert AuditEvent.objects.filter(
        actor_id=patient.user.id, object_id=str(theirs.id), outcome=Outcome.DENIED
    ).exists()


def test_it_refuses_a_reply_into_another_patients_thread(
    patient: Patient, other_patient: Patient, web_for: Callable[[User], Client]
) -> None:
    theirs = open_thread(other_patient)

    response = web_for(patient.user).post(
        f"/messages/{theirs.id}/", {"body": "hello", "client_id": "x"}
    )

    assert response.status_code == 404
    assert not Message.objects.filter(body="hello").exists()
    assert AuditEvent.objects.filter(
        actor_id=patient.user.id, object_id=str(theirs.id), outcome=Outcome.DENIED
    ).exists()


def test_it_refuses_the_clinician_the_patients_message_pages(
    patient: Patient, clinician: Clinician, web_for: Callable[[User], Client]
) -> None:
    thread = open_thread(patient)
    client = web_for(clinician.user)

    assert client.get("/messages/").status_code == 403
    assert client.get(f"/messages/{thread.id}/").status_code == 403


def test_the_thread_page_costs_the_same_queries_whatever_its_length(
    patient: Patient, clinician: Clinician, web_for: Callable[[User], Client]
) -> None:
    # Each time one new reply or fifteen: the page reads, audits and marks read in one go.
    thread = open_thread(patient)
    client = web_for(patient.user)
    client.get(f"/messages/{thread.id}/")
    reply(clinician, thread)
    with CaptureQueriesContext(connection) as short:
        client.get(f"/messages/{thread.id}/")
    for number in range(15):
        reply(clinician, thread, f"Answer {number}")
    with CaptureQueriesContext(connection) as long:
        client.get(f"/messages/{thread.id}/")

    assert len(long.captured_queries) == len(short.captured_queries)


def test_a_long_thread_opens_on_its_latest_messages(
    patient: Patient, clinician: Clinician, web_for: Callable[[User], Client]
) -> None:
    thread = open_thread(patient, body="The very first message.")
    for number in range(55):
        reply(clinician, thread, f"Answer number {number}.")
    client = web_for(patient.user)

    html = client.get(f"/messages/{thread.id}/").content.decode()

    assert "The very first message." not in html
    assert "Answer number 54." in html
    assert "Show 6 earlier messages" in html
    assert "The very first message." in client.get(f"/messages/{thread.id}/?all=1").content.decode()


def test_sends_and_the_updates_fragment_over_the_users_budget_answer_429_with_retry_after(
    patient: Patient, web_for: Callable[[User], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The API's per-user budget (carecore/common/throttling.py), small here; signing in is the
    # per-ip `auth` throttle's and does not count.
    monkeypatch.setattr(UserRateThrottle, "rate", "3/min")
    thread = open_thread(patient)
    client = web_for(patient.user)
    updates = f"/messages/{thread.id}/updates/?after=0"

    allowed = [
        client.post(f"/messages/{thread.id}/", {"body": "First.", "client_id": "b-1"}),
        client.get(updates),
        client.post(f"/messages/{thread.id}/", {"body": "Second.", "client_id": "b-2"}),
    ]
    refused_send = client.post(f"/messages/{thread.id}/", {"body": "Third.", "client_id": "b-3"})
    refused_new = client.post(
        "/messages/new/",
        {"subject": "s", "category": "clinical", "body": "Fourth.", "client_id": "b-4"},
    )
    refused_fragment = client.get(updates)

    assert [response.status_code for response in allowed] == [302, 200, 302]
    for refused in (refused_send, refused_new, refused_fragment):
        assert refused.status_code == 429
        assert 0 < int(refused["Retry-After"]) <= 60
    assert "Too many requests" in refused_send.content.decode()
    assert not Message.objects.filter(body__in=["Third.", "Fourth."]).exists()


# --- photos are stored only for a send that uses them --------------------------------------------


def stored_files() -> set[str]:
    folder = Path(settings.MEDIA_ROOT) / "attachments"
    return {path.name for path in folder.iterdir()} if folder.exists() else set()


def not_an_image(name: str = "notes.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"hello", content_type="image/png")


def assert_nothing_left_unsent(user: User, files_before: set[str]) -> None:
    assert not Attachment.objects.filter(uploaded_by=user, message__isnull=True).exists()
    assert stored_files() == files_before


@pytest.mark.parametrize("page", ["new", "reply"])
def test_a_refused_photo_leaves_none_of_the_forms_photos_stored(
    page: str, patient: Patient, web_for: Callable[[User], Client]
) -> None:
    thread = open_thread(patient)
    client = web_for(patient.user)
    before = stored_files()
    fields = {"subject": "s", "category": "clinical", "body": "Two photos.", "client_id": "p-1"}
    path = "/messages/new/" if page == "new" else f"/messages/{thread.id}/"

    # The first photo is fine and stored; the second is refused.
    response = client.post(path, {**fields, "photos": [png("good.png"), not_an_image()]})

    assert response.status_code == 200
    assert "notes.png: Only JPEG, PNG and PDF files are accepted." in response.content.decode()
    assert not Message.objects.filter(body="Two photos.").exists()
    assert_nothing_left_unsent(patient.user, before)


def test_a_send_that_fails_leaves_its_photos_unstored(
    patient: Patient, web_for: Callable[[User], Client]
) -> None:
    first = open_thread(patient, subject="First")
    second = open_thread(patient, subject="Second")
    client = web_for(patient.user)
    assert client.post(f"/messages/{first.id}/", {"body": "Hi.", "client_id": "used"}).status_code
    before = stored_files()

    # The same client_id in another thread: the send is refused (client_id_reused).
    response = client.post(
        f"/messages/{second.id}/", {"body": "Photo.", "client_id": "used", "camera": png()}
    )

    assert response.status_code == 200
    assert "already used" in response.content.decode()
    assert_nothing_left_unsent(patient.user, before)


@pytest.mark.parametrize("page", ["new", "reply"])
def test_a_resent_form_keeps_the_first_sends_photo_and_stores_no_other(
    page: str, patient: Patient, web_for: Callable[[User], Client]
) -> None:
    thread = open_thread(patient)
    client = web_for(patient.user)
    fields = {"subject": "s", "category": "clinical", "body": "With a photo.", "client_id": "p-2"}
    path = "/messages/new/" if page == "new" else f"/messages/{thread.id}/"
    assert client.post(path, {**fields, "camera": png()}).status_code == 302
    before = stored_files()

    again = client.post(path, {**fields, "camera": png()})

    assert again.status_code == 302
    message = Message.objects.get(body="With a photo.")
    assert Attachment.objects.filter(message=message).count() == 1
    assert_nothing_left_unsent(patient.user, before)


def test_a_reply_into_another_patients_thread_stores_no_photo(
    patient: Patient, other_patient: Patient, web_for: Callable[[User], Client]
) -> None:
    theirs = open_thread(other_patient)
    client = web_for(patient.user)
    before = stored_files()

    response = client.post(
        f"/messages/{theirs.id}/", {"body": "hello", "client_id": "x", "camera": png()}
    )

    assert response.status_code == 404
    assert_nothing_left_unsent(patient.user, before)
    # Refused before any photo was looked at: no upload was even recorded.
    assert not AuditEvent.objects.filter(
        actor_id=patient.user.id, object_type="message_attachment"
    ).exists()


def test_a_reply_with_photos_sends_them_with_the_message(
    patient: Patient, web_for: Callable[[User], Client]
) -> None:
    thread = open_thread(patient)
    client = web_for(patient.user)
    before = stored_files()

    response = client.post(
        f"/messages/{thread.id}/",
        {"body": "Two angles.", "client_id": "p-3", "camera": png(), "photos": [png("b.png")]},
    )

    assert response.status_code == 302
    message = Message.objects.get(body="Two angles.")
    sent = list(Attachment.objects.filter(message=message))
    assert len(sent) == 2
    assert stored_files() == before | {attachment.storage_name for attachment in sent}
    assert not Attachment.objects.filter(uploaded_by=patient.user, message__isnull=True).exists()


@override_settings(CARECORE_MESSAGING_UNSENT_ATTACHMENTS_MAX=2)
def test_failed_sends_never_use_up_the_unsent_photo_allowance(
    patient: Patient, other_patient: Patient, web_for: Callable[[User], Client]
) -> None:
    thread = open_thread(patient)
    theirs = open_thread(other_patient)
    client = web_for(patient.user)
    for attempt in range(3):
        client.post(
            f"/messages/{thread.id}/",
            {"body": "x", "client_id": f"f-{attempt}", "photos": [png(), not_an_image()]},
        )
        client.post(f"/messages/{theirs.id}/", {"body": "x", "client_id": "y", "camera": png()})

    response = client.post(
        f"/messages/{thread.id}/", {"body": "At last.", "client_id": "ok", "camera": png()}
    )

    assert response.status_code == 302
    assert Attachment.objects.filter(message__body="At last.").count() == 1


def test_the_thread_pages_title_carries_no_subject(
    patient: Patient, web_for: Callable[[User], Client]
) -> None:
    """The subject is the patient's words: in the heading, not in the title that browser
    history keeps (docs/security.md, "Page titles")."""
    thread = open_thread(patient, subject="Flare on my arms")

    html = web_for(patient.user).get(f"/messages/{thread.id}/").content.decode()

    assert "<title>Conversation · CareCore</title>" in html
    assert "Flare on my arms" in html
