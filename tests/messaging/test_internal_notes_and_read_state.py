"""Internal notes never reach the patient by any path; read state, unread counts and receipts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from carecore.accounts import services as account_services
from messaging import services
from messaging.models import Thread

from ..patient_web.conftest import sign_in as patient_sign_in
from .conftest import open_thread

pytestmark = pytest.mark.django_db

THREADS = "/api/v1/threads/"


def detail(thread: Thread) -> str:
    return f"{THREADS}{thread.id}/"


def messages(thread: Thread) -> str:
    return f"{THREADS}{thread.id}/messages/"


def note(client, thread: Thread, body: str = "Consider a patch test. Possible contact allergy."):
    return client.post(messages(thread), {"body": body, "internal": True})


# --- internal notes -----------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ["clinician", "coordinator"])
def test_clinicians_and_coordinators_write_internal_notes(actors, client_for, thread, actor):
    response = note(client_for(actors[actor]), thread)

    assert response.status_code == 201
    assert response.json()["internal"] is True


def test_a_patient_cannot_write_an_internal_note(client_for, patient, thread):
    response = note(client_for(patient.user), thread)

    assert response.status_code == 403
    assert thread.messages.filter(internal=True).count() == 0


def test_internal_notes_never_reach_the_patient_by_any_path(
    client_for, patient, clinician, thread, clock
):
    staff = client_for(clinician.user)
    me = client_for(patient.user)
    me.post(f"{detail(thread)}read/")
    clock.shift(timedelta(minutes=1))
    note(staff, thread, "INTERNAL-ONLY text")

    listed = me.get(messages(thread)).json()["results"]
    row = next(r for r in me.get(THREADS).json()["results"] if r["id"] == str(thread.id))
    shown = me.get(detail(thread)).json()
    me_unread = me.get("/api/v1/me/").json()["unread_count"]

    assert [m["body"] for m in listed] == ["My eczema is itchy again."]
    assert "INTERNAL-ONLY" not in str(row) + str(shown)
    assert row["unread_count"] == shown["unread_count"] == me_unread == 0
    assert shown["last_message"]["body"] == row["last_message"]["body"]
    assert row["last_message"]["body"] == "My eczema is itchy again."
    # The note does not bump the thread's activity time either (no side channel).
    assert shown["last_message_at"] == row["last_message_at"]
    assert thread.messages.count() == 2


def test_staff_see_internal_notes_in_the_thread(client_for, coordinator, clinician, thread):
    note(client_for(clinician.user), thread, "Check thyroid.")

    bodies = [m["body"] for m in client_for(coordinator).get(messages(thread)).json()["results"]]

    assert bodies == ["My eczema is itchy again.", "Check thyroid."]


def test_an_internal_note_does_not_stop_the_response_clock(client_for, clinician, thread):
    note(client_for(clinician.user), thread)

    thread.refresh_from_db()
    assert thread.first_response_due_at is not None
    assert thread.status == "open"


# --- read state and unread counts -------------------------------------------------------------


def test_a_staff_reply_is_unread_for_the_patient_until_read(client_for, patient, clinician, thread):
    client_for(clinician.user).post(messages(thread), {"body": "Try the new cream twice a day."})
    me = client_for(patient.user)

    assert me.get(detail(thread)).json()["unread_count"] == 1
    assert me.get("/api/v1/me/").json()["unread_count"] == 1

    read = me.post(f"{detail(thread)}read/")

    assert read.status_code == 200
    assert read.json()["unread_count"] == 0
    assert me.get(detail(thread)).json()["unread_count"] == 0
    assert me.get("/api/v1/me/").json()["unread_count"] == 0


def test_staff_unread_counts_cover_patient_messages_and_notes_by_others(
    client_for, patient, clinician, coordinator, thread
):
    staff = client_for(clinician.user)
    assert staff.get(detail(thread)).json()["unread_count"] == 1
    note(client_for(coordinator), thread)

    assert staff.get(detail(thread)).json()["unread_count"] == 2
    staff.post(f"{detail(thread)}read/")
    assert staff.get(detail(thread)).json()["unread_count"] == 0
    # Writing in a thread marks it read for the writer, including what came before.
    assert client_for(coordinator).get(detail(thread)).json()["unread_count"] == 0


def test_a_break_glass_reader_marking_read_changes_nothing_the_patient_or_the_team_sees(
    client_for, patient, clinician, coordinator, other_clinician, thread
):
    account_services.break_glass_open(
        user=other_clinician.user,
        patient_id=patient.id,
        reason="Patient called the on-call line at night, their team was unreachable.",
    )
    patient_page = Client()
    patient_sign_in(patient_page, patient.user)
    reader = client_for(other_clinician.user)

    assert reader.get(messages(thread)).status_code == 200
    read = reader.post(f"{detail(thread)}read/")

    # The reader's own state (their unread count) is theirs; nobody on the team has read it.
    assert read.status_code == 200
    assert reader.get(detail(thread)).json()["unread_count"] == 0
    assert (
        "Seen by your care team" not in patient_page.get(f"/messages/{thread.id}/").content.decode()
    )
    for member in (clinician.user, coordinator):
        team = client_for(member)
        assert team.get(detail(thread)).json()["unread_count"] == 1
        assert team.get("/api/v1/me/").json()["unread_count"] == 1

    client_for(clinician.user).post(f"{detail(thread)}read/")

    assert "Seen by your care team" in patient_page.get(f"/messages/{thread.id}/").content.decode()


def test_the_total_unread_count_in_me_sums_every_thread(client_for, patient, clinician):
    first, second = open_thread(patient), open_thread(patient)
    staff = client_for(clinician.user)
    for thread in (first, second, second):
        staff.post(messages(thread), {"body": "Reply"})

    assert client_for(patient.user).get("/api/v1/me/").json()["unread_count"] == 3


def test_staff_see_read_receipts(client_for, patient, clinician, thread, clock):
    staff = client_for(clinician.user)
    staff.post(messages(thread), {"body": "Use the cream."})

    before = staff.get(messages(thread)).json()["results"]
    assert before[-1]["read_by_patient"] is False
    # The patient read the thread when writing its first message, before the reply.
    assert before[0]["read_by_patient"] is True
    read_at_before = staff.get(detail(thread)).json()["patient_read_at"]

    clock.shift(timedelta(minutes=5))
    client_for(patient.user).post(f"{detail(thread)}read/")

    after = staff.get(messages(thread)).json()["results"]
    assert after[-1]["read_by_patient"] is True
    assert staff.get(detail(thread)).json()["patient_read_at"] > read_at_before


def test_patients_do_not_get_staff_only_fields(client_for, patient, clinician, thread):
    client_for(clinician.user).post(messages(thread), {"body": "Hello"})
    me = client_for(patient.user)

    message = me.get(messages(thread)).json()["results"][-1]
    shown = me.get(detail(thread)).json()

    assert "read_by_patient" not in message
    assert "triage_flags" not in message
    assert "triage_hits" not in message and "triage_discounted" not in message
    assert "patient_read_at" not in shown


def test_the_unread_total_costs_one_query_whatever_the_number_of_threads(
    patient, clinician, django_assert_num_queries
):
    from messaging.selectors import unread_total

    for _ in range(3):
        open_thread(patient)
    user = clinician.user
    # one aggregate over the threads and read states of the clinician's patients (found in it)
    with django_assert_num_queries(1):
        three = unread_total(user)
    for _ in range(3):
        open_thread(patient)
    with django_assert_num_queries(1):
        six = unread_total(user)
    assert (three, six) == (3, 6)


def test_sending_marks_the_thread_read_for_the_sender(patient, clinician, thread):
    services.message_send(actor=patient.user, thread_id=thread.id, body="more")
    services.message_send(actor=clinician.user, thread_id=thread.id, body="answer")

    from messaging.selectors import unread_total

    assert unread_total(clinician.user) == 0
    assert unread_total(patient.user) == 1


def test_a_stale_concurrent_read_never_moves_the_read_state_backwards(patient, clinician, thread):
    from messaging.models import ThreadReadState

    stale = Thread.objects.get(pk=thread.pk)  # snapshot before the reply
    services.message_send(actor=clinician.user, thread_id=thread.id, body="Reply")
    services.thread_mark_read(actor=patient.user, thread_id=thread.id)

    services._read_state_upsert(thread=stale, user=patient.user, now=stale.created_at)

    state = ThreadReadState.objects.get(thread=thread, user=patient.user)
    assert (state.read_position, state.read_public_position) == (2, 2)
