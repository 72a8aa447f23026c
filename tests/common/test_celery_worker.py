"""A real worker process consumes a task sent through the real Redis broker."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache

from carecore.common.tasks import heartbeat

from ..worker import purge_broker, running_worker, wait_until


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task_end_to_end():
    purge_broker()
    marker = uuid.uuid4().hex

    with running_worker():
        heartbeat.delay(marker)

        assert wait_until(lambda: cache.get(f"carecore:heartbeat:{marker}") is not None)
