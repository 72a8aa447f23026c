"""The workspace's role matrix: every staff page (every URL pattern of `staff_web`), as every
role, with the answer each must get.

The roles are the fixed actors of tests/conftest.py plus a signed-out visitor:
- patient: the patient whose thread and review the pages are about (their own data: they have
  the portal, so the workspace refuses them);
- clinician: on that patient's care team; other_clinician: a clinician of another team;
- coordinator: on the team (the clinician's coordinator); scheduler; admin; anonymous.

The answers:
- ALLOWED: the page (200 for a GET, a redirect back for a form POST without htmx). A page that
  shows the patient's data shows it to the team only: a list page is ALLOWED for another team's
  clinician too (their own list), without this patient's data in it.
- NOT_FOUND: 404, the same as for an id that does not exist (another team's thread or review).
- REFUSED: the workspace's 403 page, whatever the id (a role that never uses the page).
- SIGN_IN: a redirect to the workspace's sign-in page, coming back afterwards.
A page never shows the patient's data in any answer but ALLOWED.

Adding a page is one line in PAGES, e.g.:

    "staff_web:chart": Page(patient, rule=CARE_TEAM_OBJECT, shows=patient_name),

and a page with no line (or a line naming no page) fails `test_every_staff_page_has_a_row`
(or `test_every_row_names_a_page`), naming it. The object routes are also in
tests/test_bola_matrix.py, which checks their API-style BOLA property; this one checks pages.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from carecore.accounts.models import Clinician, Patient, User
from intake.models import IntakeReview
from messaging.models import Thread
from tests.messaging.conftest import open_thread

from .conftest import sign_in
from .test_review_pages import completed_poem

pytestmark = pytest.mark.django_db


class Outcome(enum.StrEnum):
    ALLOWED = "allowed"
    NOT_FOUND = "not_found"
    REFUSED = "refused"
    SIGN_IN = "sign_in"


ALLOWED, NOT_FOUND, REFUSED, SIGN_IN = Outcome

ROLES = (
    "patient",
    "clinician",
    "other_clinician",
    "coordinator",
    "scheduler",
    "admin",
    "anonymous",
)
ON_THE_TEAM = {"clinician", "coordinator"}


def rule(
    *,
    patient: Outcome = REFUSED,
    clinician: Outcome,
    other_clinician: Outcome,
    coordinator: Outcome,
    scheduler: Outcome = REFUSED,
    admin: Outcome = REFUSED,
    anonymous: Outcome = SIGN_IN,
) -> dict[str, Outcome]:
    return {
        "patient": patient,
        "clinician": clinician,
        "other_clinician": other_clinician,
        "coordinator": coordinator,
        "scheduler": scheduler,
        "admin": admin,
        "anonymous": anonymous,
    }


# A care-team page listing the caller's own patients' things (inbox, review queue).
CARE_TEAM_LIST = rule(clinician=ALLOWED, other_clinician=ALLOWED, coordinator=ALLOWED)
# A care-team page about one of the patient's things: another team's clinician gets a 404.
CARE_TEAM_OBJECT = rule(clinician=ALLOWED, other_clinician=NOT_FOUND, coordinator=ALLOWED)
# Clinicians' work on one of the patient's things; coordinators read but never act.
CLINICIAN_OBJECT = rule(clinician=ALLOWED, other_clinician=NOT_FOUND, coordinator=REFUSED)
# A scheduling page: schedulers and clinicians (their own calendar), never patients.
SCHEDULING = rule(
    clinician=ALLOWED, other_clinician=ALLOWED, coordinator=REFUSED, scheduler=ALLOWED
)


# --- the world: the patient on the clinician's team, and their things, made on first use ------


@dataclass
class World:
    actors: dict[str, User]
    patient: Patient
    built: dict[str, Any] = field(default_factory=dict)

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self.built:
            self.built[key] = make()
        return self.built[key]


SUBJECT = "Flare on my arms, matrix"

Kwargs = Callable[[World], dict[str, Any]]
Marker = Callable[[World], str]


def no_object(world: World) -> dict[str, Any]:
    return {}


def _thread(world: World) -> Thread:
    return world.once("thread", lambda: open_thread(world.patient, subject=SUBJECT))


def thread(world: World) -> dict[str, Any]:
    return {"thread_id": _thread(world).id}


def intake_review(world: World) -> dict[str, Any]:
    review: IntakeReview = world.once(
        "review", lambda: completed_poem(world.patient, 1, 2, 3, 1, 2, 3, 1)
    )
    return {"review_id": review.id}


def thread_subject(world: World) -> str:
    _thread(world)  # the list pages list it
    return SUBJECT


def patient_name(world: World) -> str:
    return world.patient.user.full_name


def reviewed_patient_name(world: World) -> str:
    intake_review(world)  # the queue lists it
    return world.patient.user.full_name


@dataclass(frozen=True)
class Page:
    """One page: the URL's arguments (made on the patient of the clinician's team), the method,
    who gets what, a body for a form POST, and a text of the patient's the page shows when
    allowed (checked present for the team, absent in every other answer)."""

    kwargs: Kwargs = no_object
    rule: Mapping[str, Outcome] = field(default_factory=lambda: CARE_TEAM_OBJECT)
    method: str = "get"
    body: Mapping[str, str] = field(default_factory=dict)
    shows: Marker | None = None


PAGES: dict[str, Page] = {
    "staff_web:inbox": Page(rule=CARE_TEAM_LIST, shows=thread_subject),
    "staff_web:inbox-list": Page(rule=CARE_TEAM_LIST, shows=thread_subject),
    "staff_web:thread": Page(thread, shows=thread_subject),
    "staff_web:thread-updates": Page(thread, shows=patient_name),
    "staff_web:thread-claim": Page(thread, method="post"),
    "staff_web:thread-release": Page(thread, method="post"),
    "staff_web:thread-assign": Page(thread, method="post", body={"assignee": ""}),
    "staff_web:thread-close": Page(thread, method="post"),
    "staff_web:thread-reopen": Page(thread, method="post"),
    "staff_web:reviews": Page(rule=CARE_TEAM_LIST, shows=reviewed_patient_name),
    "staff_web:review": Page(intake_review, shows=patient_name),
}

# Staff pages outside the matrix, with the reason.
NOT_GUARDED = {
    "staff_web:sign-in": "the sign-in page itself, open to everyone (test_sign_in.py)",
    "staff_web:sign-out": "ends whatever session there is, for everyone (test_sign_in.py)",
}


# --- the walk ---------------------------------------------------------------------------------


def _walk(patterns: list[Any], namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern):
            yield namespace, entry


def staff_pages() -> set[str]:
    """Every URL pattern whose view lives in staff_web, by namespaced name."""
    return {
        f"{namespace}{pattern.name}"
        for namespace, pattern in _walk(get_resolver().url_patterns)
        if pattern.lookup_str.startswith("staff_web.")
    }


def test_every_staff_page_has_a_row() -> None:
    missing = sorted(staff_pages() - set(PAGES) - set(NOT_GUARDED))
    assert not missing, (
        "These workspace pages have no row in tests/staff_web/test_role_matrix.py: add one to "
        "PAGES (how to build its URL, and who gets what), or to NOT_GUARDED with the reason: "
        + ", ".join(missing)
    )


def test_every_row_names_a_page() -> None:
    stale = sorted((set(PAGES) | set(NOT_GUARDED)) - staff_pages())
    assert not stale, f"rows for pages the URLconf no longer has: {stale}"


# --- the matrix -------------------------------------------------------------------------------


@pytest.fixture
def world(actors: dict[str, User], patient: Patient, clinician: Clinician) -> World:
    return World(actors=actors, patient=patient)


def _client(world: World, role: str) -> Client:
    client = Client()
    if role != "anonymous":
        sign_in(client, world.actors[role])
    return client


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(PAGES))
def test_each_role_gets_its_answer_on_each_page(
    name: str, role: str, world: World, questionnaires: None
) -> None:
    page = PAGES[name]
    url = reverse(name, kwargs=page.kwargs(world))
    marker = page.shows(world) if page.shows else None
    client = _client(world, role)

    response = getattr(client, page.method)(url, dict(page.body))

    outcome = page.rule[role]
    html = response.content.decode()
    if outcome == ALLOWED:
        if page.method == "get":
            assert response.status_code == 200, f"{role} on {name}: {response.status_code}"
        else:
            assert response.status_code == 302, f"{role} on {name}: {response.status_code}"
            assert not response["Location"].startswith("/staff/sign-in/")
    elif outcome == SIGN_IN:
        assert response.status_code == 302, f"{role} on {name}: {response.status_code}"
        assert response["Location"].startswith("/staff/sign-in/?next=/staff/")
    else:
        expected = 404 if outcome == NOT_FOUND else 403
        assert response.status_code == expected, f"{role} on {name}: {response.status_code}"
    if marker is not None and role != "patient":  # the patient's own name greets them anywhere
        shown = outcome == ALLOWED and role in ON_THE_TEAM
        assert (marker in html) == shown, f"{role} on {name}: {marker!r} should be shown: {shown}"
