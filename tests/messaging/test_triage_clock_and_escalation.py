"""Triage on patient messages, auto-replies, the first-response clock and the escalation ladder.

Time is frozen or moved with time_machine; nothing here measures how long anything takes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.utils import timezone

from carecore.clinical.severity import Severity
from carecore.notifications.models import Event, Notification
from messaging import policy, services, tasks
from messaging.models import EscalationStep, Notify, Thread

from ..factories import ClinicianFactory
from ..outbox import announce, recipients
from .conftest import NEW_YORK, open_thread

pytestmark = pytest.mark.django_db

THREADS = "/api/v1/threads/"


def system_messages(thread: Thread) -> list[str]:
    return list(thread.messages.filter(sender_kind="system").values_list("body", flat=True))


def paged() -> list[UUID]:
    """Who the announcing worker pages `triage_urgent` for the messages sent so far."""
    announce()
    return sorted(recipients(Event.TRIAGE_URGENT), key=str)


def told() -> set[UUID]:
    """Who the announcing worker tells `message_received` of the messages sent so far."""
    announce()
    return recipients(Event.MESSAGE_RECEIVED)


# --- triage ----------------------------------------------------------------------------------


def test_a_red_flag_makes_the_thread_urgent_and_replies_with_emergency_guidance(
    client_for, patient, clinician, thread
):
    response = client_for(patient.user).post(
        f"{THREADS}{thread.id}/messages/", {"body": "Since last night I have trouble breathing"}
    )

    assert response.status_code == 201
    thread.refresh_from_db()
    assert thread.priority == "urgent"
    replies = system_messages(thread)
    assert len(replies) == 1
    assert "911" in replies[0] and "emergency department" in replies[0]
    # The urgent promise (15 minutes) replaces the routine one.
    assert thread.first_response_due_at <= timezone.now() + timedelta(minutes=15)
    shown = client_for(patient.user).get(f"{THREADS}{thread.id}/messages/").json()["results"]
    assert shown[-1]["sender_kind"] == "system"
    assert shown[-1]["sender"] is None
    staff_view = client_for(clinician.user).get(f"{THREADS}{thread.id}/messages/").json()
    assert staff_view["results"][-2]["triage_flags"] == ["breathing"]


def test_the_on_call_clinician_is_the_lead_of_the_patients_team(patient, clinician, thread):
    result = services.message_send(actor=patient.user, thread_id=thread.id, body="chest pain")

    assert result.triage_flags == ["chest_pain"]
    assert paged() == [clinician.user_id]


def test_without_a_lead_the_clinical_lead_is_paged(patient, clinician, thread):
    chief = ClinicianFactory(is_clinical_lead=True, licensed_states=["CA"])
    patient.care_team.lead = None
    patient.care_team.save()

    services.message_send(actor=patient.user, thread_id=thread.id, body="chest pain")

    assert paged() == [chief.user_id]


def test_a_negated_phrase_does_not_trigger_triage(patient, thread):
    result = services.message_send(
        actor=patient.user, thread_id=thread.id, body="No blood in my stool, just bloating"
    )

    thread.refresh_from_db()
    assert result.triage_flags == [] and paged() == []
    assert thread.priority == "routine"
    assert system_messages(thread) == []


@pytest.mark.parametrize(
    ("body", "severity", "action"),
    [
        ("I want to die", Severity.CRISIS, "988"),
        ("I threw up blood", Severity.EMERGENCY, "911"),
        ("severe stomach pain, worst ever", Severity.URGENT, "15 minutes"),
    ],
)
def test_the_auto_reply_names_the_action_for_the_severity(
    patient, clinician, thread, body, severity, action
):
    result = services.message_send(actor=patient.user, thread_id=thread.id, body=body)

    thread.refresh_from_db()
    assert result.triage_severity is severity
    assert thread.priority == "urgent"
    assert paged() == [clinician.user_id]
    (reply,) = system_messages(thread)
    assert severity is not None
    assert reply == severity.patient_guidance
    assert action in reply
    assert body not in reply


def test_a_crisis_with_an_emergency_gets_911_and_988(patient, thread):
    services.message_send(
        actor=patient.user, thread_id=thread.id, body="I took an overdose and I can't breathe"
    )

    (reply,) = system_messages(thread)
    assert "911" in reply and "988" in reply


def test_a_soon_flag_asks_for_same_day_review_without_paging(patient, thread):
    result = services.message_send(
        actor=patient.user, thread_id=thread.id, body="I've lost 8 kilos without trying"
    )

    thread.refresh_from_db()
    assert result.triage_flags == ["weight_loss"]
    assert result.triage_severity is Severity.SOON
    assert paged() == []
    assert thread.priority == "soon"
    assert system_messages(thread) == []
    # Two working hours (Tuesday 10:00 in New York): reviewed the same day.
    assert thread.first_response_due_at == timezone.now() + timedelta(hours=2)


def test_a_soon_flag_at_night_waits_for_working_hours_and_pages_nobody(patient, clock):
    clock.move_to(datetime(2026, 3, 10, 23, 0, tzinfo=NEW_YORK))

    thread = open_thread(patient, body="the diarrhoea wakes me up at night")

    assert thread.priority == "soon"
    assert thread.messages.get(sender_kind="patient").triage_flags == ["nocturnal_symptoms"]
    # Two working hours from Wednesday's 08:00 opening; the night pages nobody.
    assert thread.first_response_due_at == datetime(2026, 3, 11, 10, 0, tzinfo=NEW_YORK)
    assert not Notification.objects.filter(event="triage_urgent").exists()


def test_an_overdue_soon_thread_escalates_without_urgent_notifications(patient, coordinator):
    thread = open_thread(patient, body="I've lost 8 kilos without trying")

    recorded = services.thread_escalate(thread_id=thread.id, now=at(12, 0))

    assert [step.step for step in recorded] == [1]
    escalated = Notification.objects.filter(event="thread_escalated")
    assert escalated.exists() and not escalated.filter(urgent=True).exists()
    # The next rung comes one routine gap (60 minutes) later, not the urgent 10.
    assert services.thread_escalate(thread_id=thread.id, now=at(12, 30)) == []


def test_the_inbox_filters_soon_threads(client_for, patient, clinician, thread):
    services.message_send(
        actor=patient.user, thread_id=thread.id, body="I've lost 8 kilos without trying"
    )
    staff = client_for(clinician.user)

    soon = staff.get(f"{THREADS}?priority=soon").json()["results"]
    not_urgent = staff.get(f"{THREADS}?urgent=false").json()["results"]
    urgent = staff.get(f"{THREADS}?urgent=true").json()["results"]

    assert [(t["id"], t["priority"]) for t in soon] == [(str(thread.id), "soon")]
    assert [t["id"] for t in not_urgent] == [str(thread.id)]
    assert urgent == []


def test_a_soon_flag_never_lowers_an_urgent_thread(patient, thread):
    services.message_send(actor=patient.user, thread_id=thread.id, body="chest pain")
    services.message_send(
        actor=patient.user, thread_id=thread.id, body="I've lost 8 kilos without trying"
    )

    thread.refresh_from_db()
    assert thread.priority == "urgent"


def test_the_subject_is_screened_when_a_patient_opens_a_thread(patient):
    thread = open_thread(patient, subject="Chest pain since last night", body="See subject")

    assert thread.priority == "urgent"
    message = thread.messages.get(sender_kind="patient")
    assert message.triage_flags == ["chest_pain"]
    assert message.triage_hits[0]["sources"] == ["subject"]


def test_staff_see_what_raised_a_flag_and_what_was_discounted(
    client_for, patient, clinician, thread
):
    client_for(patient.user).post(
        f"{THREADS}{thread.id}/messages/",
        {"body": "No fever. I think I might be having a heart attack. My dad had one too."},
    )

    staff = client_for(clinician.user).get(f"{THREADS}{thread.id}/messages/").json()
    message = staff["results"][-2]
    (hit,) = message["triage_hits"]
    assert hit["code"] == "chest_pain" and hit["severity"] == "emergency"
    assert "heart attack" in " ".join(hit["words"])
    assert "POSSIBLE_EXISTENCE" in hit["modifiers"]
    discounted = {d["concept"]: d["modifiers"] for d in message["triage_discounted"]}
    assert "NEGATED_EXISTENCE" in discounted["fever"]


def test_a_discounted_mention_alone_is_kept_for_staff_but_raises_nothing(patient, thread):
    result = services.message_send(
        actor=patient.user, thread_id=thread.id, body="my dad had rectal bleeding"
    )

    thread.refresh_from_db()
    message = thread.messages.get(pk=result.message.pk)
    assert message.triage_flags == [] and thread.priority == "routine"
    assert message.triage_discounted[0]["modifiers"] == ["FAMILY"]


def test_staff_messages_are_not_triaged(clinician, thread):
    result = services.message_send(
        actor=clinician.user, thread_id=thread.id, body="Tell us if you get chest pain."
    )

    thread.refresh_from_db()
    assert result.triage_flags == []
    assert thread.priority == "routine"


def test_opening_a_thread_with_a_red_flag_is_triaged(patient):
    thread = open_thread(patient, body="My lips are swelling")

    assert thread.priority == "urgent"
    assert len(system_messages(thread)) == 1


# --- the response clock --------------------------------------------------------------------------


def test_a_patient_message_starts_a_four_working_hour_clock(patient, thread):
    # Opened Tuesday 10:00 New York.
    assert thread.first_response_due_at == datetime(2026, 3, 10, 14, 0, tzinfo=NEW_YORK)


def test_a_later_patient_message_does_not_push_the_promise_back(patient, thread, clock):
    due = thread.first_response_due_at
    clock.shift(timedelta(hours=1))

    services.message_send(actor=patient.user, thread_id=thread.id, body="Any news?")

    thread.refresh_from_db()
    assert thread.first_response_due_at == due


def test_a_staff_reply_clears_the_clock_and_the_next_patient_message_restarts_it(
    patient, clinician, thread, clock
):
    services.message_send(actor=clinician.user, thread_id=thread.id, body="Answer")
    thread.refresh_from_db()
    assert thread.first_response_due_at is None

    clock.shift(timedelta(hours=1))
    services.message_send(actor=patient.user, thread_id=thread.id, body="Follow-up")

    thread.refresh_from_db()
    assert thread.first_response_due_at == datetime(2026, 3, 10, 15, 0, tzinfo=NEW_YORK)


@override_settings(CARECORE_MESSAGING_ROUTINE_RESPONSE_HOURS=2)
def test_the_response_target_is_configurable(patient):
    thread = open_thread(patient)
    assert thread.first_response_due_at == datetime(2026, 3, 10, 12, 0, tzinfo=NEW_YORK)


# --- after-hours auto-reply ---------------------------------------------------------------------


def test_an_after_hours_message_gets_one_auto_reply_with_the_expected_time(patient):
    with time_machine.travel(datetime(2026, 3, 13, 21, 0, tzinfo=NEW_YORK), tick=False):
        thread = open_thread(patient)
        services.message_send(actor=patient.user, thread_id=thread.id, body="and another thing")
    with time_machine.travel(datetime(2026, 3, 14, 9, 0, tzinfo=NEW_YORK), tick=False):
        services.message_send(actor=patient.user, thread_id=thread.id, body="Saturday update")

    replies = system_messages(thread)
    assert len(replies) == 1  # once per off-hours period, not per message
    # Friday 21:00 + 4 working hours = Monday 12:00 in the patient's zone.
    assert "Monday, March 16, 12:00 PM (America/New_York)" in replies[0]
    assert "911" in replies[0]
    assert "Flare" not in replies[0]  # no patient data


def test_the_next_off_hours_period_gets_a_new_auto_reply(patient):
    with time_machine.travel(datetime(2026, 3, 13, 21, 0, tzinfo=NEW_YORK), tick=False):
        thread = open_thread(patient)
    with time_machine.travel(datetime(2026, 3, 16, 19, 0, tzinfo=NEW_YORK), tick=False):
        services.message_send(actor=patient.user, thread_id=thread.id, body="Monday evening")

    assert len(system_messages(thread)) == 2


def test_the_auto_reply_uses_the_patients_time_zone(other_patient):
    with time_machine.travel(datetime(2026, 3, 13, 21, 0, tzinfo=NEW_YORK), tick=False):
        thread = open_thread(other_patient)

    assert "9:00 AM (America/Los_Angeles)" in system_messages(thread)[0]


def test_no_after_hours_reply_in_working_hours(thread):
    assert system_messages(thread) == []


def test_auto_replies_are_unread_for_the_patient(client_for, patient):
    with time_machine.travel(datetime(2026, 3, 13, 21, 0, tzinfo=NEW_YORK), tick=True):
        thread = open_thread(patient)
        shown = client_for(patient.user).get(f"{THREADS}{thread.id}/").json()
    assert shown["unread_count"] == 1


# --- escalation ladder --------------------------------------------------------------------------


@pytest.fixture
def chief(db):
    return ClinicianFactory(is_clinical_lead=True, licensed_states=["CA"])


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 10, hour, minute, tzinfo=NEW_YORK)


def steps(thread: Thread) -> list[int]:
    return list(thread.escalations.order_by("step").values_list("step", flat=True))


def test_the_ladder_climbs_one_step_at_a_time_and_records_each_once(
    patient, clinician, coordinator, chief, thread
):
    thread.assignee = clinician.user
    thread.save(update_fields=["assignee"])
    # Due 14:00; steps at 14:00, 15:00, 16:00 (routine gap 60 minutes).
    assert services.thread_escalate(thread_id=thread.id, now=at(13, 59)) == []

    first = services.thread_escalate(thread_id=thread.id, now=at(14, 0))
    assert [s.step for s in first] == [1]
    assert set(first[0].recipient_ids) == {str(clinician.user_id), str(coordinator.id)}
    assert services.thread_escalate(thread_id=thread.id, now=at(14, 30)) == []

    second = services.thread_escalate(thread_id=thread.id, now=at(15, 0))
    assert [(s.step, s.recipient_ids) for s in second] == [(2, [str(clinician.user_id)])]

    third = services.thread_escalate(thread_id=thread.id, now=at(16, 0))
    assert [(s.step, s.recipient_ids) for s in third] == [(3, [str(chief.user_id)])]

    assert services.thread_escalate(thread_id=thread.id, now=at(23, 0)) == []
    assert steps(thread) == [1, 2, 3]


def test_a_late_sweep_records_all_missed_steps_at_once(thread, chief):
    recorded = services.thread_escalate(thread_id=thread.id, now=at(17, 0))
    assert [s.step for s in recorded] == [1, 2, 3]


def test_an_unassigned_thread_escalates_to_the_coordinators(thread, coordinator):
    (step,) = services.thread_escalate(thread_id=thread.id, now=at(14, 0))
    assert step.recipient_ids == [str(coordinator.id)]


def test_a_reply_stops_the_ladder_and_a_new_clock_starts_a_new_one(
    patient, clinician, thread, clock
):
    services.thread_escalate(thread_id=thread.id, now=at(14, 0))
    clock.move_to(at(14, 10))
    services.message_send(actor=clinician.user, thread_id=thread.id, body="Sorry for the wait")
    assert services.thread_escalate(thread_id=thread.id, now=at(16, 0)) == []

    clock.move_to(at(14, 20))
    services.message_send(actor=patient.user, thread_id=thread.id, body="Thanks, and...")
    thread.refresh_from_db()
    # 14:20 + 4 working hours: 3 h 40 min today, the last 20 minutes Wednesday morning.
    assert thread.first_response_due_at == datetime(2026, 3, 11, 8, 20, tzinfo=NEW_YORK)
    recorded = services.thread_escalate(thread_id=thread.id, now=thread.first_response_due_at)
    assert [s.step for s in recorded] == [1]
    assert thread.escalations.count() == 2  # one step per clock


def test_urgent_threads_escalate_on_the_urgent_ladder(patient, clinician, chief):
    thread = open_thread(patient, body="chest pain since this morning")
    due = thread.first_response_due_at
    assert due == at(10, 15)

    recorded = services.thread_escalate(thread_id=thread.id, now=due + timedelta(minutes=20))
    assert [s.step for s in recorded] == [1, 2, 3]  # urgent gap: 10 minutes


def test_closed_threads_do_not_escalate(client_for, clinician, thread):
    services.thread_close(actor=clinician.user, thread_id=thread.id)
    assert services.thread_escalate(thread_id=thread.id, now=at(20, 0)) == []


def test_the_beat_sweep_queues_each_overdue_thread_once_and_duplicates_are_harmless(
    patient, thread, django_capture_on_commit_callbacks, monkeypatch, clock
):
    queued: list[str] = []
    monkeypatch.setattr(tasks.escalate_thread, "delay", lambda thread_id: queued.append(thread_id))
    not_due = open_thread(patient)
    Thread.objects.filter(pk=not_due.pk).update(first_response_due_at=at(23, 0))
    clock.move_to(at(14, 5))

    assert tasks.escalate_overdue_threads() == 1
    assert queued == [str(thread.id)]
    # Two deliveries of the same task (a duplicate beat, a redelivery) record one step.
    assert tasks.escalate_thread(str(thread.id)) == 1
    assert tasks.escalate_thread(str(thread.id)) == 0
    assert EscalationStep.objects.filter(thread=thread).count() == 1


def test_the_unique_constraint_backs_up_the_lock(thread):
    services.thread_escalate(thread_id=thread.id, now=at(14, 0))

    with pytest.raises(IntegrityError), transaction.atomic():
        EscalationStep.objects.create(
            thread=thread, awaiting_since=thread.awaiting_since, step=1, recipient_ids=[]
        )


@pytest.mark.parametrize("severity", [s for s in Severity if s.pages_on_call])
def test_the_triage_replies_carry_no_patient_data(severity):
    for codes in ([], ["suicidal"], ["chest_pain", "overdose"]):
        reply = policy.triage_reply(severity=severity, codes=codes)
        assert "{" not in reply
        assert severity.patient_guidance in reply


# --- who is to be told (tests/messaging/test_notifications.py checks the rows they get) -------


def test_a_patient_message_is_announced_to_the_care_team(patient, clinician, coordinator, thread):
    Notification.objects.all().delete()
    result = services.message_send(actor=patient.user, thread_id=thread.id, body="Update")

    assert result.notify == Notify.CARE_TEAM and not result.pages_on_call
    assert told() == {clinician.user_id, coordinator.id}
    assert paged() == []


def test_a_staff_reply_is_announced_to_the_patient_and_a_note_to_nobody(patient, clinician, thread):
    Notification.objects.all().delete()
    note = services.message_send(
        actor=clinician.user, thread_id=thread.id, body="Note", internal=True
    )
    assert note.notify == Notify.NOBODY
    assert told() == set()

    reply = services.message_send(actor=clinician.user, thread_id=thread.id, body="Answer")

    assert reply.notify == Notify.PATIENT
    assert told() == {patient.user_id}
