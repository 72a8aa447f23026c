"""Celery: the bulk export run. Takes the job id; all the work is in export.export_run."""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from carecore.common.errors import log_unhandled

from .export import export_fail, export_run, exports_expire

# A clinic's export takes minutes, not the platform's default 60 s; the hard limit stays finite so
# a stuck run still ends (and is reported as failed).
EXPORT_SOFT_TIME_LIMIT = 60 * 60
EXPORT_TIME_LIMIT = EXPORT_SOFT_TIME_LIMIT + 60


@shared_task(
    name="interop.run_export",
    soft_time_limit=EXPORT_SOFT_TIME_LIMIT,
    time_limit=EXPORT_TIME_LIMIT,
)
def run_export(job_id: str) -> None:
    try:
        export_run(job_id=job_id)
    except SoftTimeLimitExceeded:
        export_fail(job_id=job_id, reason="time_limit")
    except Exception as exc:
        log_unhandled(exc)  # where it failed, never the message (it may quote patient data)
        export_fail(job_id=job_id, reason="internal_error")


@shared_task(name="interop.expire_exports")
def expire_exports() -> int:
    """Beat: delete export files past their retention (idempotent)."""
    return exports_expire()
