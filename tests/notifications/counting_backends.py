"""File backends that also count: every call that hands a message to the "provider" appends
its idempotency key to `sends.log` next to the files. The files are written once per key (as a
real provider's idempotency key would make them), so they cannot show a second send; this log
does. A test reads it to prove that nothing was sent twice."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage

from carecore.notifications.mail import IdempotentFileEmailBackend
from carecore.notifications.sms import FileSmsBackend, SmsMessage

SENDS_LOG = "sends.log"


def _count(directory: Path, key: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    # One short append per call: O_APPEND keeps lines whole across worker processes.
    with (directory / SENDS_LOG).open("a", encoding="utf-8") as log:
        log.write(f"{key}\n")


class CountingFileEmailBackend(IdempotentFileEmailBackend):
    def _write_once(self, message: EmailMessage, key: str) -> None:
        _count(Path(self.file_path or settings.EMAIL_FILE_PATH), key)
        super()._write_once(message, key)


class CountingFileSmsBackend(FileSmsBackend):
    def send(self, message: SmsMessage) -> None:
        _count(self.directory, message.idempotency_key)
        super().send(message)


def sends(directory: Path) -> list[str]:
    """Every key handed to the backend writing into `directory`, once per call."""
    log = directory / SENDS_LOG
    return log.read_text(encoding="utf-8").split() if log.exists() else []
