"""A backlog of routine e-mail never delays an urgent page: real workers, one per queue, as in
compose and Kubernetes (docs/scaling.md, "Celery queues by urgency").

The `deliveries` worker is stuck on a slow provider (its e-mail backend waits for the test to
open a gate) with a backlog of reminders queued behind it. An urgent page is then announced: the
`urgent` queue's worker delivers it while every reminder still waits. Once the gate opens, the
backlog drains, each e-mail once.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import transaction

from carecore.accounts.models import User
from carecore.notifications.models import Channel, Event, Notification, Status
from carecore.notifications.services import notify
from tests.factories import PatientFactory
from tests.notifications.helpers import use_file_backends
from tests.worker import purge_broker, running_worker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BACKLOG = 30
GATED = "tests.notifications.blocking_backends.GatedFileEmailBackend"


@pytest.fixture
def patient(clinician):
    # In a transaction: the care-team assignment locks clinician rows (select_for_update).
    with transaction.atomic():
        return PatientFactory(user__email="patient@example.test", state="NY")


@pytest.fixture(autouse=True)
def _no_quiet_hours(settings):
    # The test runs at whatever time it is; quiet hours have their own tests.
    settings.CARECORE_NOTIFICATIONS_DEFAULT_QUIET_HOURS = ""


def _queued(queue: str) -> int:
    return int(redis.Redis.from_url(settings.CELERY_BROKER_URL).llen(queue))


def _remind_many(user: User) -> None:
    with transaction.atomic():
        for _ in range(BACKLOG):
            notify(
                event=Event.APPOINTMENT_REMINDER,
                recipients=[user],
                subject_type="appointment",
                subject_id=uuid.uuid4(),
                occurrence="24h",
            )


def _page(user: User) -> Notification:
    with transaction.atomic():
        rows = notify(
            event=Event.TRIAGE_URGENT,
            recipients=[user],
            subject_type="thread",
            subject_id=uuid.uuid4(),
            urgent=True,
            link_path="/inbox/",
        )
    return next(row for row in rows if row.channel == Channel.EMAIL)


def test_a_backlog_of_routine_email_does_not_delay_an_urgent_page(
    patient, clinician, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outboxes = use_file_backends(monkeypatch, tmp_path)
    waiting, gate = tmp_path / "a-send-is-waiting", tmp_path / "gate-open"
    monkeypatch.setenv("TEST_BLOCK_MARKER", str(waiting))
    monkeypatch.setenv("TEST_GATE", str(gate))
    purge_broker()
    reminders = Notification.objects.filter(event=Event.APPOINTMENT_REMINDER, channel=Channel.EMAIL)

    with (
        running_worker(
            queues=("deliveries",),
            log_name="slow-deliveries-worker",
            extra_env={"TEST_EMAIL_BACKEND": GATED},
        ),
        running_worker(queues=("urgent",), log_name="urgent-worker"),
    ):
        _remind_many(patient.user)
        assert wait_until(waiting.exists, timeout=60), "the deliveries worker never started"
        page = _page(clinician.user)

        assert wait_until(
            lambda: Notification.objects.get(id=page.id).status == Status.SENT, timeout=60
        )
        assert reminders.count() == BACKLOG
        assert not reminders.filter(status=Status.SENT).exists()
        # One reminder is being sent (held at the gate); the rest wait, in the broker or in a
        # batch the deliveries worker holds (rows of one transaction travel together).
        assert reminders.filter(status=Status.PENDING).count() >= BACKLOG - 1

        gate.touch()
        assert wait_until(lambda: not reminders.exclude(status=Status.SENT).exists(), timeout=120)

    sent = sorted(str(row_id) for row_id in reminders.values_list("id", flat=True))
    assert sorted(path.stem for path in outboxes.emails()) == sorted([*sent, str(page.id)])
