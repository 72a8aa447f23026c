"""The workspace's inbox: who may open it, what a row shows, the filters, claim/release/close/
reopen in place (htmx) and without script, another team's thread is a 404, the rows are
audited, and the page's query count does not grow with its rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from carecore.accounts.models import Clinician, Patient, User
from carecore.audit.models import AuditEvent
from messaging.models import Thread
from tests.messaging.conftest import WORKING_MOMENT, open_thread

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(WORKING_MOMENT, tick=False) as traveller:
        yield traveller


@pytest.mark.parametrize("role", ["clinician", "coordinator"])
def test_the_care_team_sees_its_patients_threads(
    role: str,
    actors: dict[str, User],
    patient: Patient,
    other_patient: Patient,
    staff_web_for: Callable[[User], Client],
) -> None:
    open_thread(patient, subject="Flare on my arms")
    open_thread(other_patient, subject="Another team's thread")

    response = staff_web_for(actors[role]).get("/staff/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Flare on my arms" in html
    assert patient.user.full_name in html
    assert "Another team" not in html
    assert '<a href="/staff/" aria-current="page">Inbox</a>' in html


@pytest.mark.parametrize("role", ["scheduler", "patient", "admin"])
def test_other_roles_are_refused(
    role: str, actors: dict[str, User], patient: Patient, staff_web_for: Callable[[User], Client]
) -> None:
    thread = open_thread(patient, subject="Flare on my arms")
    client = staff_web_for(actors[role])

    for response in (client.get("/staff/"), client.get(f"/staff/threads/{thread.id}/")):
        assert response.status_code == 403
        assert "Flare on my arms" not in response.content.decode()
    assert client.post(f"/staff/threads/{thread.id}/claim/").status_code == 403
    thread.refresh_from_db()
    assert thread.assignee_id is None


def test_a_signed_out_visitor_goes_to_the_sign_in_page(patient: Patient) -> None:
    thread = open_thread(patient)

    response = Client().post(f"/staff/threads/{thread.id}/claim/")

    assert response.status_code == 302
    assert response["Location"].startswith("/staff/sign-in/")


def test_a_row_shows_the_patient_subject_triage_clock_assignee_and_unread(
    patient: Patient,
    clinician: Clinician,
    coordinator: User,
    staff_web_for: Callable[[User], Client],
    clock: time_machine.Traveller,
) -> None:
    urgent = open_thread(patient, subject="Cannot breathe", body="I have chest pain when I walk")
    urgent.refresh_from_db()
    assert urgent.priority == "urgent"
    assert urgent.first_response_due_at is not None
    due_in = urgent.first_response_due_at - WORKING_MOMENT
    routine = open_thread(patient, subject="Itchy again")

    html = staff_web_for(clinician.user).get("/staff/").content.decode()

    assert html.index("Cannot breathe") < html.index("Itchy again")  # urgent first
    assert f"due in {int(due_in.total_seconds() // 60)} min" in html
    assert "Urgent" in html
    assert "Clinical" in html
    assert '1<span class="visually-hidden"> unread</span>' in html
    assert "Unassigned" in html

    clock.shift(due_in + timedelta(hours=1, minutes=5))
    html = staff_web_for(coordinator).get("/staff/?show=overdue").content.decode()
    assert "overdue 1 h" in html
    routine.refresh_from_db()
    assert routine.first_response_due_at is not None
    assert routine.first_response_due_at > urgent.first_response_due_at + timedelta(hours=2)
    assert "Itchy again" not in html  # its clock is still running


def test_the_filters(
    patient: Patient,
    clinician: Clinician,
    coordinator: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    mine = open_thread(patient, subject="Mine")
    theirs = open_thread(patient, subject="Coordinators")
    open_thread(patient, subject="Nobodys")
    closed = open_thread(patient, subject="Done already")
    client = staff_web_for(clinician.user)
    client.post(f"/staff/threads/{mine.id}/claim/")
    staff_web_for(coordinator).post(f"/staff/threads/{theirs.id}/claim/")
    client.post(f"/staff/threads/{closed.id}/close/")

    def subjects(show: str) -> set[str]:
        html = client.get(f"/staff/?show={show}").content.decode()
        return {
            s for s in ("Mine", "Coordinators", "Nobodys", "Done already") if f">{s}</a>" in html
        }

    assert subjects("open") == {"Mine", "Coordinators", "Nobodys"}
    assert subjects("mine") == {"Mine"}
    assert subjects("unassigned") == {"Nobodys"}
    assert subjects("closed") == {"Done already"}
    assert subjects("nonsense") == {"Mine", "Coordinators", "Nobodys"}


def test_claim_release_close_and_reopen_in_place(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    thread = open_thread(patient, subject="Flare on my arms")
    client = staff_web_for(clinician.user)

    claimed = client.post(f"/staff/threads/{thread.id}/claim/", {"show": "open"}, headers=HTMX)
    thread.refresh_from_db()
    assert thread.assignee_id == clinician.user.id
    row = claimed.content.decode()
    assert row.startswith(f'<tr id="thread-{thread.id}"')
    assert ">You<" in row and "Release" in row

    client.post(f"/staff/threads/{thread.id}/release/", headers=HTMX)
    thread.refresh_from_db()
    assert thread.assignee_id is None

    closed = client.post(f"/staff/threads/{thread.id}/close/", headers=HTMX)
    thread.refresh_from_db()
    assert thread.status == "closed"
    assert "Reopen" in closed.content.decode()

    reopened = client.post(f"/staff/threads/{thread.id}/reopen/", {"show": "closed"})
    thread.refresh_from_db()
    assert thread.status == "open"
    assert reopened.status_code == 302  # without script: back to the list it came from
    assert reopened["Location"] == "/staff/?show=closed"


def test_actions_need_the_csrf_token(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    thread = open_thread(patient)
    client = staff_web_for(clinician.user)
    client.handler.enforce_csrf_checks = True

    response = client.post(f"/staff/threads/{thread.id}/claim/", headers=HTMX)

    assert response.status_code == 403
    thread.refresh_from_db()
    assert thread.assignee_id is None


def test_another_teams_thread_is_a_404_and_audited(
    other_patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    thread = open_thread(other_patient, subject="Not yours")
    client = staff_web_for(clinician.user)

    for response in (
        client.get(f"/staff/threads/{thread.id}/"),
        client.get(f"/staff/threads/{thread.id}/updates/"),
        client.post(f"/staff/threads/{thread.id}/claim/", headers=HTMX),
        client.post(f"/staff/threads/{thread.id}/close/"),
    ):
        assert response.status_code == 404
        assert "Not yours" not in response.content.decode()
    thread.refresh_from_db()
    assert thread.assignee_id is None
    assert thread.status == "open"
    assert AuditEvent.objects.filter(
        actor_id=clinician.user.id, object_id=str(thread.id), outcome="denied"
    ).exists()


def test_the_rows_shown_are_audited(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    thread = open_thread(patient)

    staff_web_for(clinician.user).get("/staff/")

    assert AuditEvent.objects.filter(
        actor_id=clinician.user.id,
        object_type="message_thread",
        action="list",
        # One event naming every row and each row's patient (docs/architecture.md).
        detail__object_ids__contains=[str(thread.id)],
    ).exists()


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("show", ["open", "mine", "urgent", "closed"])
def test_the_query_count_does_not_grow_with_the_rows(
    show: str,
    patient: Patient,
    clinician: Clinician,
    coordinator: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    client = staff_web_for(clinician.user)
    first = open_thread(patient, subject="One", body="I have chest pain when I walk")
    client.post(f"/staff/threads/{first.id}/claim/")
    if show == "closed":
        client.post(f"/staff/threads/{first.id}/close/")
    client.get("/staff/")  # warm: session refresh
    one = _queries(client, f"/staff/?show={show}")

    for n in range(12):
        thread = open_thread(patient, subject=f"More {n}", body="I have chest pain when I walk")
        client.post(f"/staff/threads/{thread.id}/claim/" if n % 2 else "/staff/", {})
        if n % 3 == 0:
            Thread.objects.filter(pk=thread.id).update(assignee=coordinator)
        if show == "closed":
            client.post(f"/staff/threads/{thread.id}/close/")
    many = _queries(client, f"/staff/?show={show}")

    assert many == one
    assert many <= 12


def test_the_list_alone_for_the_live_page(
    patient: Patient,
    other_patient: Patient,
    clinician: Clinician,
    staff_web_for: Callable[[User], Client],
) -> None:
    routine = open_thread(patient, subject="Itchy again")
    urgent = open_thread(patient, subject="Cannot breathe", body="I have chest pain when I walk")
    open_thread(other_patient, subject="Another team's thread")
    client = staff_web_for(clinician.user)

    page = client.get("/staff/").content.decode()
    response = client.get("/staff/inbox/?show=open&page=1")

    html = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert 'data-list-url="/staff/inbox/?show=open&amp;page=1"' in page
    assert "<html" not in html  # the fragment alone
    assert html.index("Cannot breathe") < html.index("Itchy again")  # urgent first
    assert "Another team" not in html
    assert "due in" in html
    assert (
        AuditEvent.objects.filter(
            actor_id=clinician.user.id,
            action="list",
            detail__object_ids__contains=[str(urgent.id)],
        ).count()
        == 2
    )  # the page and the list: each showing is audited
    assert f'id="thread-{routine.id}"' in html


def test_the_list_keeps_the_filter(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    open_thread(patient, subject="Still open")
    closed = open_thread(patient, subject="Done already")
    client = staff_web_for(clinician.user)
    client.post(f"/staff/threads/{closed.id}/close/")

    html = client.get("/staff/inbox/?show=closed").content.decode()

    assert "Done already" in html
    assert "Still open" not in html


def test_assign_to_a_teammate_in_place(
    patient: Patient,
    clinician: Clinician,
    coordinator: User,
    other_clinician: Clinician,
    staff_web_for: Callable[[User], Client],
) -> None:
    thread = open_thread(patient, subject="Flare on my arms")
    client = staff_web_for(clinician.user)

    page = client.get("/staff/").content.decode()
    assert f'<label class="visually-hidden" for="assign-{thread.id}">' in page
    assert f'<option value="{coordinator.id}">{coordinator.full_name}</option>' in page
    assert str(other_clinician.user.id) not in page  # not on the team: not offered

    row = client.post(
        f"/staff/threads/{thread.id}/assign/", {"assignee": str(coordinator.id)}, headers=HTMX
    ).content.decode()
    thread.refresh_from_db()
    assert thread.assignee_id == coordinator.id
    assert row.startswith(f'<tr id="thread-{thread.id}"')
    assert f"<td>{coordinator.full_name}</td>" in row
    assert f'<option value="{coordinator.id}" selected>' in row

    refused = client.post(
        f"/staff/threads/{thread.id}/assign/",
        {"assignee": str(other_clinician.user.id)},
        headers=HTMX,
    ).content.decode()
    thread.refresh_from_db()
    assert thread.assignee_id == coordinator.id  # unchanged
    assert 'role="alert">Must be a clinician or coordinator on the care team.</p>' in refused

    client.post(f"/staff/threads/{thread.id}/assign/", {"assignee": ""}, headers=HTMX)
    thread.refresh_from_db()
    assert thread.assignee_id is None


def test_a_refused_assignment_without_script_is_shown_on_the_inbox(
    patient: Patient,
    clinician: Clinician,
    coordinator: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    thread = open_thread(patient, subject="Flare on my arms")
    client = staff_web_for(clinician.user)
    # Deactivated after the page offered them.
    coordinator.is_active = False
    coordinator.save(update_fields=["is_active"])

    refused = client.post(
        f"/staff/threads/{thread.id}/assign/",
        {"assignee": str(coordinator.id), "show": "unassigned"},
        follow=True,
    )

    assert refused.redirect_chain == [("/staff/?show=unassigned", 302)]
    assert (
        '<p class="notice notice--error" role="alert">The thread was not assigned: '
        "Must be a clinician or coordinator on the care team.</p>"
    ) in refused.content.decode()
    thread.refresh_from_db()
    assert thread.assignee_id is None


@pytest.mark.parametrize("value", ["nobody", "1234", "' OR 1=1 --"])
def test_a_malformed_assignee_from_the_inbox_is_refused_not_an_unassign(
    value: str,
    patient: Patient,
    clinician: Clinician,
    coordinator: User,
    staff_web_for: Callable[[User], Client],
) -> None:
    thread = open_thread(patient, subject="Flare on my arms")
    client = staff_web_for(clinician.user)
    client.post(f"/staff/threads/{thread.id}/assign/", {"assignee": str(coordinator.id)})

    plain = client.post(
        f"/staff/threads/{thread.id}/assign/", {"assignee": value, "show": "open"}, follow=True
    )
    in_place = client.post(
        f"/staff/threads/{thread.id}/assign/", {"assignee": value, "show": "open"}, headers=HTMX
    ).content.decode()

    thread.refresh_from_db()
    assert thread.assignee_id == coordinator.id  # unchanged
    assert plain.redirect_chain == [("/staff/?show=open", 302)]
    assert (
        'role="alert">The thread was not assigned: '
        "Must be a clinician or coordinator on the care team.</p>"
    ) in plain.content.decode()
    assert in_place.startswith(f'<tr id="thread-{thread.id}"')
    assert 'role="alert">Must be a clinician or coordinator on the care team.</p>' in in_place
    assert f"<td>{coordinator.full_name}</td>" in in_place


def test_the_clock_carries_its_deadline_for_the_page_to_count_down(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    thread = open_thread(patient)
    assert thread.first_response_due_at is not None

    html = staff_web_for(clinician.user).get("/staff/").content.decode()

    assert f'data-due="{thread.first_response_due_at.isoformat()}"' in html


def test_the_shortcuts_help_is_on_the_inbox_and_the_thread(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    thread = open_thread(patient)
    client = staff_web_for(clinician.user)

    for html in (
        client.get("/staff/").content.decode(),
        client.get(f"/staff/threads/{thread.id}/").content.decode(),
    ):
        assert '<dialog id="shortcuts"' in html
        assert "staff/shortcuts.js" in html
        assert "<kbd>j</kbd>" in html


@pytest.mark.parametrize("show", ["open", "closed"])
def test_the_lists_query_count_does_not_grow_with_the_rows(
    show: str, patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    client = staff_web_for(clinician.user)
    first = open_thread(patient, subject="One")
    if show == "closed":
        client.post(f"/staff/threads/{first.id}/close/")
    client.get("/staff/")  # warm: session refresh
    one = _queries(client, f"/staff/inbox/?show={show}")

    for n in range(8):
        thread = open_thread(patient, subject=f"More {n}")
        if show == "closed":
            client.post(f"/staff/threads/{thread.id}/close/")
    many = _queries(client, f"/staff/inbox/?show={show}")

    assert many == one
