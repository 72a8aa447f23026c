"""The audit trail: one row per read or write of patient data. Append-only in the database.

Actor and patient are plain UUIDs, not foreign keys: the trail must outlive the rows it names and
must never be cascaded away. A trigger (migration 0002) makes UPDATE and DELETE raise.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models.expressions import RawSQL
from django.utils import timezone


class Action(models.TextChoices):
    READ = "read"
    LIST = "list"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    DOWNLOAD = "download"
    EXPORT = "export"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    BREAK_GLASS = "break_glass"


class Outcome(models.TextChoices):
    SUCCESS = "success"
    DENIED = "denied"
    FAILED = "failed"


class AuditEvent(models.Model):
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Found by `audit_actor_time` (actor, then time): an index of its own would only double the
    # work of every INSERT, and an inbox page writes one event per patient shown.
    actor_id = models.UUIDField(null=True, blank=True)
    actor_role = models.CharField(max_length=20, blank=True)
    patient_id = models.UUIDField(null=True, blank=True)
    # A list event that showed several patients' rows names them here instead, one entry per row
    # of `detail["object_ids"]` (patient_id is then null): one event per request, not one per
    # patient shown (docs/architecture.md, "The shape of a list event"). Empty otherwise.
    patient_ids = ArrayField(
        models.UUIDField(), default=list, db_default=RawSQL("'{}'::uuid[]", ()), blank=True
    )
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    # Codes and ids only (e.g. {"break_glass": true}); never free text or clinical data.
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["patient_id", "-occurred_at"], name="audit_patient_time"),
            models.Index(fields=["actor_id", "-occurred_at"], name="audit_actor_time"),
            # Finds the events of several patients by any one of them (`patient_ids @> {id}`).
            GinIndex(fields=["patient_ids"], name="audit_patients_shown"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} {self.object_type}"
