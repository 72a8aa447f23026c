"""The Celery app. Configuration lives in Django settings under the CELERY_ prefix."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun
from multidb.pinning import pin_this_thread, unpin_this_thread

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carecore.settings.local")

app = Celery("carecore")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# With read replicas configured, a task reads the primary for its whole run: it was queued by a
# commit it must see (docs/scaling.md, "Read replicas"). Without replicas this changes nothing.
@task_prerun.connect
def _read_the_primary_during_tasks(**_: Any) -> None:
    pin_this_thread()


@task_postrun.connect
def _unpin_after_tasks(**_: Any) -> None:
    unpin_this_thread()
