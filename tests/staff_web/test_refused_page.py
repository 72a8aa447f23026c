"""The workspace's 403 page tells each refused role where its own work is."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from carecore.accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "way_out"),
    [("patient", 'href="/"'), ("admin", 'href="/admin/"')],
)
def test_a_refused_role_is_shown_where_its_work_is(
    role: str, way_out: str, actors: dict[str, User], staff_web_for: Callable[[User], Client]
) -> None:
    response = staff_web_for(actors[role]).get("/staff/")

    assert response.status_code == 403
    assert way_out in response.content.decode()
