"""The SMS provider interface, the local backends and Twilio.

A backend receives an idempotency key (the notification id) with every message. The file
backend honours it itself. Twilio's Messages API has no idempotency key (see
docs/notifications.md, "Exactly once, honestly"): the outbox's claim is what keeps a message
from being sent twice there, except after a worker crash in the instant between Twilio's answer
and our record of it.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from .errors import DeliveryError, PermanentDeliveryError

# Twilio answers these for a request worth repeating later; any other 4xx (invalid or
# unsubscribed number, bad sender) will fail the same way every time.
_TWILIO_RETRYABLE = frozenset({408, 429})


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


class TwilioSmsBackend:
    """Sends through Twilio's Messages API with the official SDK.

    From a Messaging Service (TWILIO_MESSAGING_SERVICE_SID) if one is configured, else from
    TWILIO_FROM_NUMBER. `http_client` is the SDK's transport (tests point one at 127.0.0.1).
    """

    def __init__(self, http_client: TwilioHttpClient | None = None) -> None:
        self.client = Client(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            http_client=http_client or TwilioHttpClient(timeout=settings.TWILIO_TIMEOUT_SECONDS),
        )

    def _sender(self) -> dict[str, str]:
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            return {"messaging_service_sid": settings.TWILIO_MESSAGING_SERVICE_SID}
        return {"from_": settings.TWILIO_FROM_NUMBER}

    def send(self, message: SmsMessage) -> None:
        try:
            self.client.messages.create(to=message.to, body=message.body, **self._sender())
        except TwilioRestException as error:
            # Twilio's message quotes the phone number: keep the status and error code only.
            if 400 <= error.status < 500 and error.status not in _TWILIO_RETRYABLE:
                raise PermanentDeliveryError("provider_refused", error.status) from None
            raise DeliveryError("provider_unavailable", error.status) from None


def sms_enabled() -> bool:
    return bool(settings.CARECORE_SMS_BACKEND)


def get_sms_backend() -> SmsBackend:
    return import_string(settings.CARECORE_SMS_BACKEND)()
