"""Bulk export jobs (FHIR Bulk Data `Patient/$export`): one row per kick-off, polled by id."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.timezone import now


class ExportStatus(models.TextChoices):
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # finished, and its files deleted after the retention period


class ExportJob(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=ExportStatus.choices, default=ExportStatus.ACCEPTED
    )
    # The kick-off URL as requested (parameters only: types and a date, never patient data).
    request_url = models.URLField(max_length=2000)
    types = models.JSONField(default=list)
    since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    # When the export started reading: a later `_since` export picks up from here.
    transaction_time = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # [{"type": "Patient", "file": "Patient.ndjson", "count": 8}, ...] once completed.
    output = models.JSONField(default=list)
    resources_done = models.PositiveIntegerField(default=0)
    # A code-level reason on failure; never exception text (it could quote patient data).
    error = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["requested_by", "-created_at"], name="export_job_owner")]

    def __str__(self) -> str:
        return f"Export job {self.id}"
