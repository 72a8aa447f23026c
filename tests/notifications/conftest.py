from __future__ import annotations

from collections.abc import Iterator

import pytest

from carecore.accounts.models import User
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


@pytest.fixture
def superuser_client(client):  # type: ignore[no-untyped-def]
    """The Django test client, signed in to the admin as a superuser."""
    user = User.objects.create_superuser("ops@example.test", "a-long-password-1", role="admin")
    client.force_login(user)
    return client
