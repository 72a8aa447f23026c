"""An e-mail backend for local development that, like a provider with idempotency keys, never
delivers one notification twice.

Django's file backend writes every call to a new file, so a retried delivery would show up twice
in `var/mail/`. This one writes messages that carry an `X-CareCore-Notification` header to
`<EMAIL_FILE_PATH>/<notification id>.eml`, exclusively and atomically; other messages (password
resets, admin mail) go through Django's file backend unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.filebased import EmailBackend as DjangoFileBackend

IDEMPOTENCY_HEADER = "X-CareCore-Notification"


class IdempotentFileEmailBackend(DjangoFileBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        plain = [
            message for message in email_messages if IDEMPOTENCY_HEADER not in message.extra_headers
        ]
        sent = super().send_messages(plain) if plain else 0
        for message in email_messages:
            key = message.extra_headers.get(IDEMPOTENCY_HEADER)
            if key:
                self._write_once(message, str(key))
                sent += 1
        return sent

    def _write_once(self, message: EmailMessage, key: str) -> None:
        directory = Path(self.file_path or settings.EMAIL_FILE_PATH)
        directory.mkdir(parents=True, exist_ok=True)
        final = directory / f"{Path(key).name}.eml"
        if final.exists():
            return
        partial = directory / f".{Path(key).name}.{os.getpid()}.partial"
        with partial.open("wb") as handle:
            handle.write(message.message().as_bytes())
        os.replace(partial, final)
