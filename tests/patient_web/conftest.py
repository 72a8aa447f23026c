"""Patient page fixtures: Django's test client signed in through the real sign-in page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from carecore.accounts.models import User
from tests.factories import TEST_PASSWORD
from tests.portal.conftest import frozen, schedules  # noqa: F401  (fixtures for the booking pages)


def sign_in(client: Client, user: User, password: str = TEST_PASSWORD) -> None:
    response = client.post("/sign-in/", {"email": user.email, "password": password})
    assert response.status_code == 302, response.content


@pytest.fixture
def web_for() -> Callable[[User], Client]:
    """A browser-like client (session cookie, CSRF enforced) signed in as `user`."""

    def make(user: User) -> Client:
        client = Client(enforce_csrf_checks=False)
        sign_in(client, user)
        return client

    return make
