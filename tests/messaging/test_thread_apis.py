"""Threads and messages, role by role: who lists, reads, opens and writes; outsiders get 404,
schedulers 403; audit events; pagination; query counts that do not grow with rows."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from carecore.accounts.models import BreakGlassGrant, CareTeamMember, Role, User
from carecore.audit.models import AuditEvent
from messaging import selectors, services
from messaging.apis import MessageOutput
from messaging.models import Message, Thread

from ..factories import PatientFactory, UserFactory
from .conftest import open_thread
from .test_attachments import PDF, send_with, upload

pytestmark = pytest.mark.django_db

THREADS = "/api/v1/threads/"


def detail(thread_id: object) -> str:
    return f"{THREADS}{thread_id}/"


def messages(thread_id: object) -> str:
    return f"{THREADS}{thread_id}/messages/"


def ids(response) -> set[str]:
    return {row["id"] for row in response.json()["results"]}


# --- list ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "sees"),
    [
        ("patient", {"thread"}),
        ("other_patient", {"other_thread"}),
        ("clinician", {"thread"}),
        ("coordinator", {"thread"}),
        ("other_clinician", {"other_thread"}),
        ("admin", set()),
    ],
)
def test_the_thread_list_holds_exactly_what_each_role_may_see(
    actors, client_for, thread, other_thread, actor, sees
):
    names = {"thread": str(thread.id), "other_thread": str(other_thread.id)}

    response = client_for(actors[actor]).get(THREADS)

    assert response.status_code == 200
    assert ids(response) == {names[name] for name in sees}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "list"),
        ("post", "list"),
        ("get", "detail"),
        ("get", "messages"),
        ("post", "messages"),
        ("post", "read"),
        ("post", "assign"),
        ("post", "close"),
        ("post", "reopen"),
    ],
)
def test_schedulers_get_403_on_every_thread_endpoint(client_for, scheduler, thread, method, path):
    urls = {
        "list": THREADS,
        "detail": detail(thread.id),
        "messages": messages(thread.id),
        "read": f"{detail(thread.id)}read/",
        "assign": f"{detail(thread.id)}assign/",
        "close": f"{detail(thread.id)}close/",
        "reopen": f"{detail(thread.id)}reopen/",
    }

    response = getattr(client_for(scheduler), method)(urls[path], {"body": "x"})

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("path", ["list", "detail", "messages"])
def test_anonymous_callers_get_401(anon, thread, path):
    urls = {"list": THREADS, "detail": detail(thread.id), "messages": messages(thread.id)}
    assert anon.get(urls[path]).status_code == 401


def test_the_thread_list_query_count_does_not_grow_with_rows(
    client_for, patient, clinician, django_assert_num_queries
):
    client = client_for(clinician.user)
    for _ in range(2):
        open_thread(patient)
    # the token with its user (no patient row for staff), the threads page (the clinician's
    # patients found in it; read-state and assignee joins), the page's previews and its
    # patients' names (one query), one audit INSERT (one event naming every patient shown)
    with django_assert_num_queries(4):
        first = client.get(THREADS)
    for _ in range(3):
        open_thread(PatientFactory(state="NY"))
    with django_assert_num_queries(4):
        second = client.get(THREADS)

    assert len(first.json()["results"]) == 2
    assert len(second.json()["results"]) == 5


def test_a_patients_thread_list_query_count_does_not_grow_with_rows(
    client_for, patient, django_assert_num_queries
):
    client = client_for(patient.user)
    open_thread(patient)
    # the token with its user and the user's patient row (visibility), threads page, the
    # previews of the page (no names for a patient), audit INSERT
    with django_assert_num_queries(4):
        client.get(THREADS)
    for _ in range(4):
        open_thread(patient)
    with django_assert_num_queries(4):
        response = client.get(THREADS)
    assert len(response.json()["results"]) == 5


def test_the_thread_list_is_newest_activity_first_and_paginated(client_for, patient, clock):
    opened = []
    for _ in range(5):
        opened.append(open_thread(patient))
        clock.shift(timedelta(minutes=1))
    client = client_for(patient.user)

    first = client.get(THREADS, {"page_size": 3}).json()
    second = client.get(first["next"]).json()

    listed = [row["id"] for row in first["results"] + second["results"]]
    assert listed == [str(t.id) for t in reversed(opened)]
    assert second["next"] is None


def test_listing_threads_audits_one_event_per_patient_naming_each_thread(
    client_for, clinician, patient, thread
):
    second = open_thread(patient, subject="Another question")
    before = AuditEvent.objects.count()

    shown = [row["id"] for row in client_for(clinician.user).get(THREADS).json()["results"]]

    event = AuditEvent.objects.latest("id")
    assert AuditEvent.objects.count() == before + 1
    assert (event.action, event.object_type, event.object_id) == ("list", "message_thread", "")
    assert event.patient_id == thread.patient_id
    # In the order shown.
    assert event.detail["object_ids"] == shown
    assert set(shown) == {str(second.id), str(thread.id)}


# --- open ---------------------------------------------------------------------------------------


def test_a_patient_opens_a_thread_with_its_first_message(client_for, patient):
    response = client_for(patient.user).post(
        THREADS, {"subject": "Flare", "category": "clinical", "body": "Itchy arms since Monday."}
    )

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "open"
    assert body["priority"] == "routine"
    assert body["patient_id"] == str(patient.id)
    assert body["assignee"] is None
    assert body["unread_count"] == 0  # one's own message is never unread
    assert body["first_response_due_at"] is not None
    assert body["last_message"]["body"] == "Itchy arms since Monday."
    thread = Thread.objects.get(pk=body["id"])
    assert thread.messages.count() == 1


@pytest.mark.parametrize("category", ["clinical", "scheduling", "billing", "technical"])
def test_each_category_is_accepted(client_for, patient, category):
    response = client_for(patient.user).post(
        THREADS, {"subject": "s", "category": category, "body": "b"}
    )
    assert response.status_code == 201
    assert response.json()["category"] == category


def test_an_unknown_category_or_missing_body_is_a_400(client_for, patient):
    client = client_for(patient.user)

    bad = client.post(THREADS, {"subject": "s", "category": "gossip", "body": "b"})
    missing = client.post(THREADS, {"subject": "s", "category": "clinical"})

    assert bad.status_code == missing.status_code == 400
    assert "category" in bad.json()["error"]["fields"]
    assert "body" in missing.json()["error"]["fields"]


def test_a_nul_in_a_subject_or_body_is_a_400_naming_each(client_for, patient, thread):
    # PostgreSQL stores no NUL: DRF's CharField refuses it, a 400 rather than a 500. (A lone
    # surrogate is the JSON parser's to refuse: tests/common/test_parsers.py.)
    client = client_for(patient.user)
    expected = "Null characters are not allowed."

    opened = client.post(
        THREADS, {"subject": "Rash\x00", "category": "clinical", "body": "Itchy\x00"}
    )
    replied = client.post(messages(thread.id), {"body": "Still itchy\x00"})

    assert opened.status_code == replied.status_code == 400
    assert opened.json()["error"]["fields"] == {"subject": [expected], "body": [expected]}
    assert replied.json()["error"]["fields"] == {"body": [expected]}


def test_a_patient_cannot_open_a_thread_for_another_patient(client_for, patient, other_patient):
    response = client_for(patient.user).post(
        THREADS,
        {"subject": "s", "category": "clinical", "body": "b", "patient": str(other_patient.id)},
    )
    assert response.status_code == 404
    assert not Thread.objects.filter(patient=other_patient).exists()


@pytest.mark.parametrize("actor", ["clinician", "coordinator"])
def test_the_care_team_opens_a_thread_for_their_patient(actors, client_for, patient, actor):
    response = client_for(actors[actor]).post(
        THREADS,
        {
            "subject": "Lab results",
            "category": "clinical",
            "body": "Your labs are back.",
            "patient": str(patient.id),
        },
    )

    assert response.status_code == 201
    # The care team spoke first: the ball is in the patient's court and no clock runs.
    assert response.json()["status"] == "waiting_on_patient"
    assert response.json()["first_response_due_at"] is None


def test_staff_must_name_the_patient_and_outsiders_get_404(
    client_for, clinician, other_clinician, patient
):
    unnamed = client_for(clinician.user).post(
        THREADS, {"subject": "s", "category": "clinical", "body": "b"}
    )
    outsider = client_for(other_clinician.user).post(
        THREADS, {"subject": "s", "category": "clinical", "body": "b", "patient": str(patient.id)}
    )

    assert unnamed.status_code == 400
    assert outsider.status_code == 404


def test_admins_cannot_open_threads(client_for, admin_user, patient):
    response = client_for(admin_user).post(
        THREADS, {"subject": "s", "category": "clinical", "body": "b", "patient": str(patient.id)}
    )
    assert response.status_code == 403


# --- detail -------------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ["patient", "clinician", "coordinator"])
def test_the_patient_and_care_team_read_the_thread(actors, client_for, thread, actor):
    response = client_for(actors[actor]).get(detail(thread.id))

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(thread.id)
    assert {"priority", "status", "assignee", "unread_count", "first_response_due_at"} <= set(body)


@pytest.mark.parametrize("actor", ["other_patient", "other_clinician", "admin"])
def test_someone_elses_thread_is_a_404(actors, client_for, thread, actor):
    client = client_for(actors[actor])

    for response in (
        client.get(detail(thread.id)),
        client.get(messages(thread.id)),
        client.post(messages(thread.id), {"body": "hi"}) if actor != "admin" else None,
        client.post(f"{detail(thread.id)}read/") if actor != "admin" else None,
    ):
        if response is not None:
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "not_found"
    assert thread.messages.count() == 1


def test_a_missing_thread_looks_exactly_like_a_forbidden_one(client_for, other_clinician, thread):
    client = client_for(other_clinician.user)

    forbidden = client.get(detail(thread.id))
    missing = client.get(detail(uuid.uuid4()))

    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.json() == missing.json()


def test_a_denied_read_is_audited(client_for, other_clinician, thread):
    client_for(other_clinician.user).get(detail(thread.id))

    event = AuditEvent.objects.latest("id")
    assert (event.outcome, event.object_type, event.object_id) == (
        "denied",
        "message_thread",
        str(thread.id),
    )


def test_an_admin_reads_under_break_glass_but_cannot_write(client_for, admin_user, thread):
    BreakGlassGrant.objects.create(
        user=admin_user,
        patient=thread.patient,
        reason="Complaint investigation",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    client = client_for(admin_user)

    assert client.get(detail(thread.id)).status_code == 200
    assert client.get(messages(thread.id)).status_code == 200
    assert client.post(messages(thread.id), {"body": "hello"}).status_code == 403
    assert client.post(f"{detail(thread.id)}close/").status_code == 403


# --- messages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ["patient", "clinician", "coordinator"])
def test_participants_list_the_messages(actors, client_for, thread, actor):
    response = client_for(actors[actor]).get(messages(thread.id))

    assert response.status_code == 200
    assert [m["body"] for m in response.json()["results"]] == ["My eczema is itchy again."]


@pytest.mark.parametrize("actor", ["patient", "clinician", "coordinator"])
def test_participants_send_messages(actors, client_for, thread, actor):
    response = client_for(actors[actor]).post(messages(thread.id), {"body": "Any update?"})

    assert response.status_code == 201
    body = response.json()
    assert body["body"] == "Any update?"
    assert body["sender"]["id"] == str(actors[actor].id)
    assert body["internal"] is False


def test_messages_come_oldest_first_following_next(client_for, thread, clinician, patient):
    staff = client_for(clinician.user)
    me = client_for(patient.user)
    for n in range(5):
        (staff if n % 2 else me).post(messages(thread.id), {"body": f"m{n}"})

    first = me.get(messages(thread.id), {"page_size": 4}).json()
    # A message sent between the pages lands at the end, never duplicated or skipped.
    staff.post(messages(thread.id), {"body": "late"})
    second = me.get(first["next"]).json()

    bodies = [m["body"] for m in first["results"] + second["results"]]
    assert bodies == ["My eczema is itchy again.", "m0", "m1", "m2", "m3", "m4", "late"]
    assert second["next"] is None


def test_page_size_is_capped_at_200(client_for, thread, patient):
    Message.objects.bulk_create(
        [
            Message(
                thread=thread,
                sender=patient.user,
                sender_kind="patient",
                body=f"b{n}",
                position=n + 2,
                public_position=n + 2,
            )
            for n in range(205)
        ]
    )

    page = client_for(patient.user).get(messages(thread.id), {"page_size": 1000}).json()

    assert len(page["results"]) == 200
    assert page["next"] is not None


def test_the_message_page_query_count_does_not_grow_with_rows(
    client_for, thread, clinician, patient, django_assert_num_queries
):
    client = client_for(clinician.user)
    # the token with its user, the thread (visibility EXISTS), the patient's read state (read
    # receipts), the messages page with senders (and whether each has files), one audit INSERT
    # (the thread's READ event and one LIST event naming every message shown). No attachments
    # on the page: no query for them.
    with django_assert_num_queries(5):
        client.get(messages(thread.id))
    for n in range(6):
        client_for(patient.user).post(messages(thread.id), {"body": f"more {n}"})
    with django_assert_num_queries(5):
        response = client.get(messages(thread.id))
    assert len(response.json()["results"]) == 7


def test_a_message_page_with_attachments_reads_them_in_one_query(
    client_for, thread, clinician, patient, django_assert_num_queries
):
    sender = client_for(patient.user)
    for n in range(3):
        uploads = [upload(sender, PDF, "labs.pdf", "application/pdf").json()["id"] for _ in "ab"]
        sent = sender.post(messages(thread.id), {"body": f"labs {n}", "attachments": uploads})
        assert sent.status_code == 201
    client = client_for(clinician.user)
    # the five queries of a page without attachments, and one for every attachment of the page
    with django_assert_num_queries(6):
        response = client.get(messages(thread.id))
    shown = [len(message["attachments"]) for message in response.json()["results"]]
    assert shown == [0, 2, 2, 2]


def test_a_send_query_count_does_not_grow_with_the_thread_or_the_care_team(
    client_for, thread, patient, django_assert_num_queries
):
    client = client_for(patient.user)
    # The token with its user and patient row; the service's transaction (a savepoint here: 2).
    # The access check reads the thread (visibility) FOR UPDATE. Under the lock: one audit
    # INSERT (the access event and the message's), the message INSERT, the read-state upsert,
    # the thread UPDATE and the announcement INSERT (the worker tells the care team:
    # tests/messaging/test_notifications.py pins its batch). The answer is rendered from what
    # the send wrote: no query.
    with django_assert_num_queries(9):
        assert client.post(messages(thread.id), {"body": "first"}).status_code == 201
    for n in range(5):
        client.post(messages(thread.id), {"body": f"more {n}"})
    for _ in range(3):
        CareTeamMember.objects.create(
            care_team=patient.care_team, user=UserFactory(role=Role.COORDINATOR)
        )
    with django_assert_num_queries(9):
        assert client.post(messages(thread.id), {"body": "again"}).status_code == 201


@pytest.mark.parametrize("reader", ["patient", "clinician"])
def test_the_unread_total_costs_the_same_queries_whatever_the_number_of_threads(
    reader, patient, clinician, django_assert_num_queries
):
    user = User.objects.select_related("patient").get(
        pk=patient.user_id if reader == "patient" else clinician.user_id
    )
    # One aggregate over the reader's threads: a patient's (the patient row came with the user,
    # as the token authentication loads it), or staff's (their patients found in the same query).
    expected = 1
    open_thread(patient)
    with django_assert_num_queries(expected):
        selectors.unread_total(user)
    for _ in range(4):
        open_thread(patient)
    with django_assert_num_queries(expected):
        total = selectors.unread_total(user)
    assert total == (0 if reader == "patient" else 5)


def test_reading_messages_audits_each_message_shown(client_for, clinician, thread):
    before = AuditEvent.objects.filter(object_type="message", action="list").count()

    client_for(clinician.user).get(messages(thread.id))

    assert AuditEvent.objects.filter(object_type="message", action="list").count() == before + 1


def test_sending_is_audited(client_for, clinician, thread):
    response = client_for(clinician.user).post(messages(thread.id), {"body": "Hello"})

    event = AuditEvent.objects.filter(object_type="message", action="create").latest("id")
    assert event.object_id == response.json()["id"]
    assert event.patient_id == thread.patient_id
    assert "Hello" not in str(event.detail)


def test_a_send_writes_its_access_event_and_the_message_event_in_one_request(
    client_for, clinician, thread
):
    before = AuditEvent.objects.count()

    response = client_for(clinician.user).post(
        messages(thread.id), {"body": "Hello", "internal": True}
    )

    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [(e.object_type, e.action, e.object_id) for e in events] == [
        ("message_thread", "update", str(thread.id)),
        ("message", "create", response.json()["id"]),
    ]
    assert {(e.actor_id, e.patient_id, e.request_id) for e in events} == {
        (clinician.user_id, thread.patient_id, events[0].request_id)
    }
    assert events[0].request_id  # the request's own id, on both
    assert events[1].detail == {"internal": True, "attachments": 0}


def test_a_send_to_someone_elses_thread_writes_only_the_denial(client_for, other_patient, thread):
    before = AuditEvent.objects.count()

    response = client_for(other_patient.user).post(messages(thread.id), {"body": "Hello"})

    assert response.status_code == 404
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [(e.object_type, e.action, e.outcome, e.patient_id) for e in events] == [
        ("message_thread", "update", "denied", None)
    ]
    assert not Message.objects.filter(body="Hello").exists()


def test_a_patient_asking_for_an_internal_note_leaves_no_message_or_event(
    client_for, patient, thread
):
    before = AuditEvent.objects.count()

    response = client_for(patient.user).post(
        messages(thread.id), {"body": "Hello", "internal": True}
    )

    assert response.status_code == 403
    assert AuditEvent.objects.count() == before  # the send's transaction rolled back whole
    assert not Message.objects.filter(body="Hello").exists()


def test_opening_a_thread_audits_the_thread_and_its_first_message(client_for, patient):
    before = AuditEvent.objects.count()

    response = client_for(patient.user).post(
        "/api/v1/threads/", {"subject": "Rash", "category": "clinical", "body": "It spreads."}
    )

    assert response.status_code == 201
    thread = Thread.objects.get(pk=response.json()["id"])
    message = thread.messages.get()
    created = [
        (e.object_type, e.object_id, e.patient_id)
        for e in AuditEvent.objects.order_by("id")[before:]
        if e.action == "create"
    ]
    assert created == [
        ("message_thread", str(thread.id), patient.id),
        ("message", str(message.id), patient.id),
    ]


def test_an_empty_body_is_a_400(client_for, patient, thread):
    response = client_for(patient.user).post(messages(thread.id), {"body": ""})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("actor", ["other_clinician", "admin"])
def test_break_glass_lists_the_patients_threads_until_it_expires(
    actors, client_for, thread, other_thread, clock, actor
):
    user = actors[actor]
    BreakGlassGrant.objects.create(
        user=user,
        patient=thread.patient,
        reason="Covering an emergency",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    client = client_for(user)
    expected = {str(thread.id)} | ({str(other_thread.id)} if actor == "other_clinician" else set())

    assert ids(client.get(THREADS)) == expected
    clock.shift(timedelta(hours=2))
    assert str(thread.id) not in ids(client_for(user).get(THREADS))


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
@pytest.mark.parametrize("viewer", ["patient", "clinician"])
def test_messages_render_what_message_output_renders(
    client_for, viewer, zone, thread, patient, clinician
):
    """Message pages and sends render without DRF (apis.message_output); MessageOutput is their
    schema. Both give the same JSON for every kind of message: a patient's with red flags and
    a discounted mention, the automatic reply (no sender), a staff reply with an attachment,
    an internal note, read receipts, and the sender's own client_id."""
    services.message_send(
        actor=patient.user,
        thread_id=thread.id,
        body="Crushing chest pain now, no fever.",
        client_id="c-1",
    )
    staff = client_for(clinician.user)
    photo = upload(staff, PDF, name="leaflet.pdf", content_type="application/pdf").json()["id"]
    assert send_with(staff, thread, photo).status_code == 201
    services.message_send(actor=clinician.user, thread_id=thread.id, body="Note", internal=True)
    services.thread_mark_read(actor=patient.user, thread_id=thread.id)
    services.message_send(actor=clinician.user, thread_id=thread.id, body="Call 911 now.")
    user = patient.user if viewer == "patient" else clinician.user
    client = client_for(user)

    with timezone.override(ZoneInfo(zone)):
        listed = client.get(f"/api/v1/threads/{thread.id}/messages/").json()["results"]
        sent = client.post(
            f"/api/v1/threads/{thread.id}/messages/",
            {"body": "Thanks", "client_id": "c-2"},
            format="json",
        ).json()
        listing = selectors.thread_messages(user=user, thread_id=thread.id)
        messages = list(listing.messages.order_by("position"))
        selectors.load_attachments(messages)
        context = {"viewer": user, "patient_read": listing.patient_read}
        expected = MessageOutput(messages[:-1], many=True, context=context).data
        expected_sent = MessageOutput(messages[-1], context={"viewer": user}).data

    assert listed == json.loads(JSONRenderer().render(expected))
    assert sent == json.loads(JSONRenderer().render(expected_sent))
    kinds = {message["sender_kind"] for message in listed}
    assert kinds == {"patient", "staff", "system"}
    if viewer == "clinician":
        assert any(message["triage_hits"] for message in listed)
        assert any(message["triage_discounted"] for message in listed)
        assert any(message["attachments"] for message in listed)
        assert any(message["read_by_patient"] for message in listed)
