"""Every notification test starts with an empty SMS outbox (fixtures in tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _empty_sms_outbox(sms_outbox: Any) -> None:
    """`sms_outbox` clears the outbox before and after each test."""
