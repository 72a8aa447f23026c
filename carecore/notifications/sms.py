"""The SMS provider interface and the local backends.

A backend receives an idempotency key (the notification id) with every message. A real provider
adapter passes it to the provider's idempotency header so a retried send is not charged or
delivered twice; the file backend below honours it itself.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class SmsMessage:
    to: str
    body: str
    idempotency_key: str


class SmsBackend(Protocol):
    def send(self, message: SmsMessage) -> None: ...


class FileSmsBackend:
    """Writes each message to `<CARECORE_SMS_FILE_PATH>/<idempotency key>.txt`.

    The file is written under a temporary name and renamed into place, so a crashed process
    leaves either no message or the whole message, and a second send of the same key finds the
    file and does nothing: delivery is exactly once per key. (No fsync: these are development
    files; the rename is atomic against a killed process, not against a power cut.)
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory or settings.CARECORE_SMS_FILE_PATH)

    def path_for(self, key: str) -> Path:
        return self.directory / f"{key}.txt"

    def send(self, message: SmsMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.path_for(message.idempotency_key)
        if final.exists():
            return
        partial = self.directory / f".{message.idempotency_key}.{os.getpid()}.partial"
        with partial.open("w", encoding="utf-8") as handle:
            handle.write(f"To: {message.to}\nKey: {message.idempotency_key}\n\n{message.body}\n")
        os.replace(partial, final)


class LocmemSmsBackend:
    """Keeps messages in `outbox` (like Django's locmem e-mail backend); for tests."""

    outbox: list[SmsMessage] = []
    _lock = threading.Lock()

    def send(self, message: SmsMessage) -> None:
        with self._lock:
            if any(sent.idempotency_key == message.idempotency_key for sent in self.outbox):
                return
            self.outbox.append(message)


def sms_enabled() -> bool:
    return bool(settings.CARECORE_SMS_BACKEND)


def get_sms_backend() -> SmsBackend:
    return import_string(settings.CARECORE_SMS_BACKEND)()
