"""Celery's own failure log carries no exception messages (they can quote patient data)."""

from __future__ import annotations

import logging
import uuid

import pytest
from django.db import transaction

from carecore.common.logging import WITHHELD, TaskFailureFilter

from ..factories import PatientFactory
from ..worker import purge_broker, running_worker, wait_until
from .canary_tasks import fail_with_patient_data


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_failing_task_puts_no_patient_data_in_the_worker_log(clinician):
    purge_broker()
    canary = f"Canary{uuid.uuid4().hex[:12]}"
    with transaction.atomic():
        patient = PatientFactory(
            user__first_name=canary, user__last_name=f"{canary}son", user__phone="+12125550177"
        )

    with running_worker(
        log_name="canary-failure", include=("tests.common.canary_tasks",)
    ) as worker:
        result = fail_with_patient_data.delay(str(patient.user_id))

        assert wait_until(lambda: "raised unexpected" in worker.log), worker.log
        log = worker.log

    assert canary not in log
    assert "2125550177" not in log
    # Still diagnosable: the task, its id, the exception types and where they were raised.
    assert f"tests.fail_with_patient_data[{result.id}] raised unexpected" in log
    assert "tests.common.canary_tasks.ReachabilityError" in log
    assert "LookupError" in log and "canary_tasks.py" in log
    assert WITHHELD in log


def _record(**overrides) -> logging.LogRecord:  # type: ignore[no-untyped-def]
    record = logging.LogRecord("celery.app.trace", logging.ERROR, __file__, 1, "m", None, None)
    record.__dict__.update(overrides)
    return record


def test_the_filter_withholds_messages_in_every_shape_celery_logs_them():
    patient_text = "Jane Doe, 555-0100"  # data, not source: tracebacks keep source lines
    try:
        raise ValueError(patient_text)
    except ValueError as error:
        failure = _record(
            msg="Task %(name)s[%(id)s] %(description)s: %(exc)s",
            args={
                "name": "t",
                "id": "1",
                "description": "raised unexpected",
                "exc": "ValueError('Jane Doe, 555-0100')",
                "traceback": "... Jane Doe",
            },
            exc_info=(ValueError, error, error.__traceback__),
        )
        handler_error = _record(msg="Task handler raised error: %r", args=(error,))

    for record in (failure, handler_error):
        TaskFailureFilter().filter(record)
        formatted = logging.Formatter().format(record)
        assert "Jane Doe" not in formatted and "555-0100" not in formatted
        assert "ValueError" in formatted
