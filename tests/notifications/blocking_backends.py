"""Backends that hang inside a delivery: so a test can kill the worker at that exact point, or
hold a queue's worker busy (a slow provider) while another queue's worker goes on.

`TEST_BLOCK_STAGE` says where: "before_send" (nothing written yet) or "after_send" (the message
is out but the worker has not recorded it). The worker touches `TEST_BLOCK_MARKER` when it gets
there.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from django.core.mail import EmailMessage

from carecore.notifications.mail import IdempotentFileEmailBackend
from carecore.notifications.sms import FileSmsBackend, SmsMessage


class BlockingSmsBackend(FileSmsBackend):
    def send(self, message: SmsMessage) -> None:
        stage = os.environ["TEST_BLOCK_STAGE"]
        if stage == "after_send":
            super().send(message)
        Path(os.environ["TEST_BLOCK_MARKER"]).write_text(stage)
        time.sleep(600)  # killed long before this returns
        super().send(message)


class GatedFileEmailBackend(IdempotentFileEmailBackend):
    """A slow provider: each send waits until the test opens the gate (creates the file
    `TEST_GATE`), after touching `TEST_BLOCK_MARKER` to say a send is waiting."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        Path(os.environ["TEST_BLOCK_MARKER"]).touch()
        gate = Path(os.environ["TEST_GATE"])
        deadline = time.monotonic() + 600
        while not gate.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return super().send_messages(email_messages)
