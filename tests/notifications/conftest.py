from __future__ import annotations

from collections.abc import Iterator

import pytest

from carecore.celery import app
from carecore.notifications.sms import LocmemSmsBackend, SmsMessage


@pytest.fixture(autouse=True)
def sms_outbox() -> Iterator[list[SmsMessage]]:
    LocmemSmsBackend.outbox.clear()
    yield LocmemSmsBackend.outbox
    LocmemSmsBackend.outbox.clear()


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Run published tasks inline (in-process tests; the worker tests use a real worker)."""
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous
