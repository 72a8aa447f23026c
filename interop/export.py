"""Bulk export (FHIR Bulk Data Access, `Patient/$export`): kick-off, the Celery run, status,
cancel and file download. Admin only; the export itself is audited per patient.

Files are NDJSON (one R4 resource per line, each validated), one per type, written under
`CARECORE_FHIR_EXPORT_ROOT/<job id>/` through a temporary name and renamed when complete, so a
half-written file is never served. A rerun (Celery redelivery after a crash) starts over and
overwrites; the job row's lock makes two runs of one job impossible at the same time.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from carecore.accounts.access import deny
from carecore.accounts.models import Role, User
from carecore.audit.models import Action
from carecore.audit.services import AuditTarget, audit_record, audit_record_many
from carecore.common.errors import Forbidden, NotFound

from .bundles import collect
from .models import ExportJob, ExportStatus
from .record import SPECS, ExportScope, Filters
from .search import Cursor, updated_since
from .validation import validate

EXPORT_TYPES = list(SPECS)  # the patient compartment plus the Practitioners and Questionnaires
BATCH = 500
FILE_SUFFIX = ".ndjson"


def export_root() -> Path:
    return Path(settings.CARECORE_FHIR_EXPORT_ROOT)


def _job_dir(job: ExportJob) -> Path:
    return export_root() / str(job.id)


def _require_admin(user: User) -> None:
    if user.role != Role.ADMIN:
        raise Forbidden("Only admins may export the clinic's records.")


@transaction.atomic
def export_start(
    *, user: User, types: list[str], since: datetime | None, request_url: str
) -> ExportJob:
    """Record the job and enqueue it once the row is committed."""
    _require_admin(user)
    job = ExportJob.objects.create(
        requested_by=user, types=types, since=since, request_url=request_url
    )
    audit_record(actor=user, object_type="fhir_export", object_id=job.id, action=Action.EXPORT)
    from .tasks import run_export  # the task module imports this one

    transaction.on_commit(lambda: run_export.delay(str(job.id)))
    return job


def access_export_job(*, user: User, job_id: UUID | str) -> ExportJob:
    """The caller's own job (admins only); anyone else's is NotFound, like any other row."""
    _require_admin(user)
    job = ExportJob.objects.filter(pk=job_id, requested_by=user).first()
    if job is None or job.status in (ExportStatus.CANCELLED, ExportStatus.EXPIRED):
        # Another admin's job, or one that is gone: audited like every other denied lookup.
        deny(user=user, object_type="fhir_export", object_id=job_id, action=Action.READ)
    return job


@transaction.atomic
def export_cancel(*, user: User, job_id: UUID | str) -> None:
    job = access_export_job(user=user, job_id=job_id)
    job = ExportJob.objects.select_for_update().get(pk=job.pk)
    job.status = ExportStatus.CANCELLED
    job.save(update_fields=["status"])
    transaction.on_commit(lambda: shutil.rmtree(_job_dir(job), ignore_errors=True))


@dataclass(frozen=True)
class ExportFile:
    path: Path
    name: str


def export_file(*, user: User, job_id: UUID | str, name: str) -> ExportFile:
    """A completed job's output file, for its requester; audited as a download."""
    job = access_export_job(user=user, job_id=job_id)
    if job.status != ExportStatus.COMPLETED or name not in {item["file"] for item in job.output}:
        raise NotFound()
    audit_record(
        actor=user, object_type="fhir_export_file", object_id=job.id, action=Action.DOWNLOAD
    )
    return ExportFile(path=_job_dir(job) / name, name=name)


# --- the run (Celery) --------------------------------------------------------------------------


def _claim(job_id: UUID | str) -> ExportJob | None:
    """Mark the job running, unless it is finished or cancelled (a duplicate delivery)."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status not in (ExportStatus.ACCEPTED, ExportStatus.IN_PROGRESS):
            return None
        job.status = ExportStatus.IN_PROGRESS
        job.transaction_time = timezone.now()
        job.resources_done = 0
        job.save(update_fields=["status", "transaction_time", "resources_done"])
    return job


def export_run(*, job_id: UUID | str) -> ExportJob | None:
    job = _claim(job_id)
    if job is None:
        return None
    directory = _job_dir(job)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    filters = Filters(updated=updated_since(job.since))
    output = []
    for type_name in job.types:
        count = _write_type(job, type_name, filters, directory)
        if count is None:
            return None  # cancelled meanwhile
        if count:
            output.append({"type": type_name, "file": f"{type_name}{FILE_SUFFIX}", "count": count})
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().get(pk=job.pk)
        if job.status != ExportStatus.IN_PROGRESS:
            return None
        job.status = ExportStatus.COMPLETED
        job.completed_at = timezone.now()
        job.output = output
        job.save(update_fields=["status", "completed_at", "output"])
    return job


def export_fail(*, job_id: UUID | str, reason: str) -> None:
    ExportJob.objects.filter(pk=job_id, status=ExportStatus.IN_PROGRESS).update(
        status=ExportStatus.FAILED, error=reason, completed_at=timezone.now()
    )


def _write_type(job: ExportJob, type_name: str, filters: Filters, directory: Path) -> int | None:
    scope = ExportScope()
    partial = directory / f"{type_name}{FILE_SUFFIX}.partial"
    count = 0
    cursor = Cursor(0, None)
    with partial.open("w", encoding="utf-8") as out:
        while True:
            page = collect(
                scope, [type_name], filters={type_name: filters}, cursor=cursor, limit=BATCH
            )
            for entry in page.entries:
                validate(entry.resource)
                out.write(json.dumps(entry.resource, separators=(",", ":")))
                out.write("\n")
            count += len(page.entries)
            _audit_exported(job, type_name, page.entries)
            if not _progress(job, len(page.entries)):
                return None
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    if count:
        partial.rename(directory / f"{type_name}{FILE_SUFFIX}")
    else:
        partial.unlink()
    return count


def _audit_exported(job: ExportJob, type_name: str, entries: list[Any]) -> None:
    """One `export` event per patient whose record left CareCore (with the Patient line), so
    "who has seen my record" shows the export without one event per message."""
    if type_name != "Patient":
        return
    audit_record_many(
        actor=job.requested_by,
        targets=[
            AuditTarget("patient", entry.resource["id"], entry.patient_id) for entry in entries
        ],
        action=Action.EXPORT,
    )


def _progress(job: ExportJob, done: int) -> bool:
    """Count progress; False once the job was cancelled (the run stops)."""
    updated = ExportJob.objects.filter(pk=job.pk, status=ExportStatus.IN_PROGRESS).update(
        resources_done=F("resources_done") + done
    )
    return bool(updated)


def exports_expire(*, now: datetime | None = None) -> int:
    """Delete the files of exports that finished more than the retention period ago (they hold
    whole patient records) and mark those jobs expired. Idempotent; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(
        hours=settings.CARECORE_FHIR_EXPORT_RETENTION_HOURS
    )
    expired = 0
    finished = (ExportStatus.COMPLETED, ExportStatus.FAILED)
    for job in ExportJob.objects.filter(status__in=finished, completed_at__lt=cutoff):
        shutil.rmtree(_job_dir(job), ignore_errors=True)
        expired += ExportJob.objects.filter(pk=job.pk, status__in=finished).update(
            status=ExportStatus.EXPIRED
        )
    return expired


def manifest(*, job: ExportJob, base_url: str) -> dict[str, Any]:
    return {
        "transactionTime": job.transaction_time.isoformat() if job.transaction_time else None,
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [
            {
                "type": item["type"],
                "url": f"{base_url}/$export-file/{job.id}/{item['file']}",
                "count": item["count"],
            }
            for item in job.output
        ],
        "error": [],
    }
