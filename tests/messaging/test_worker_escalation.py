"""End to end: beat's sweep task, run by a real worker through the real broker, climbs the
ladder of an overdue thread, and running it again records nothing new."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from messaging import tasks
from messaging.models import EscalationStep, Thread

from ..factories import ClinicianFactory, PatientFactory
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
