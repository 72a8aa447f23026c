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
from datetime import time, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from carecore.accounts import services as account_services
from carecore.accounts.models import Clinician, Patient, User
from careplans.models import CarePlan
from intake.models import IntakeReview
from messaging.models import Thread
from portal import services as portal
from portal.models import Appointment
from tests.messaging.conftest import open_thread
from tests.portal.conftest import NOW, TOMORROW, at, book_directly, give_availability

from .conftest import sign_in
from .test_plan_pages import drafted, editor_data, intake_done
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
# Clinical pages about the patient (chart, plans, pre-visit summary): the care team reads them;
# a scheduler gets the 404 of a missing patient (never clinical data, not even that it exists).
CLINICAL_OBJECT = rule(
    clinician=ALLOWED, other_clinician=NOT_FOUND, coordinator=ALLOWED, scheduler=NOT_FOUND
)
# Changing a plan: clinicians on the team; coordinators read but are refused any change.
CLINICAL_CHANGE = rule(
    clinician=ALLOWED, other_clinician=NOT_FOUND, coordinator=REFUSED, scheduler=NOT_FOUND
)
# The calendar and booking: clinicians, coordinators and schedulers.
SCHEDULE_LIST = rule(
    clinician=ALLOWED, other_clinician=ALLOWED, coordinator=ALLOWED, scheduler=ALLOWED
)
# Moving or cancelling one of the patient's visits: another team's is a 404, a scheduler's never.
SCHEDULE_OBJECT = rule(
    clinician=ALLOWED, other_clinician=NOT_FOUND, coordinator=ALLOWED, scheduler=ALLOWED
)
# The clinician's hours and time off: their own, or any for a scheduler; another clinician's a
# 404; coordinators refused (the API's rule).
OWN_AVAILABILITY = rule(
    clinician=ALLOWED, other_clinician=NOT_FOUND, coordinator=REFUSED, scheduler=ALLOWED
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


def _clinician(world: World) -> Clinician:
    return Clinician.objects.get(user=world.actors["clinician"])


def _draft(world: World) -> CarePlan:
    def make() -> CarePlan:
        intake_done(world.patient)
        return drafted(world.patient, _clinician(world))

    plan: CarePlan = world.once("draft", make)
    return plan


def the_patient(world: World) -> dict[str, Any]:
    return {"patient_id": world.patient.id}


def draft(world: World) -> dict[str, Any]:
    return {"plan_id": _draft(world).id}


def draft_edit(world: World) -> dict[str, str]:
    return {key: str(value) for key, value in editor_data(_draft(world)).items()}


def _visit(world: World) -> Appointment:
    def make() -> Appointment:
        clinician = _clinician(world)
        give_availability(clinician)
        return book_directly(patient=world.patient, clinician=clinician, start=at(TOMORROW, 10))

    visit: Appointment = world.once("visit", make)
    return visit


def visit(world: World) -> dict[str, Any]:
    return {"appointment_id": _visit(world).id}


def clinician_id(world: World) -> dict[str, Any]:
    return {"clinician_id": _clinician(world).id}


def availability_rule(world: World) -> dict[str, Any]:
    clinician = _clinician(world)
    hours = world.once(
        "hours",
        lambda: portal.availability_rule_create(
            actor=None,
            clinician=clinician,
            weekday=2,
            start_time=time(9),
            end_time=time(12),
            visit_types=["new"],
        ),
    )
    return {"clinician_id": clinician.id, "rule_id": hours.id}


def break_glass_grant(world: World) -> dict[str, Any]:
    """Emergency access to the patient opened by another team's clinician, so the row also
    checks that a grant's holder does not see it here (the care team reviews it)."""
    grant = world.once(
        "grant",
        lambda: account_services.break_glass_open(
            user=world.actors["other_clinician"],
            patient_id=world.patient.id,
            reason="Covering the on-call line tonight, the team is unreachable.",
        ),
    )
    return {"grant_id": grant.id}


def time_off(world: World) -> dict[str, Any]:
    clinician = _clinician(world)
    off = world.once(
        "time-off",
        lambda: portal.time_off_create(
            actor=None,
            clinician=clinician,
            starts_at=NOW + timedelta(days=20),
            ends_at=NOW + timedelta(days=21),
        ),
    )
    return {"clinician_id": clinician.id, "time_off_id": off.id}


@dataclass(frozen=True)
class Page:
    """One page: the URL's arguments (made on the patient of the clinician's team), the method,
    who gets what, a body for a form POST, and a text of the patient's the page shows when
    allowed (checked present for the team, absent in every other answer)."""

    kwargs: Kwargs = no_object
    rule: Mapping[str, Outcome] = field(default_factory=lambda: CARE_TEAM_OBJECT)
    method: str = "get"
    body: Mapping[str, str] | Callable[[World], Mapping[str, str]] = field(default_factory=dict)
    shows: Marker | None = None
    # Roles an ALLOWED answer shows the marker to (the schedule shows schedulers names too).
    shown_to: frozenset[str] = frozenset(ON_THE_TEAM)
    # An old path: ALLOWED is a redirect to this page (whose own row checks who gets what).
    moved_to: str = ""


PAGES: dict[str, Page] = {
    "staff_web:inbox": Page(rule=CARE_TEAM_LIST, shows=thread_subject),
    "staff_web:inbox-list": Page(rule=CARE_TEAM_LIST, shows=thread_subject),
    "staff_web:thread": Page(thread, shows=thread_subject),
    "staff_web:thread-updates": Page(thread, shows=patient_name),
    # Break-glass from an escalation (test_escalation_break_glass_page.py): nobody here was
    # called in on one, so the team is sent to the thread it reads, anyone else gets the 404.
    "staff_web:thread-break-glass": Page(thread, method="post", body={"reason": ""}),
    "staff_web:thread-claim": Page(thread, method="post"),
    "staff_web:thread-release": Page(thread, method="post"),
    "staff_web:thread-assign": Page(thread, method="post", body={"assignee": ""}),
    "staff_web:thread-close": Page(thread, method="post"),
    "staff_web:thread-reopen": Page(thread, method="post"),
    "staff_web:reviews": Page(rule=CARE_TEAM_LIST, shows=reviewed_patient_name),
    "staff_web:review": Page(intake_review, shows=patient_name),
    # Break-glass from an escalated red-flag page (test_escalation_break_glass_review_page.py):
    # nobody here was called in on one, so the team is sent to the review it reads, anyone else
    # gets the 404.
    "staff_web:review-break-glass": Page(intake_review, method="post", body={"reason": ""}),
    # The patient chart, and the care-plan editor: clinical, read by the team; changed by
    # the team's clinicians only (docs/web-portal.md, "Patient chart", "Care-plan editor").
    "staff_web:patient": Page(the_patient, rule=CLINICAL_OBJECT, shows=patient_name),
    "staff_web:care_plan": Page(the_patient, rule=CLINICAL_OBJECT, shows=patient_name),
    "staff_web:care_plan_compare": Page(the_patient, rule=CLINICAL_OBJECT, shows=patient_name),
    "staff_web:care_plan_version": Page(draft, rule=CLINICAL_OBJECT, shows=patient_name),
    "staff_web:care_plan_edit": Page(draft, rule=CLINICAL_CHANGE, method="post", body=draft_edit),
    "staff_web:care_plan_discard": Page(draft, rule=CLINICAL_CHANGE, method="post"),
    # The schedule (docs/web-portal.md, "Schedule"), and the pre-visit summary.
    "staff_web:schedule": Page(rule=SCHEDULE_LIST),
    "staff_web:schedule-book": Page(rule=SCHEDULE_LIST),
    "staff_web:schedule-availability": Page(clinician_id, rule=OWN_AVAILABILITY),
    "staff_web:schedule-rule-delete": Page(availability_rule, rule=OWN_AVAILABILITY, method="post"),
    "staff_web:schedule-time-off-delete": Page(time_off, rule=OWN_AVAILABILITY, method="post"),
    "staff_web:schedule-reschedule": Page(
        visit,
        rule=SCHEDULE_OBJECT,
        shows=patient_name,
        shown_to=frozenset(ON_THE_TEAM | {"scheduler"}),
    ),
    "staff_web:schedule-cancel": Page(
        visit,
        rule=SCHEDULE_OBJECT,
        shows=patient_name,
        shown_to=frozenset(ON_THE_TEAM | {"scheduler"}),
    ),
    # One visit (the page visit notifications link staff to): as moving and cancelling it.
    "staff_web:visit": Page(
        visit,
        rule=SCHEDULE_OBJECT,
        shows=patient_name,
        shown_to=frozenset(ON_THE_TEAM | {"scheduler"}),
    ),
    "staff_web:visit_summary": Page(visit, rule=CLINICAL_OBJECT, shows=patient_name),
    # A break-glass grant: the patient's care team reviews it; another team's clinician (here
    # the grant's holder) gets the 404 of a missing grant (docs/web-portal.md, "Break-glass").
    "staff_web:break_glass_grant": Page(break_glass_grant, shows=patient_name),
    # Old links, redirected behind their page's guard to the page (whose row checks access).
    "previsit-summary-moved": Page(visit, rule=SCHEDULE_LIST, moved_to="staff_web:visit_summary"),
    "review-moved": Page(intake_review, rule=CARE_TEAM_LIST, moved_to="staff_web:review"),
    "break-glass-moved": Page(
        break_glass_grant, rule=CARE_TEAM_LIST, moved_to="staff_web:break_glass_grant"
    ),
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


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    """The schedule's visits are booked for the day after NOW: keep them in the future."""
    with time_machine.travel(NOW, tick=False):
        yield


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
    kwargs = page.kwargs(world)
    url = reverse(name, kwargs=kwargs)
    marker = page.shows(world) if page.shows else None
    body = page.body(world) if callable(page.body) else page.body
    client = _client(world, role)

    response = getattr(client, page.method)(url, dict(body))

    outcome = page.rule[role]
    html = response.content.decode()
    if outcome == ALLOWED and page.moved_to:
        assert response.status_code == 302, f"{role} on {name}: {response.status_code}"
        assert response["Location"] == reverse(page.moved_to, kwargs=kwargs)
    elif outcome == ALLOWED:
        if page.method == "get":
            assert response.status_code == 200, f"{role} on {name}: {response.status_code}"
        else:
            assert response.status_code == 302, f"{role} on {name}: {response.status_code}"
            assert not response["Location"].startswith("/staff/sign-in/")
    elif outcome == SIGN_IN:
        assert response.status_code == 302, f"{role} on {name}: {response.status_code}"
        assert response["Location"] == f"/staff/sign-in/?next={url}"
    else:
        expected = 404 if outcome == NOT_FOUND else 403
        assert response.status_code == expected, f"{role} on {name}: {response.status_code}"
    if marker is not None and role != "patient":  # the patient's own name greets them anywhere
        shown = outcome == ALLOWED and role in page.shown_to
        assert (marker in html) == shown, f"{role} on {name}: {marker!r} should be shown: {shown}"
