"""Delivery, retries, the sweeper and re-sends, run in-process (the worker tests run them for
real). Time is frozen and moved with time-machine."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone

from carecore.accounts.models import User
from carecore.audit.models import AuditEvent
from carecore.notifications import services
from carecore.notifications.models import AttemptOutcome, Channel, Event, Notification, Status
from carecore.notifications.services import notification_deliver, notifications_sweep, notify
from carecore.notifications.tasks import deliver_notification

pytestmark = pytest.mark.django_db

NOON_NY = "2026-06-10T16:00:00Z"


@pytest.fixture
def texting_patient(patient):
    patient.user.phone = "+12125550100"
    patient.user.save()
    return patient


def _reminder(user: User, occurrence: str = "24h") -> dict[str, Notification]:
    subject = uuid.uuid4()
    rows = notify(
        event=Event.APPOINTMENT_REMINDER,
        recipients=[user],
        subject_type="appointment",
        subject_id=subject,
        occurrence=occurrence,
        link_path=f"/appointments/{subject}",
    )
    return {row.channel: row for row in rows}


@time_machine.travel(NOON_NY, tick=False)
def test_it_sends_the_email_with_a_portal_link_and_a_stable_message_id(patient, settings):
    settings.CARECORE_PORTAL_URL = "https://portal.example.test"
    email = _reminder(patient.user)[Channel.EMAIL]

    assert notification_deliver(notification_id=email.id) == "sent"

    (message,) = mail.outbox
    assert message.to == [patient.user.email]
    assert message.subject == "CareCore: Appointment reminder"
    assert f"https://portal.example.test{email.link_path}" in message.body
    assert message.extra_headers["Message-ID"] == (
        f"<{email.id}@{settings.CARECORE_NOTIFICATIONS_MESSAGE_ID_DOMAIN}>"
    )
    email.refresh_from_db()
    assert email.status == Status.SENT and email.sent_at == timezone.now()


@time_machine.travel(NOON_NY, tick=False)
def test_it_sends_the_sms_through_the_configured_backend(texting_patient, sms_outbox):
    sms = _reminder(texting_patient.user)[Channel.SMS]

    notification_deliver(notification_id=sms.id)

    (message,) = sms_outbox
    assert message.to == "+12125550100"
    assert message.idempotency_key == str(sms.id)
    assert message.body.startswith("CareCore: You have an upcoming appointment.")


@time_machine.travel(NOON_NY, tick=False)
def test_the_same_task_run_twice_sends_one_email(patient):
    email = _reminder(patient.user)[Channel.EMAIL]

    first = deliver_notification(str(email.id))
    second = deliver_notification(str(email.id))

    assert (first, second) == ("1 sent", "1 skipped")
    assert len(mail.outbox) == 1
    assert email.attempts.count() == 1


@time_machine.travel(NOON_NY, tick=False)
def test_it_does_not_send_before_the_row_is_due(patient):
    email = _reminder(patient.user)[Channel.EMAIL]
    Notification.objects.filter(pk=email.pk).update(due_at=timezone.now() + timedelta(hours=1))

    assert notification_deliver(notification_id=email.id) == "skipped"
    assert mail.outbox == []


def test_failures_retry_with_exponential_backoff_then_fail_with_the_last_error(patient, settings):
    settings.EMAIL_BACKEND = "tests.notifications.failing_backends.DisconnectingEmailBackend"
    settings.CARECORE_NOTIFICATIONS_MAX_ATTEMPTS = 4
    settings.CARECORE_NOTIFICATIONS_RETRY_BASE_SECONDS = 30
    with time_machine.travel(NOON_NY, tick=False) as clock:
        email = _reminder(patient.user)[Channel.EMAIL]
        delays = []
        outcomes = []
        for _ in range(4):
            outcomes.append(notification_deliver(notification_id=email.id))
            email.refresh_from_db()
            delays.append((email.due_at - timezone.now()).total_seconds())
            clock.shift(email.due_at - timezone.now())

    assert outcomes == ["pending", "pending", "pending", "failed"]
    assert delays[:3] == [30, 60, 120]
    assert email.status == Status.FAILED
    assert email.last_error == "smtp_disconnected"
    attempts = list(email.attempts.order_by("number"))
    assert [attempt.number for attempt in attempts] == [1, 2, 3, 4]
    assert {attempt.outcome for attempt in attempts} == {AttemptOutcome.ERROR}
    assert all(attempt.finished_at for attempt in attempts)


@time_machine.travel(NOON_NY, tick=False)
def test_a_permanent_error_fails_at_once(texting_patient):
    sms = _reminder(texting_patient.user)[Channel.SMS]
    texting_patient.user.phone = ""
    texting_patient.user.save()

    assert notification_deliver(notification_id=sms.id) == "failed"
    sms.refresh_from_db()
    assert sms.last_error == "no_phone_number"


@time_machine.travel(NOON_NY, tick=False)
def test_an_admin_resend_gives_a_failed_row_a_new_round(
    patient, settings, admin_user, django_capture_on_commit_callbacks, eager_celery
):
    settings.EMAIL_BACKEND = "tests.notifications.failing_backends.DisconnectingEmailBackend"
    settings.CARECORE_NOTIFICATIONS_MAX_ATTEMPTS = 1
    email = _reminder(patient.user)[Channel.EMAIL]
    notification_deliver(notification_id=email.id)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    with django_capture_on_commit_callbacks(execute=True):
        resent = services.notification_resend(actor=admin_user, notification_ids=[email.id])

    assert resent == 1
    email.refresh_from_db()
    assert email.status == Status.SENT
    assert len(mail.outbox) == 1
    assert [a.outcome for a in email.attempts.order_by("number")] == ["error", "sent"]
    assert AuditEvent.objects.filter(
        actor_id=admin_user.id, object_type="notification", object_id=str(email.id)
    ).exists()


def test_the_sweeper_takes_back_a_dead_workers_claim_and_delivers_once(
    patient, settings, django_capture_on_commit_callbacks, eager_celery
):
    settings.CARECORE_NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS = 300
    with time_machine.travel(NOON_NY, tick=False) as clock:
        email = _reminder(patient.user)[Channel.EMAIL]
        claimed = services._claim(email.id, worker="doomed")  # then the worker dies
        assert claimed is not None

        clock.shift(timedelta(seconds=299))
        assert notifications_sweep() == {"released": 0, "expired": 0, "enqueued": 0}

        clock.shift(timedelta(seconds=2))
        with django_capture_on_commit_callbacks(execute=True):
            assert notifications_sweep() == {"released": 1, "expired": 0, "enqueued": 1}

        # The dead worker's late bookkeeping cannot overwrite the new attempt's outcome.
        assert services._record_sent(claimed) is False

    email.refresh_from_db()
    assert email.status == Status.SENT
    assert len(mail.outbox) == 1
    assert [a.outcome for a in email.attempts.order_by("number")] == ["abandoned", "sent"]


def test_a_claim_that_kills_every_worker_ends_failed(patient, settings):
    settings.CARECORE_NOTIFICATIONS_MAX_ATTEMPTS = 1
    with time_machine.travel(NOON_NY, tick=False) as clock:
        email = _reminder(patient.user)[Channel.EMAIL]
        services._claim(email.id, worker="doomed")
        clock.shift(timedelta(hours=1))
        notifications_sweep()

    email.refresh_from_db()
    assert (email.status, email.last_error) == (Status.FAILED, "worker lost")


def test_the_sweeper_publishes_lost_tasks_but_not_fresh_ones(
    patient, settings, django_capture_on_commit_callbacks, eager_celery
):
    settings.CARECORE_NOTIFICATIONS_REQUEUE_AFTER_SECONDS = 120
    with time_machine.travel(NOON_NY, tick=False) as clock:
        # Written and "published" on commit, but the broker lost the task.
        email = _reminder(patient.user)[Channel.EMAIL]
        assert notifications_sweep()["enqueued"] == 0

        clock.shift(timedelta(seconds=121))
        with django_capture_on_commit_callbacks(execute=True):
            assert notifications_sweep()["enqueued"] == 1

    email.refresh_from_db()
    assert email.status == Status.SENT


def test_the_sweeper_publishes_a_deferred_row_when_quiet_hours_end(
    patient, django_capture_on_commit_callbacks, eager_celery
):
    # 23:30 in New York, in the default quiet hours (21:00-08:00).
    with time_machine.travel("2026-06-11T03:30:00Z", tick=False) as clock:
        email = _reminder(patient.user)[Channel.EMAIL]
        assert email.due_at.isoformat() == "2026-06-11T12:00:00+00:00"

        clock.move_to("2026-06-11T11:59:59Z")
        assert notifications_sweep()["enqueued"] == 0

        clock.move_to("2026-06-11T12:00:00Z")
        with django_capture_on_commit_callbacks(execute=True):
            assert notifications_sweep()["enqueued"] == 1

    assert len(mail.outbox) == 1


@time_machine.travel(NOON_NY, tick=False)
def test_commit_publishes_after_the_transaction_with_the_broker_reachable(
    patient, django_capture_on_commit_callbacks, eager_celery
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        _reminder(patient.user)
        assert mail.outbox == []  # nothing leaves before the commit

    assert len(mail.outbox) == 1


def test_backoff_is_exponential_and_capped(settings):
    settings.CARECORE_NOTIFICATIONS_RETRY_BASE_SECONDS = 30
    settings.CARECORE_NOTIFICATIONS_RETRY_MAX_SECONDS = 600

    assert [services.backoff_seconds(n) for n in range(1, 7)] == [30, 60, 120, 240, 480, 600]


class TestAdmin:
    @time_machine.travel(NOON_NY, tick=False)
    def test_it_lists_the_outbox_filtered_by_status_with_attempts(self, patient, superuser_client):
        email = _reminder(patient.user)[Channel.EMAIL]
        notification_deliver(notification_id=email.id)

        listing = superuser_client.get("/admin/notifications/notification/?status__exact=sent")
        detail = superuser_client.get(f"/admin/notifications/notification/{email.id}/change/")

        attempts = superuser_client.get("/admin/notifications/deliveryattempt/?outcome=sent")

        assert listing.status_code == 200 and str(email.id) in listing.content.decode()
        assert attempts.status_code == 200 and str(email.id) in attempts.content.decode()
        assert detail.status_code == 200 and "Attempt 1: sent" in detail.content.decode()

    @time_machine.travel(NOON_NY, tick=False)
    def test_its_resend_action_requeues_failed_rows(
        self, patient, superuser_client, settings, django_capture_on_commit_callbacks, eager_celery
    ):
        settings.EMAIL_BACKEND = "tests.notifications.failing_backends.DisconnectingEmailBackend"
        settings.CARECORE_NOTIFICATIONS_MAX_ATTEMPTS = 1
        email = _reminder(patient.user)[Channel.EMAIL]
        notification_deliver(notification_id=email.id)
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

        with django_capture_on_commit_callbacks(execute=True):
            response = superuser_client.post(
                "/admin/notifications/notification/",
                {"action": "resend", "_selected_action": [str(email.id)]},
            )

        assert response.status_code == 302
        email.refresh_from_db()
        assert email.status == Status.SENT
