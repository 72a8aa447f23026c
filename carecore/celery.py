"""The Celery app. Configuration lives in Django settings under the CELERY_ prefix."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_process_init
from multidb.pinning import pin_this_thread, unpin_this_thread

from carecore.common.logging import install_task_failure_filter
from carecore.common.server_loop import start_background_loop

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carecore.settings.local")

app = Celery("carecore")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
install_task_failure_filter()


@task_prerun.connect
def hand_back_database_connections(task: Any = None, **kwargs: Any) -> None:
    """With CELERY_DB_REUSE_MAX (the default) Celery keeps a worker's connection pool open
    between tasks instead of closing it around every task. This returns each task's leftover
    connection to the pool as a finished request would; the pool checks a connection before
    handing it out again (carecore/common/postgresql/pool_check.py), so a task never starts on
    a connection the server dropped (restart, failover, pg_terminate_backend)."""
    if task is not None and getattr(task.request, "is_eager", False):
        return  # runs inside the caller's connection and transaction
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


# With read replicas configured, a task reads the primary for its whole run: it was queued by a
# commit it must see (docs/scaling.md, "Read replicas"). Without replicas this changes nothing.
@task_prerun.connect
def _read_the_primary_during_tasks(**_: Any) -> None:
    pin_this_thread()


@task_postrun.connect
def _unpin_after_tasks(**_: Any) -> None:
    unpin_this_thread()


@worker_process_init.connect
def _publish_on_a_loop_of_our_own(**_: Any) -> None:
    """Each pool process publishes real-time events (messaging's announcer) on one long-lived
    event loop, so its channel-layer connections stay open between tasks (server_loop.py)."""
    start_background_loop()
