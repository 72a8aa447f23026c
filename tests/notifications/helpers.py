"""Helpers for the end-to-end notification tests: file backends for worker processes, and one
notification announced directly. A throwaway Redis broker: tests/local_servers.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from carecore.accounts.models import User
from carecore.notifications.models import Event, Notification
from carecore.notifications.services import notify


@dataclass
class Outboxes:
    mail: Path
    sms: Path

    def emails(self) -> list[Path]:
        return sorted(self.mail.glob("*.eml")) if self.mail.exists() else []

    def texts(self) -> list[Path]:
        return sorted(self.sms.glob("*.txt")) if self.sms.exists() else []

    def partials(self) -> list[Path]:
        return [
            *(self.mail.glob(".*") if self.mail.exists() else []),
            *(self.sms.glob(".*") if self.sms.exists() else []),
        ]


def use_file_backends(monkeypatch: pytest.MonkeyPatch, directory: Path) -> Outboxes:
    """Worker processes started after this write e-mail and SMS as files under `directory`."""
    outboxes = Outboxes(mail=directory / "mail", sms=directory / "sms")
    monkeypatch.setenv(
        "TEST_EMAIL_BACKEND", "carecore.notifications.mail.IdempotentFileEmailBackend"
    )
    monkeypatch.setenv("TEST_EMAIL_FILE_PATH", str(outboxes.mail))
    monkeypatch.setenv("TEST_SMS_BACKEND", "carecore.notifications.sms.FileSmsBackend")
    monkeypatch.setenv("TEST_SMS_FILE_PATH", str(outboxes.sms))
    return outboxes


def notify_one(
    user: User,
    channel: str,
    *,
    event: str = Event.APPOINTMENT_REMINDER,
    subject_type: str = "appointment",
    subject_id: uuid.UUID | None = None,
    link_path: str = "/visits/1/",
) -> Notification | None:
    """Announce one event to `user`; return its row on `channel` (None if none was written)."""
    rows = notify(
        event=event,
        recipients=[user],
        subject_type=subject_type,
        subject_id=subject_id or uuid.uuid4(),
        link_path=link_path,
    )
    return next((row for row in rows if row.channel == channel), None)
