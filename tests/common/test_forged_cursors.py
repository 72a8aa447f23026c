"""A cursor is base64 anyone can write. Every cursor-paged list answers one whose position is not
a value of its ordering's column (a time that is no time) as an unknown cursor: 404 in the
contract's error shape, never a 500 (carecore/common/pagination.py). The slot list pages a
computed day by its own keyset cursor (portal/apis.py) and answers the same way."""

from __future__ import annotations

import base64

import pytest
import time_machine
from drf_spectacular.generators import SchemaGenerator

from ..portal.conftest import NOW, SLOTS, give_availability

pytestmark = pytest.mark.django_db

FORGED = base64.b64encode(b"o=0&r=0&p=not-a-time-or-a-number").decode()

# A list that answers only with some parameters is walked with them: the slot list needs a day
# (one with open slots: the forged position is compared with real slots) and a visit type.
REQUIRED_PARAMETERS = {SLOTS: {"date": "2026-06-11", "visit_type": "new"}}


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
    assert {"/api/v1/threads/", "/api/v1/notifications/", SLOTS} <= set(_cursor_paged_lists())


@pytest.fixture
def open_slots(clinician, other_clinician):
    """Now is 2026-06-10 12:00 UTC (for the whole test); both clinicians are open every day
    08:00-20:00 New York time."""
    with time_machine.travel(NOW, tick=False):
        give_availability(clinician)
        give_availability(other_clinician)
        yield


@pytest.mark.parametrize("role", ["patient", "clinician", "coordinator", "scheduler", "admin"])
def test_a_forged_cursor_position_is_never_a_500(
    request, client_for, role, patient, clinician, coordinator, scheduler, admin_user, open_slots
):
    user = {"patient": patient.user, "clinician": clinician.user, "admin": admin_user}.get(
        role, {"coordinator": coordinator, "scheduler": scheduler}.get(role)
    )
    client = client_for(user)
    answered = set()
    for path in _cursor_paged_lists():
        parameters = REQUIRED_PARAMETERS.get(path, {})
        if client.get(path, parameters).status_code != 200:
            continue  # not this role's list
        answered.add(path)
        for forged in (FORGED, SLOT_FORGERIES["a time without an offset"]):
            response = client.get(path, {**parameters, "cursor": forged})
            # A list ordered by text takes any text as a position; the others refuse it.
            assert response.status_code in (200, 404), (path, forged, response.status_code)
            if response.status_code == 404:
                assert response.json()["error"]["code"] == "not_found", path
    assert SLOTS in answered  # every role may ask for slots


def _slot_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


SLOT_FORGERIES = {
    # The review's example: the slots' times are aware, comparing them with it was a TypeError.
    "a time without an offset": _slot_cursor("2026-06-11T10:00|x"),
    "a time without an offset and a real clinician id": _slot_cursor(
        "2026-06-11T10:00|00000000-0000-0000-0000-000000000001"
    ),
    "a date and no time": _slot_cursor("2026-06-11|00000000-0000-0000-0000-000000000001"),
    "a clinician id that is no id": _slot_cursor("2026-06-11T10:00:00+00:00|x"),
    "no time": _slot_cursor("soon|00000000-0000-0000-0000-000000000001"),
    "one part": _slot_cursor("2026-06-11T10:00:00+00:00"),
    "three parts": _slot_cursor("2026-06-11T10:00:00+00:00|x|y|z"),
    "another list's cursor": FORGED,
    "not base64": "%%%",
    "not text": base64.urlsafe_b64encode(b"\xff\xfe|\xff").decode(),
}


@pytest.mark.parametrize("forgery", SLOT_FORGERIES)
@pytest.mark.parametrize("role", ["patient", "scheduler"])
def test_a_forged_slot_cursor_is_not_found(
    client_for, patient, scheduler, open_slots, role, forgery
):
    client = client_for({"patient": patient.user, "scheduler": scheduler}[role])
    day = {"date": "2026-06-11", "visit_type": "new"}
    assert client.get(SLOTS, day).json()["results"]  # real slots to compare with

    response = client.get(SLOTS, {**day, "cursor": SLOT_FORGERIES[forgery]})

    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
