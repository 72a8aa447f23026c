"""Tasks are routed to queues by urgency, so routine work never delays an urgent page."""

from __future__ import annotations

import pytest

from carecore.celery import app


def queue_of(task_name: str) -> str:
    route = app.amqp.router.route({}, task_name, args=(), kwargs={})
    return str(route["queue"].name)


@pytest.mark.parametrize(
    ("task_name", "queue"),
    [
        ("messaging.escalate_thread", "urgent"),
        ("messaging.escalate_overdue_threads", "urgent"),
        ("notifications.sweep", "urgent"),
        ("notifications.deliver", "deliveries"),
        ("portal.send_appointment_reminders", "reminders"),
        ("careplans.remind_due_check_ins", "reminders"),
        ("intake.escalate_unanswered_pages", "urgent"),
        ("intake.raise_abandoned_red_flags", "urgent"),
        ("carecore.heartbeat", "celery"),
    ],
)
def test_it_routes_each_task_to_its_queue(task_name: str, queue: str) -> None:
    assert queue_of(task_name) == queue


def test_every_registered_task_goes_to_a_queue_some_worker_consumes(settings) -> None:
    app.loader.import_default_modules()
    for name in app.tasks:
        if not name.startswith("celery."):
            assert queue_of(name) in settings.CARECORE_CELERY_QUEUES, name
