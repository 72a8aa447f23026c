"""Every notification test starts with an empty SMS outbox (fixtures in tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from carecore.accounts.models import User


@pytest.fixture(autouse=True)
def _empty_sms_outbox(sms_outbox: Any) -> None:
    """`sms_outbox` clears the outbox before and after each test."""


@pytest.fixture
def superuser_client(client: Client) -> Client:
    """The Django test client, signed in to the admin as a superuser."""
    user = User.objects.create_superuser("ops@example.test", "a-long-password-1", role="admin")
    client.force_login(user)
    return client
