"""End to end: beat's sweep task, run by a real worker through the real broker, climbs the
ladder of an overdue thread, and running it again records nothing new; the same worker delivers
each step's notifications once, without any of the patient's words."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from carecore.notifications.models import Channel, Event, Notification, Status
from messaging import tasks
from messaging.models import EscalationStep, Thread

from ..factories import ClinicianFactory, PatientFactory
from ..notifications.helpers import use_file_backends
from ..worker import purge_broker, running_worker, wait_until
from .conftest import open_thread


@pytest.fixture
def _working_hours():
    # The worker is another process on the real clock: no time travel in this module.
    yield None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_escalates_an_overdue_thread_once(clinician):
    purge_broker()
    ClinicianFactory(is_clinical_lead=True, licensed_states=["CA"])
    with transaction.atomic():
        patient = PatientFactory(state="NY")
    thread = open_thread(patient)
    long_ago = timezone.now() - timedelta(days=1)
    Thread.objects.filter(pk=thread.pk).update(first_response_due_at=long_ago)

    with running_worker():
        tasks.escalate_overdue_threads.delay()
        assert wait_until(lambda: EscalationStep.objects.filter(thread=thread).count() == 3)
        tasks.escalate_overdue_threads.delay()
        tasks.escalate_thread.delay(str(thread.id))
        # Give the duplicates time to run; they must not add rows.
        wait_until(lambda: False, timeout=3)

    assert sorted(EscalationStep.objects.filter(thread=thread).values_list("step", flat=True)) == [
        1,
        2,
        3,
    ]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_each_escalation_steps_notifications_once(
    clinician, coordinator, monkeypatch, settings, tmp_path
):
    purge_broker()
    # Quiet hours would hold routine e-mail until morning on the real clock; they have their
    # own tests. This process writes the open's rows; the worker writes the steps' rows.
    settings.CARECORE_NOTIFICATIONS_DEFAULT_QUIET_HOURS = ""
    monkeypatch.setenv("CARECORE_NOTIFICATIONS_DEFAULT_QUIET_HOURS", "")
    outboxes = use_file_backends(monkeypatch, tmp_path)
    coordinator.phone = "+12125550101"
    coordinator.save()
    ClinicianFactory(is_clinical_lead=True, licensed_states=["CA"])
    with transaction.atomic():
        patient = PatientFactory(state="NY")
    canary = f"Canary{uuid.uuid4().hex[:12]}"
    thread = open_thread(patient, subject=f"{canary} flare", body=f"My {canary} patch itches")
    Thread.objects.filter(pk=thread.pk).update(
        first_response_due_at=timezone.now() - timedelta(days=1)
    )
    # The open told the care team (2 x e-mail + in-app); the ladder tells the coordinator
    # (e-mail, SMS, in-app), then the lead clinician and the clinical lead (e-mail, in-app).
    expected_rows = 4 + 3 + 2 + 2

    def all_delivered() -> bool:
        rows = Notification.objects.filter(subject_id=str(thread.id))
        return rows.count() == expected_rows and not rows.exclude(status=Status.SENT).exists()

    with running_worker():
        tasks.escalate_overdue_threads.delay()
        assert wait_until(all_delivered)
        tasks.escalate_overdue_threads.delay()
        tasks.escalate_thread.delay(str(thread.id))
        # Give the duplicates time to run; they must not add rows or send anything again.
        wait_until(lambda: False, timeout=3)

    rows = Notification.objects.filter(subject_id=str(thread.id))
    assert rows.count() == expected_rows
    assert rows.filter(event=Event.THREAD_ESCALATED, channel=Channel.IN_APP).count() == 3
    emails = sorted(
        str(pk) for pk in rows.filter(channel=Channel.EMAIL).values_list("id", flat=True)
    )
    texts = [str(pk) for pk in rows.filter(channel=Channel.SMS).values_list("id", flat=True)]
    assert sorted(path.stem for path in outboxes.emails()) == emails
    assert [path.stem for path in outboxes.texts()] == texts
    for path in outboxes.emails() + outboxes.texts():
        assert canary not in path.read_text(errors="replace")
