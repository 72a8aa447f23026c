"""Recording events: numbering, what data may carry, and who is told what (the API's rules)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from carecore.accounts.models import BreakGlassGrant, Patient, User
from carecore.realtime import selectors
from carecore.realtime.models import EventType, FeedEvent
from carecore.realtime.services import NewEvent, event_publish, events_prune
from messaging import services as messaging
from messaging.models import Thread
from tests.intake.helpers import healthy_intake, poem, submit
from tests.outbox import announce
from tests.portal.conftest import book_directly, give_availability

pytestmark = pytest.mark.django_db

PLANS = "/api/v1/care-plans/"


def thread_event(thread_id: uuid.UUID | None = None) -> NewEvent:
    return NewEvent(
        EventType.THREAD_UPDATED,
        {"thread_id": thread_id or uuid.uuid4(), "status": "open", "priority": "routine"},
    )


def feed(user: User, *types: str) -> list[FeedEvent]:
    rows = FeedEvent.objects.filter(user=user).order_by("seq")
    return list(rows.filter(type__in=types) if types else rows)


def seqs(user: User) -> list[int]:
    return [event.seq for event in feed(user)]


# --- numbering ------------------------------------------------------------------------------------


def test_it_numbers_each_users_events_from_one_without_gaps(patient, clinician):
    event_publish(user_ids=[patient.user_id, clinician.user_id], events=[thread_event()])
    event_publish(user_ids=[patient.user_id], events=[thread_event(), thread_event()])

    assert seqs(patient.user) == [1, 2, 3]
    assert seqs(clinician.user) == [1]
    assert selectors.latest_seq(user_id=patient.user_id) == 3


def test_a_rolled_back_change_uses_no_number(patient):
    event_publish(user_ids=[patient.user_id], events=[thread_event()])
    with pytest.raises(RuntimeError), transaction.atomic():
        event_publish(user_ids=[patient.user_id], events=[thread_event()])
        raise RuntimeError("the change failed")
    event_publish(user_ids=[patient.user_id], events=[thread_event()])

    assert seqs(patient.user) == [1, 2]


@pytest.mark.parametrize(
    "data",
    [
        {"thread_id": uuid.uuid4(), "status": "My rash is worse"},  # free text
        {"thread_id": uuid.uuid4(), "status": "Itchy"},  # capitals: not a status word
        {"thread_id": uuid.uuid4(), "subject": "flare"},  # a field this type does not carry
        {"thread_id": 1.5},  # not an id
    ],
)
def test_it_refuses_anything_but_ids_and_status_words(patient, data):
    with pytest.raises(ValueError) as error:
        NewEvent(EventType.THREAD_UPDATED, data)

    # The message names the field, never the value.
    assert "rash" not in str(error.value) and "Itchy" not in str(error.value)


def test_it_refuses_an_unknown_type():
    with pytest.raises(ValueError):
        NewEvent("message.deleted", {})


# --- messaging: who is told -------------------------------------------------------------------


@pytest.fixture
def thread(patient: Patient) -> Thread:
    opened = messaging.thread_open(
        actor=patient.user, subject="Flare", category="clinical", body="Itchy again."
    ).thread
    announce()  # as the woken worker would (messaging/announcements.py)
    return opened


def test_a_patient_message_is_told_to_the_patient_and_the_care_team(
    patient, clinician, coordinator, other_patient, other_clinician, thread
):
    message = thread.messages.order_by("position").first()
    for user in (patient.user, clinician.user, coordinator):
        created = feed(user, EventType.MESSAGE_CREATED)
        assert created[0].data == {
            "thread_id": str(thread.id),
            "message_id": str(message.id),
            "patient_id": str(patient.id),
            "sender_kind": "patient",
            "internal": False,
        }
    assert feed(other_patient.user) == []
    assert feed(other_clinician.user) == []


def test_a_reply_tells_the_patient_its_message_the_status_and_the_notification(
    patient, clinician, thread
):
    before = selectors.latest_seq(user_id=patient.user_id)
    reply = messaging.message_send(actor=clinician.user, thread_id=thread.id, body="Try this.")
    announce()

    new = [e for e in feed(patient.user) if e.seq > before]
    assert [e.type for e in new] == [
        EventType.MESSAGE_CREATED,
        EventType.THREAD_UPDATED,
        EventType.NOTIFICATION_CREATED,
    ]
    assert new[0].data["message_id"] == str(reply.message.id)
    assert new[1].data["status"] == "waiting_on_patient"
    assert new[2].data["event"] == "message_received"
    assert [e.seq for e in new] == [before + 1, before + 2, before + 3]


def test_an_internal_note_is_told_to_the_care_team_only(patient, clinician, coordinator, thread):
    before = selectors.latest_seq(user_id=patient.user_id)
    note = messaging.message_send(
        actor=clinician.user, thread_id=thread.id, body="Consider a swab.", internal=True
    )
    announce()

    assert selectors.latest_seq(user_id=patient.user_id) == before
    told = feed(coordinator, EventType.MESSAGE_CREATED)[-1]
    assert told.data["message_id"] == str(note.message.id)
    assert told.data["internal"] is True


def test_break_glass_readers_get_nothing_pushed(patient, admin_user, other_clinician, thread):
    for user in (admin_user, other_clinician.user):
        BreakGlassGrant.objects.create(
            user=user,
            patient=patient,
            reason="Covering an urgent case",
            expires_at=timezone.now() + timedelta(hours=1),
        )
    messaging.message_send(actor=patient.user, thread_id=thread.id, body="Any news?")
    announce()

    assert feed(admin_user) == []
    assert feed(other_clinician.user) == []


def test_reading_is_told_to_the_readers_devices_and_a_patients_read_to_the_team(
    patient, clinician, coordinator, thread
):
    messaging.message_send(actor=clinician.user, thread_id=thread.id, body="Try this.")

    messaging.thread_mark_read(actor=patient.user, thread_id=thread.id)
    messaging.thread_mark_read(actor=coordinator, thread_id=thread.id)
    messaging.thread_mark_read(actor=coordinator, thread_id=thread.id)  # nothing new: no event

    patient_read = {"thread_id": str(thread.id), "patient_id": str(patient.id)}
    assert [e.data for e in feed(patient.user, EventType.MESSAGE_READ)] == [
        {**patient_read, "reader_kind": "patient"}
    ]
    assert [e.data["reader_kind"] for e in feed(coordinator, EventType.MESSAGE_READ)] == [
        "patient",
        "staff",
    ]
    # A staff member's own reading is not a receipt for anyone else.
    assert [e.data["reader_kind"] for e in feed(clinician.user, EventType.MESSAGE_READ)] == [
        "patient"
    ]


def test_assigning_closing_and_reopening_update_the_thread_for_everyone(
    patient, clinician, coordinator, thread
):
    messaging.thread_assign(actor=coordinator, thread_id=thread.id, assignee_id=clinician.user_id)
    messaging.thread_close(actor=coordinator, thread_id=thread.id)
    messaging.thread_close(actor=coordinator, thread_id=thread.id)  # already closed: no event
    messaging.thread_reopen(actor=coordinator, thread_id=thread.id)

    for user in (patient.user, clinician.user, coordinator):
        updates = [e.data for e in feed(user, EventType.THREAD_UPDATED)]
        assert [(u["status"], u["assignee_id"]) for u in updates] == [
            ("open", str(clinician.user_id)),
            ("closed", str(clinician.user_id)),
            ("open", str(clinician.user_id)),
        ]


def test_an_urgent_message_updates_the_priority(patient, clinician, thread):
    messaging.message_send(
        actor=patient.user, thread_id=thread.id, body="I have chest pain and trouble breathing."
    )
    announce()

    update = feed(clinician.user, EventType.THREAD_UPDATED)[-1]
    assert update.data["priority"] == "urgent"
    # The automatic emergency reply is a message too.
    kinds = [e.data["sender_kind"] for e in feed(patient.user, EventType.MESSAGE_CREATED)]
    assert kinds[-2:] == ["patient", "system"]


# --- visits, intake and care plans ----------------------------------------------------------


def test_appointment_changes_are_told_to_the_patient_team_visit_clinician_and_schedulers(
    patient, clinician, coordinator, other_clinician, scheduler
):
    other_clinician.licensed_states = ["NY"]
    other_clinician.save(update_fields=["licensed_states"])
    give_availability(other_clinician)
    start = (timezone.now() + timedelta(days=1)).astimezone(other_clinician.user.zone)
    start = start.replace(hour=10, minute=0, second=0, microsecond=0)
    appointment = book_directly(patient=patient, clinician=other_clinician, start=start)
    from portal import services as portal

    portal.appointment_cancel(actor=patient.user, appointment_id=appointment.id)

    for user in (patient.user, coordinator, clinician.user, other_clinician.user, scheduler):
        changes = [
            (e.data["change"], e.data["status"]) for e in feed(user, EventType.APPOINTMENT_UPDATED)
        ]
        assert changes == [("booked", "booked"), ("cancelled", "cancelled")], user.email


def test_a_completed_intake_creates_a_review_event_for_the_care_team_only(
    client_for, patient, clinician, coordinator
):
    call_command("sync_questionnaires", verbosity=0)
    submit(client_for(patient.user), "poem", poem(1, 1, 1, 1, 1, 1, 1))

    review = patient.intake_reviews.get()
    for user in (clinician.user, coordinator):
        assert [e.data for e in feed(user, EventType.REVIEW_CREATED)] == [
            {
                "review_id": str(review.id),
                "response_id": str(review.response_id),
                "patient_id": str(patient.id),
                "urgent": False,
            }
        ]
    assert feed(patient.user, EventType.REVIEW_CREATED) == []


def test_publishing_a_care_plan_tells_the_patient_and_the_team(
    client_for, patient, clinician, coordinator
):
    call_command("sync_questionnaires", verbosity=0)
    patient_client, clinician_client = client_for(patient.user), client_for(clinician.user)
    submit(patient_client, "gut-skin-intake", healthy_intake(**{"fibre-servings-daily": 1}))
    for review in patient.intake_reviews.all():
        clinician_client.post(f"/api/v1/intake-reviews/{review.id}/complete/", {"note": ""})
    plan = clinician_client.post(f"/api/v1/patients/{patient.id}/care-plans/").json()

    assert clinician_client.post(f"{PLANS}{plan['id']}/publish/").status_code == 200

    for user in (patient.user, clinician.user, coordinator):
        assert [e.data for e in feed(user, EventType.CARE_PLAN_PUBLISHED)] == [
            {"care_plan_id": plan["id"], "patient_id": str(patient.id), "supersedes_id": None}
        ]


# --- retention ------------------------------------------------------------------------------------


def test_pruning_removes_old_events_in_batches_and_then_a_resume_is_refused(patient, settings):
    settings.CARECORE_REALTIME_PRUNE_BATCH = 2
    event_publish(user_ids=[patient.user_id], events=[thread_event() for _ in range(5)])
    event_publish(user_ids=[patient.user_id], events=[thread_event()])
    FeedEvent.objects.filter(seq__lte=5).update(at=timezone.now() - timedelta(days=8))

    assert events_prune() == 5

    assert seqs(patient.user) == [6]
    assert selectors.feed_resumable(user_id=patient.user_id, after=5)
    assert not selectors.feed_resumable(user_id=patient.user_id, after=4)
    assert not selectors.feed_resumable(user_id=patient.user_id, after=7)
