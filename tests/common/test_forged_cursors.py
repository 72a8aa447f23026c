"""A cursor is base64 anyone can write. Every cursor-paged list answers one whose position is not
a value of its ordering's column (a time that is no time) as an unknown cursor: 404 in the
contract's error shape, never a 500 (carecore/common/pagination.py)."""

from __future__ import annotations

import base64

import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db

FORGED = base64.b64encode(b"o=0&r=0&p=not-a-time-or-a-number").decode()


def _cursor_paged_lists() -> list[str]:
    """The API's GET lists that take a cursor and no path parameter, from the OpenAPI schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        path
        for path, operations in schema["paths"].items()
        if "{" not in path
        and any(
            parameter["name"] == "cursor"
            for parameter in operations.get("get", {}).get("parameters", [])
        )
    )


def test_the_schema_names_the_cursor_paged_lists():
    assert {"/api/v1/threads/", "/api/v1/notifications/"} <= set(_cursor_paged_lists())


@pytest.mark.parametrize("role", ["patient", "clinician", "coordinator", "scheduler", "admin"])
def test_a_forged_cursor_position_is_never_a_500(
    request, client_for, role, patient, clinician, coordinator, scheduler, admin_user
):
    user = {"patient": patient.user, "clinician": clinician.user, "admin": admin_user}.get(
        role, {"coordinator": coordinator, "scheduler": scheduler}.get(role)
    )
    client = client_for(user)
    answered = 0
    for path in _cursor_paged_lists():
        if client.get(path).status_code != 200:
            continue  # not this role's list
        answered += 1
        response = client.get(path, {"cursor": FORGED})
        # A list ordered by text takes any text as a position; the others refuse it.
        assert response.status_code in (200, 404), (path, response.status_code)
        if response.status_code == 404:
            assert response.json()["error"]["code"] == "not_found", path
    assert answered > 0
