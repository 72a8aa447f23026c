"""Idempotent sends: the same client_id from the same sender returns the original message."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from carecore.accounts.models import User
from carecore.notifications.models import Event, Notification
from messaging import services
from messaging.models import Message, Thread

from ..factories import PatientFactory
from ..outbox import announce
from .conftest import open_thread

THREADS = "/api/v1/threads/"


@pytest.fixture
def committed_patient(clinician):
    # care_team_assign_new_patient locks clinician rows and so needs a transaction; the
    # transactional tests below have none around them.
    with transaction.atomic():
        return PatientFactory(user__email="racing-patient@example.test", state="NY")


def messages(thread: Thread) -> str:
    return f"{THREADS}{thread.id}/messages/"


@pytest.mark.django_db
def test_a_retried_send_returns_the_original_with_200(client_for, patient, thread):
    client = client_for(patient.user)

    first = client.post(messages(thread), {"body": "Hello", "client_id": "c-1"})
    retry = client.post(messages(thread), {"body": "Hello", "client_id": "c-1"})

    assert first.status_code == 201
    assert retry.status_code == 200
    assert retry.json()["id"] == first.json()["id"]
    assert retry.json()["client_id"] == "c-1"
    assert thread.messages.filter(client_id="c-1").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("attachments", [[False], [0], [None, 7]])
def test_a_retry_with_attachments_that_are_no_ids_is_refused(
    client_for, patient, thread, attachments
):
    # DRF's UUIDField takes a number (and so a bool) as a UUID's integer: `[false]` was read as
    # the nil UUID, and the retry answered 200 with the original message.
    client = client_for(patient.user)
    client.post(messages(thread), {"body": "Hello", "client_id": "c-1"})

    retry = client.post(
        messages(thread), {"body": "Hello", "client_id": "c-1", "attachments": attachments}
    )

    assert retry.status_code == 400
    error = retry.json()["error"]
    assert error["code"] == "validation_error"
    assert error["fields"]["attachments"] == [f"Item {len(attachments) - 1}: Must be a string."]


@pytest.mark.django_db
def test_client_ids_are_per_sender(client_for, patient, clinician, thread):
    mine = client_for(patient.user).post(messages(thread), {"body": "a", "client_id": "same"})
    theirs = client_for(clinician.user).post(messages(thread), {"body": "b", "client_id": "same"})

    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    # Someone else's client_id is not shown back.
    shown = client_for(patient.user).get(messages(thread)).json()["results"]
    assert [m["client_id"] for m in shown] == [None, "same", None]


@pytest.mark.django_db
def test_reusing_a_client_id_in_another_thread_is_a_409(client_for, patient, thread):
    other = open_thread(patient)
    client = client_for(patient.user)
    client.post(messages(thread), {"body": "a", "client_id": "c-2"})

    response = client.post(messages(other), {"body": "a", "client_id": "c-2"})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "client_id_reused"


@pytest.mark.django_db
def test_a_retried_thread_open_returns_the_original_thread(client_for, patient):
    client = client_for(patient.user)
    payload = {"subject": "s", "category": "billing", "body": "b", "client_id": "open-1"}

    first = client.post(THREADS, payload)
    retry = client.post(THREADS, payload)

    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["id"] == first.json()["id"]
    assert Thread.objects.filter(patient=patient).count() == 1


@pytest.mark.django_db
def test_a_replay_does_not_run_side_effects_again(patient, thread):
    first = services.message_send(
        actor=patient.user, thread_id=thread.id, body="I have chest pain", client_id="x"
    )
    again = services.message_send(
        actor=patient.user, thread_id=thread.id, body="I have chest pain", client_id="x"
    )

    assert first.created and not again.created
    assert first.pages_on_call and not again.pages_on_call
    # Only the first send is announced: one page, one set of notifications.
    assert announce() == 1
    assert Notification.objects.filter(event=Event.TRIAGE_URGENT, channel="in_app").count() == 1
    # One emergency auto-reply, not two.
    assert thread.messages.filter(sender_kind="system").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_create_exactly_one_message(committed_patient):
    patient = committed_patient
    thread = open_thread(patient)
    user = User.objects.get(pk=patient.user_id)
    barrier = threading.Barrier(6)
    results: list[object] = []

    def send() -> None:
        try:
            barrier.wait()
            result = services.message_send(
                actor=user, thread_id=thread.id, body="retry storm", client_id="race-1"
            )
            results.append(result.message.id)
        except Exception as exc:
            results.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=send) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert len(results) == 6
    assert len(set(results)) == 1, results
    assert Message.objects.filter(client_id="race-1").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_thread_opens_with_one_client_id_create_one_thread(committed_patient):
    patient = committed_patient
    user = User.objects.get(pk=patient.user_id)
    barrier = threading.Barrier(4)
    results: list[object] = []

    def open_once() -> None:
        try:
            barrier.wait()
            result = services.thread_open(
                actor=user, subject="s", category="clinical", body="b", client_id="open-race"
            )
            results.append(result.thread.id)
        except Exception as exc:
            results.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=open_once) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert len(set(results)) == 1, results
    assert Thread.objects.filter(patient_id=patient.id).count() == 1
