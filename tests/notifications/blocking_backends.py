"""A backend that hangs inside a delivery, so a test can kill the worker at that exact point.

`TEST_BLOCK_STAGE` says where: "before_send" (nothing written yet) or "after_send" (the message
is out but the worker has not recorded it). The worker touches `TEST_BLOCK_MARKER` when it gets
there.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from carecore.notifications.sms import FileSmsBackend, SmsMessage


class BlockingSmsBackend(FileSmsBackend):
    def send(self, message: SmsMessage) -> None:
        stage = os.environ["TEST_BLOCK_STAGE"]
        if stage == "after_send":
            super().send(message)
        Path(os.environ["TEST_BLOCK_MARKER"]).write_text(stage)
        time.sleep(600)  # killed long before this returns
        super().send(message)
