"""What messaging announces through the notification outbox, to whom, on which channels, and
that no announcement carries anything the patient wrote.

Recipients get the channels their role defaults and own preferences allow (notify decides;
carecore/notifications/policy.py): care-team staff get `message_received` by e-mail and in the
app, patients the same, and `triage_urgent` / `thread_escalated` go to staff by e-mail, SMS
(with a phone number) and in the app. Time stands still at the messaging suite's working moment
(Tuesday 10 March 2026, 10:00 New York) unless a test travels.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, time, timedelta
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from carecore.accounts.models import CareTeamMember, Clinician, Role
from carecore.notifications.models import (
    Channel,
    DeliveryAttempt,
    Event,
    Notification,
    NotificationPreference,
    QuietHours,
    Status,
)
from carecore.notifications.services import outbox_insert
from carecore.notifications.sms import LocmemSmsBackend
from messaging import services, tasks
from messaging.announcements import _announce_batch
from messaging.models import Announcement, EscalationStep, Message, Thread

from ..factories import ClinicianFactory, UserFactory
from ..outbox import announce
from .conftest import NEW_YORK, open_thread

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sms_outbox")]

THREADS = "/api/v1/threads/"
E, S, A = Channel.EMAIL, Channel.SMS, Channel.IN_APP


@pytest.fixture
def phones(patient, clinician, coordinator) -> None:
    """Everyone can be texted, so the tests show which events actually use SMS."""
    for number, user in enumerate((patient.user, clinician.user, coordinator)):
        user.phone = f"+1212555010{number}"
        user.save()


@pytest.fixture
def chief(db) -> Clinician:
    return ClinicianFactory(is_clinical_lead=True, licensed_states=["CA"])


def rows(event: str, **filters: object) -> set[tuple[uuid.UUID, str]]:
    return {
        (recipient_id, channel)
        for recipient_id, channel in Notification.objects.filter(event=event, **filters)
        .values_list("recipient_id", "channel")
        .order_by()
    }


def patient_message(thread: Thread) -> Message:
    return thread.messages.filter(sender_kind="patient").latest("position")


def at(hour: int, minute: int = 0, day: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=NEW_YORK)


# --- message_received -------------------------------------------------------------------------


def test_opening_a_thread_tells_the_care_team_by_email_and_in_app(
    patient, clinician, coordinator, phones
):
    thread = open_thread(patient)

    first = patient_message(thread)
    assert rows(Event.MESSAGE_RECEIVED) == {
        (clinician.user_id, E),
        (clinician.user_id, A),
        (coordinator.id, E),
        (coordinator.id, A),
    }
    # No SMS for routine messages to staff, even with a phone number.
    for row in Notification.objects.all():
        assert row.subject_type == "thread"
        assert row.subject_id == str(thread.id)
        assert row.occurrence == str(first.id)
        # Staff open the thread in the workspace (links.page_for).
        assert row.link_path == f"/staff/threads/{thread.id}/"
        assert row.urgent is False


def test_each_patient_message_is_announced_once(patient, clinician, coordinator, thread):
    second = services.message_send(actor=patient.user, thread_id=thread.id, body="More news")
    announce()
    announce()  # a second run finds nothing left to tell

    assert Notification.objects.filter(event=Event.MESSAGE_RECEIVED).count() == 8
    assert rows(Event.MESSAGE_RECEIVED, occurrence=str(second.message.id)) == {
        (clinician.user_id, E),
        (clinician.user_id, A),
        (coordinator.id, E),
        (coordinator.id, A),
    }


def test_a_staff_reply_tells_the_patient_and_nobody_else(patient, clinician, thread, phones):
    Notification.objects.all().delete()

    reply = services.message_send(actor=clinician.user, thread_id=thread.id, body="Try this")
    announce()

    assert rows(Event.MESSAGE_RECEIVED) == {(patient.user_id, E), (patient.user_id, A)}
    assert set(Notification.objects.values_list("occurrence", flat=True)) == {str(reply.message.id)}


def test_a_thread_opened_by_staff_tells_the_patient(patient, clinician):
    opened = services.thread_open(
        actor=clinician.user,
        patient_id=patient.id,
        subject="Your results",
        category="clinical",
        body="Please book a follow-up.",
    )
    announce()

    assert rows(Event.MESSAGE_RECEIVED) == {(patient.user_id, E), (patient.user_id, A)}
    assert Notification.objects.get(channel=A).occurrence == str(opened.send.message.id)


def test_an_internal_note_notifies_nobody(clinician, coordinator, thread):
    before = Notification.objects.count()

    services.message_send(
        actor=clinician.user, thread_id=thread.id, body="Consider a patch test", internal=True
    )
    services.message_send(actor=coordinator, thread_id=thread.id, body="Noted", internal=True)
    assert announce() == 2

    assert Notification.objects.count() == before


def test_a_client_id_replay_notifies_nobody(client_for, patient, clinician, thread):
    url = f"{THREADS}{thread.id}/messages/"
    patient_client, staff_client = client_for(patient.user), client_for(clinician.user)
    assert patient_client.post(url, {"body": "Any news?", "client_id": "c-1"}).status_code == 201
    assert staff_client.post(url, {"body": "Soon", "client_id": "s-1"}).status_code == 201
    announce()
    # The open and the send: 2 staff x (e-mail, in-app) each; the reply: the patient x 2.
    assert Notification.objects.count() == 4 + 4 + 2

    assert patient_client.post(url, {"body": "Any news?", "client_id": "c-1"}).status_code == 200
    assert staff_client.post(url, {"body": "Soon", "client_id": "s-1"}).status_code == 200

    assert announce() == 0
    assert Notification.objects.count() == 4 + 4 + 2


def test_a_retried_thread_open_notifies_nobody(client_for, patient):
    client = client_for(patient.user)
    body = {"subject": "Flare", "category": "clinical", "body": "Itchy", "client_id": "o-1"}
    assert client.post(THREADS, body).status_code == 201
    announce()
    before = Notification.objects.count()

    assert client.post(THREADS, body).status_code == 200
    assert announce() == 0

    assert before == 4
    assert Notification.objects.count() == before


def test_recipients_own_preferences_decide_the_channels(patient, clinician, coordinator):
    NotificationPreference.objects.create(
        user=clinician.user, event=Event.MESSAGE_RECEIVED, channel=E, enabled=False
    )
    NotificationPreference.objects.create(
        user=coordinator, event=Event.MESSAGE_RECEIVED, channel=A, enabled=False
    )
    NotificationPreference.objects.create(
        user=patient.user, event=Event.MESSAGE_RECEIVED, channel=E, enabled=False
    )

    thread = open_thread(patient)
    staff_rows = rows(Event.MESSAGE_RECEIVED)
    services.message_send(actor=clinician.user, thread_id=thread.id, body="Answer")
    announce()

    assert staff_rows == {(clinician.user_id, A), (coordinator.id, E)}
    assert rows(Event.MESSAGE_RECEIVED, recipient=patient.user) == {(patient.user_id, A)}


def test_deactivated_accounts_are_not_told(patient, clinician, coordinator, thread):
    patient.user.is_active = False
    patient.user.save()

    services.message_send(actor=clinician.user, thread_id=thread.id, body="Answer")
    assert announce() == 1

    assert not Notification.objects.filter(recipient=patient.user).exists()


def test_auto_replies_notify_nobody(patient, clinician):
    # Friday 21:00: the after-hours reply; then a red flag: the emergency reply.
    with time_machine.travel(at(21, 0, day=13), tick=False):
        thread = open_thread(patient)
        services.message_send(actor=patient.user, thread_id=thread.id, body="I have chest pain")
        announce()

    assert thread.messages.filter(sender_kind="system").count() == 2
    # The patient sees the replies in the thread they are writing in; nothing is sent to them.
    assert not Notification.objects.filter(recipient=patient.user).exists()


# --- triage_urgent ------------------------------------------------------------------------------


def test_a_triage_hit_pages_the_on_call_clinician_urgently(patient, clinician, coordinator, phones):
    thread = open_thread(patient, body="Since last night I have trouble breathing")

    page = Notification.objects.filter(event=Event.TRIAGE_URGENT)
    assert rows(Event.TRIAGE_URGENT) == {
        (clinician.user_id, E),
        (clinician.user_id, S),
        (clinician.user_id, A),
    }
    assert all(row.urgent for row in page)
    assert {row.occurrence for row in page} == {str(patient_message(thread).id)}
    # The care team is still told of the message itself, as for any message.
    assert (coordinator.id, E) in rows(Event.MESSAGE_RECEIVED)


def test_without_a_lead_the_clinical_lead_is_paged(patient, clinician, chief, thread):
    patient.care_team.lead = None
    patient.care_team.save()

    services.message_send(actor=patient.user, thread_id=thread.id, body="chest pain")
    announce()

    assert {user_id for user_id, _ in rows(Event.TRIAGE_URGENT)} == {chief.user_id}


def test_the_page_ignores_the_clinicians_quiet_hours_but_the_routine_email_waits(
    patient, clinician, coordinator, phones, django_capture_on_commit_callbacks, eager_celery
):
    QuietHours.objects.create(user=clinician.user, start=time(22, 0), end=time(7, 0))
    with (
        time_machine.travel(at(23, 30), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        thread = open_thread(patient, body="My lips are swelling")
        now = thread.created_at

    page = {row.channel: row for row in Notification.objects.filter(event=Event.TRIAGE_URGENT)}
    assert page[E].due_at == page[S].due_at == now
    assert page[E].status == page[S].status == Status.SENT  # delivered on commit
    routine = Notification.objects.get(
        event=Event.MESSAGE_RECEIVED, recipient=clinician.user, channel=E
    )
    assert routine.status == Status.PENDING
    assert routine.due_at == at(7, 0, day=11)  # the end of the clinician's own quiet hours
    assert routine.enqueued_at is None  # left for the sweeper, not published with an ETA
    # Delivered now: the page by e-mail and SMS, nothing routine.
    assert [message.subject for message in mail.outbox] == ["CareCore: Urgent triage"]
    assert mail.outbox[0].to == [clinician.user.email]
    assert [sms.to for sms in LocmemSmsBackend.outbox] == [clinician.user.phone]


def test_the_patient_who_reported_a_red_flag_is_not_notified(patient, thread):
    services.message_send(actor=patient.user, thread_id=thread.id, body="I can't breathe")
    announce()

    assert not Notification.objects.filter(recipient=patient.user).exists()


# --- thread_escalated --------------------------------------------------------------------------


def test_escalation_steps_notify_once_each_even_when_the_beat_task_runs_twice(
    patient, clinician, coordinator, chief, thread, phones, clock, monkeypatch
):
    # The beat sweep's fan-out runs inline; each sweep runs twice (a duplicate beat), and every
    # escalate_thread also runs twice (a redelivery).
    recorded: list[int] = []

    def run_twice(thread_id: str) -> None:
        recorded.extend([tasks.escalate_thread(thread_id), tasks.escalate_thread(thread_id)])

    monkeypatch.setattr(tasks.escalate_thread, "delay", run_twice)
    clock.move_to(at(14, 5))
    tasks.escalate_overdue_threads()
    tasks.escalate_overdue_threads()
    first_step = rows(Event.THREAD_ESCALATED)
    clock.move_to(at(16, 5))
    tasks.escalate_overdue_threads()
    tasks.escalate_overdue_threads()

    assert recorded == [1, 0, 0, 0, 2, 0, 0, 0]

    # Routine: quiet hours are not overridden, but 14:05-16:05 is outside everyone's.
    assert first_step == {(coordinator.id, E), (coordinator.id, S), (coordinator.id, A)}
    by_step = {
        step.step: services.escalation_occurrence(step)
        for step in EscalationStep.objects.filter(thread=thread)
    }
    assert rows(Event.THREAD_ESCALATED, occurrence=by_step[1]) == first_step
    assert rows(Event.THREAD_ESCALATED, occurrence=by_step[2]) == {
        (clinician.user_id, E),
        (clinician.user_id, S),
        (clinician.user_id, A),
    }
    assert rows(Event.THREAD_ESCALATED, occurrence=by_step[3]) == {
        (chief.user_id, E),
        (chief.user_id, A),  # no phone number
    }
    assert Notification.objects.filter(event=Event.THREAD_ESCALATED).count() == 8
    assert not Notification.objects.filter(event=Event.THREAD_ESCALATED, urgent=True).exists()


def test_the_escalation_key_is_the_step_and_its_clock(thread):
    (step,) = services.thread_escalate(thread_id=thread.id, now=at(14, 0))

    # The clock started at 10:00 New York = 14:00 UTC (EDT).
    assert services.escalation_occurrence(step) == "step-1:20260310T140000.000000Z"
    assert set(
        Notification.objects.filter(event=Event.THREAD_ESCALATED).values_list(
            "occurrence", flat=True
        )
    ) == {"step-1:20260310T140000.000000Z"}


def test_a_new_response_clock_escalates_and_notifies_again(
    patient, clinician, coordinator, thread, clock
):
    services.thread_escalate(thread_id=thread.id, now=at(14, 0))
    clock.move_to(at(14, 10))
    services.message_send(actor=clinician.user, thread_id=thread.id, body="Sorry for the wait")
    clock.move_to(at(14, 20))
    services.message_send(actor=patient.user, thread_id=thread.id, body="Thanks, and...")
    thread.refresh_from_db()

    services.thread_escalate(thread_id=thread.id, now=thread.first_response_due_at)

    told = Notification.objects.filter(event=Event.THREAD_ESCALATED, recipient=coordinator)
    assert told.filter(channel=A).count() == 2
    assert len(set(told.values_list("occurrence", flat=True))) == 2


def test_an_urgent_threads_escalation_is_urgent_and_ignores_staff_quiet_hours(
    patient, clinician, coordinator, chief, phones
):
    with time_machine.travel(at(23, 0), tick=False):
        thread = open_thread(patient, body="chest pain since this evening")
        assert thread.first_response_due_at is not None
        recorded = services.thread_escalate(
            thread_id=thread.id, now=thread.first_response_due_at + timedelta(minutes=20)
        )
        now = thread.created_at

    assert [step.step for step in recorded] == [1, 2, 3]
    escalated = Notification.objects.filter(event=Event.THREAD_ESCALATED)
    assert escalated.count() == 3 + 3 + 2  # coordinator, clinician (with phones), chief
    assert all(row.urgent for row in escalated)
    assert all(row.due_at == now for row in escalated)  # 23:00 is in everyone's quiet hours


def test_escalation_recipients_are_resolved_in_one_query(patient, coordinator, chief, thread):
    with CaptureQueriesContext(connection) as queries:
        services.thread_escalate(thread_id=thread.id, now=at(17, 0))

    user_reads = [q["sql"] for q in queries if q["sql"].startswith('SELECT "accounts_user"')]
    assert len(user_reads) == 1


# --- no patient data, rollback ------------------------------------------------------------------


def test_no_message_text_or_subject_reaches_any_notification_email_sms_or_log(
    client_for,
    patient,
    clinician,
    coordinator,
    chief,
    phones,
    clock,
    caplog,
    django_capture_on_commit_callbacks,
    eager_celery,
    monkeypatch,
):
    canary = f"Canary{uuid.uuid4().hex[:12]}"
    for user in (patient.user, clinician.user, coordinator):
        user.first_name, user.last_name = canary, f"{canary}son"
        user.save()
    patient_client, staff_client = client_for(patient.user), client_for(clinician.user)
    monkeypatch.setattr(tasks.escalate_thread, "delay", lambda thread_id: None)

    with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
        opened = patient_client.post(
            THREADS,
            {
                "subject": f"{canary} eczema subject",
                "category": "clinical",
                "body": f"My {canary} rash is spreading and I have chest pain",
            },
        )
        assert opened.status_code == 201
        thread_id = opened.json()["id"]
        url = f"{THREADS}{thread_id}/messages/"
        for body, internal in ((f"{canary} note", True), (f"About {canary}: see us", False)):
            sent = staff_client.post(url, {"body": body, "internal": internal}, format="json")
            assert sent.status_code == 201
        assert patient_client.post(url, {"body": f"{canary} again"}).status_code == 201
        clock.move_to(at(11, 0))
        assert tasks.escalate_thread(thread_id) == 3  # the urgent ladder, all steps overdue

    events = set(Notification.objects.values_list("event", flat=True))
    assert events == {Event.MESSAGE_RECEIVED, Event.TRIAGE_URGENT, Event.THREAD_ESCALATED}
    assert mail.outbox and LocmemSmsBackend.outbox  # something was really delivered
    outputs = [
        *(message.message().as_string() for message in mail.outbox),
        *(f"{sms.to} {sms.body}" for sms in LocmemSmsBackend.outbox),
        *(str(row) for row in Notification.objects.values()),
        *(str(row) for row in DeliveryAttempt.objects.values()),
        caplog.text,
    ]
    inbox = patient_client.get("/api/v1/notifications/").json()["results"]
    outputs.append(str(inbox))
    assert inbox  # the patient's in-app list shows the staff reply
    for text in outputs:
        assert canary not in text
        assert "rash" not in text
        assert "eczema" not in text
        assert "chest" not in text


def test_a_send_that_fails_after_its_announcement_leaves_nothing_to_announce(
    patient, thread, django_capture_on_commit_callbacks, eager_celery
):
    before = Notification.objects.count()
    real = services._announce_send

    def announce_then_fail(**arguments: object) -> None:
        real(**arguments)  # type: ignore[arg-type]
        assert Announcement.objects.count() == 1
        raise RuntimeError("the send failed after recording its announcement")

    with (
        mock.patch("messaging.services._announce_send", side_effect=announce_then_fail),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        services.message_send(actor=patient.user, thread_id=thread.id, body="chest pain")

    assert not Announcement.objects.exists()
    assert announce() == 0
    assert Notification.objects.count() == before
    assert not thread.messages.filter(body="chest pain").exists()
    assert callbacks == []  # no wake-up
    assert mail.outbox == []


def test_an_announcement_that_fails_half_way_writes_nothing_and_is_done_by_the_next_run(
    patient, clinician, thread, django_capture_on_commit_callbacks, eager_celery
):
    before = Notification.objects.count()
    services.message_send(actor=patient.user, thread_id=thread.id, body="chest pain")
    written: list[str] = []

    def spy(rows: list[Notification]) -> list[Notification]:
        created = outbox_insert(rows)
        written.extend(row.event for row in created)
        return created

    with (
        mock.patch("messaging.announcements.outbox_insert", side_effect=spy),
        # The outbox rows are written first, then the feed events, then the row is deleted.
        mock.patch(
            "messaging.announcements.event_publish_each", side_effect=RuntimeError("events down")
        ),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        announce()

    # Both were written (care team: 2 x e-mail + in-app; the page to the lead clinician:
    # e-mail + in-app, no phone here) before the batch failed, and went with it.
    assert (written.count(Event.MESSAGE_RECEIVED), written.count(Event.TRIAGE_URGENT)) == (4, 2)
    assert Notification.objects.count() == before
    assert callbacks == []
    assert Announcement.objects.count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        assert announce() == 1

    assert Notification.objects.count() == before + 6
    assert rows(Event.TRIAGE_URGENT) == {(clinician.user_id, E), (clinician.user_id, A)}
    assert not Announcement.objects.exists()
    assert [message.subject for message in mail.outbox].count("CareCore: Urgent triage") == 1


def test_a_rolled_back_outer_transaction_takes_the_notifications_with_it(
    patient, clinician, thread, django_capture_on_commit_callbacks, eager_celery
):
    before = Notification.objects.count()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.message_send(actor=clinician.user, thread_id=thread.id, body="Answer")
        announce()
        assert Notification.objects.count() == before + 2
        raise RuntimeError("the request failed later")

    assert Notification.objects.count() == before
    assert not Announcement.objects.exists()
    assert callbacks == []
    assert mail.outbox == []


def test_a_committed_send_delivers_the_email_on_commit(
    patient, clinician, thread, django_capture_on_commit_callbacks, eager_celery
):
    with django_capture_on_commit_callbacks(execute=True):
        services.message_send(actor=clinician.user, thread_id=thread.id, body="Answer")

    (message,) = mail.outbox
    assert message.to == [patient.user.email]
    assert message.subject == "CareCore: New secure message"
    assert f"http://localhost:8000/messages/{thread.id}/" in message.body
    assert "Answer" not in message.body


# --- cost -----------------------------------------------------------------------------------------


def test_a_patient_send_costs_the_same_queries_whatever_the_size_of_the_care_team(
    patient, thread, django_assert_num_queries
):
    def send() -> None:
        services.message_send(actor=patient.user, thread_id=thread.id, body="More news")

    # In a test the service's transaction is a savepoint (SAVEPOINT ... RELEASE: 2).
    # The access check (1): the thread with visibility, FOR UPDATE.
    # Under the lock (5): one audit INSERT (the access event and the message's create event),
    # the message INSERT, the sender's read-state upsert, the thread UPDATE and the
    # announcement INSERT. Telling the care team is the worker's (the next test).
    with django_assert_num_queries(8):
        send()
    announce()  # the care team is read when the worker announces
    for _ in range(3):
        CareTeamMember.objects.create(
            care_team=patient.care_team, user=UserFactory(role=Role.COORDINATOR)
        )
    with django_assert_num_queries(8):
        send()
    announce()

    assert Notification.objects.filter(channel=A, recipient__role=Role.COORDINATOR).count() == (
        1 + 1 + 4  # the open and the first send to one coordinator, the second send to four
    )


def test_a_send_locks_and_reads_the_thread_alone(patient, clinician, thread):
    # A send needs the thread's own columns: loading its patient, their account and the assignee
    # as well was 1-1.5 ms of CPU per send (docs/benchmarks.md), and select_related() with no
    # names would join every foreign key.
    for sender in (patient.user, clinician.user):
        with CaptureQueriesContext(connection) as queries:
            services.message_send(actor=sender, thread_id=thread.id, body="More news")
        [lock] = [query["sql"] for query in queries if "FOR UPDATE" in query["sql"]]
        selected = lock.split(" FROM ")[0]
        assert '"messaging_thread"."id"' in selected
        assert "accounts_" not in selected, selected


def test_an_announcing_batch_costs_the_same_queries_whatever_its_size(
    patient, other_patient, clinician, thread, other_thread, django_assert_num_queries
):
    def send(count: int) -> None:
        for number in range(count):
            for sender, to in ((patient, thread), (other_patient, other_thread)):
                services.message_send(actor=sender.user, thread_id=to.id, body=f"News {number}")

    # The batch's transaction is a savepoint in a test (2), then (11): the announcer's advisory
    # lock; the waiting rows FOR UPDATE SKIP LOCKED with their threads and patients; the care
    # teams' memberships; everyone to tell with their preferences and quiet hours; the outbox
    # rows' idempotency keys locked and looked up (2: the outbox is partitioned by month, so its
    # unique key cannot keep them), the outbox INSERT (RETURNING what is new) and the in-app
    # rows' delivery-record INSERT; everyone's feed events (message.created and
    # notification.created together: the sequence upsert and the event INSERT); the rows'
    # DELETE.
    send(1)
    with django_assert_num_queries(13):
        assert _announce_batch(200) == 2
    send(20)
    with django_assert_num_queries(13):
        assert _announce_batch(200) == 40
