"""The shared inbox: filters, claim and assign, close and reopen."""

from __future__ import annotations

import json
from datetime import timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from carecore.accounts.models import User
from messaging import selectors, services
from messaging.apis import ThreadOutput
from messaging.models import Thread

from ..factories import ClinicianFactory, PatientFactory, UserFactory
from .conftest import open_thread

pytestmark = pytest.mark.django_db

THREADS = "/api/v1/threads/"


def action(thread: Thread, name: str) -> str:
    return f"{THREADS}{thread.id}/{name}/"


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def inbox(patient, clinician, coordinator, clock):
    """Four threads of the patient: assigned to the coordinator, unassigned, urgent, closed."""
    mine = open_thread(patient, subject="mine")
    clock.shift(timedelta(seconds=1))
    unassigned = open_thread(patient, subject="unassigned")
    clock.shift(timedelta(seconds=1))
    urgent = open_thread(patient, subject="urgent", body="I have chest pain")
    clock.shift(timedelta(seconds=1))
    closed = open_thread(patient, subject="closed")
    Thread.objects.filter(pk=mine.pk).update(assignee=coordinator)
    Thread.objects.filter(pk=closed.pk).update(status="closed", first_response_due_at=None)
    return {"mine": mine, "unassigned": unassigned, "urgent": urgent, "closed": closed}


def test_the_inbox_filters(client_for, coordinator, inbox, clock):
    client = client_for(coordinator)
    names = {str(t.id): name for name, t in inbox.items()}

    def listed(**params) -> set[str]:
        return {names[i] for i in ids(client.get(THREADS, params))}

    assert listed(assigned="me") == {"mine"}
    assert listed(assigned="none") == {"unassigned", "urgent", "closed"}
    assert listed(urgent="true") == {"urgent"}
    assert listed(urgent="false") == {"mine", "unassigned", "closed"}
    assert listed(priority="urgent") == {"urgent"}
    assert listed(priority="routine", status="open", assigned="none") == {"unassigned"}
    assert listed(status="closed") == {"closed"}
    assert listed(status="open") == {"mine", "unassigned", "urgent"}
    assert listed(patient=str(inbox["mine"].patient_id)) == set(inbox)
    assert listed(overdue="true") == set()
    clock.shift(timedelta(minutes=20))  # past the urgent 15 minutes, inside routine 4 hours
    assert listed(overdue="true") == {"urgent"}
    clock.shift(timedelta(hours=5))
    assert listed(overdue="true") == {"mine", "unassigned", "urgent"}


@pytest.mark.parametrize("name", ["urgent", "overdue"])
@pytest.mark.parametrize("value", ["", "null", "maybe"])
def test_an_empty_or_unknown_true_false_filter_is_a_400_naming_it(
    client_for, coordinator, inbox, name, value
):
    # `?urgent=` was read as "no filter" (DRF's BooleanField with allow_null): everything.
    response = client_for(coordinator).get(THREADS, {name: value})

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {name: ["Use true or false."]}


def test_the_inbox_pages_forward_and_back(client_for, coordinator, patient, clock):
    """Next and previous links walk the same pages, threads that share their last activity
    included (the cursor's offset)."""
    for number in range(7):
        open_thread(patient, subject=f"t{number}")
        if number not in (2, 3):  # t2, t3 and t4 share one instant
            clock.shift(timedelta(minutes=1))
    client = client_for(coordinator)
    expected = [
        str(pk)
        for pk in Thread.objects.order_by("-last_message_at", "-id").values_list("pk", flat=True)
    ]

    pages = [client.get(THREADS, {"page_size": 2}).json()]
    while pages[-1]["next"]:
        pages.append(client.get(pages[-1]["next"]).json())
    assert [row["id"] for page in pages for row in page["results"]] == expected
    for earlier, later in pairwise(pages):
        assert client.get(later["previous"]).json()["results"] == earlier["results"]


def test_an_invalid_filter_is_a_400(client_for, coordinator):
    response = client_for(coordinator).get(THREADS, {"assigned": "bob"})
    assert response.status_code == 400


def test_the_patient_filter_does_not_reveal_other_patients_threads(
    client_for, clinician, other_thread
):
    response = client_for(clinician.user).get(THREADS, {"patient": str(other_thread.patient_id)})
    assert ids(response) == []


def test_the_inbox_query_count_does_not_grow_with_rows(
    client_for, coordinator, patient, django_assert_num_queries
):
    client = client_for(coordinator)
    open_thread(patient)
    # the token with its user, the filtered threads page (the coordinator's patients found in
    # it), its previews and its patients' names (one query), one audit INSERT
    with django_assert_num_queries(4):
        client.get(THREADS, {"assigned": "none", "urgent": "false", "overdue": "false"})
    for _ in range(5):
        open_thread(PatientFactory(state="NY"))
    with django_assert_num_queries(4):
        response = client.get(THREADS, {"assigned": "none", "urgent": "false", "overdue": "false"})
    assert len(response.json()["results"]) == 6


# --- assign ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ["clinician", "coordinator"])
def test_the_care_team_claims_and_assigns(
    actors, client_for, coordinator, clinician, thread, actor
):
    client = client_for(actors[actor])

    claimed = client.post(action(thread, "assign"), {"assignee": str(actors[actor].id)})
    handed = client.post(action(thread, "assign"), {"assignee": str(coordinator.id)})
    cleared = client.post(action(thread, "assign"), {"assignee": None}, format="json")

    assert claimed.status_code == handed.status_code == cleared.status_code == 200
    assert claimed.json()["assignee"]["id"] == str(actors[actor].id)
    assert handed.json()["assignee"] == {
        "id": str(coordinator.id),
        "name": coordinator.full_name,
        "role": "coordinator",
    }
    assert cleared.json()["assignee"] is None


def test_only_care_team_members_can_be_assigned(client_for, clinician, other_clinician, thread):
    stranger = UserFactory(role="coordinator")
    client = client_for(clinician.user)

    for user in (other_clinician.user, stranger, thread.patient.user):
        response = client.post(action(thread, "assign"), {"assignee": str(user.id)})
        assert response.status_code == 400
        assert "assignee" in response.json()["error"]["fields"]


@pytest.mark.parametrize("name", ["assign", "close", "reopen"])
def test_patients_get_403_on_inbox_actions(client_for, patient, thread, name):
    response = client_for(patient.user).post(
        action(thread, name), {"assignee": None}, format="json"
    )
    assert response.status_code == 403


@pytest.mark.parametrize("name", ["assign", "close", "reopen"])
@pytest.mark.parametrize("actor", ["other_clinician", "other_patient", "admin"])
def test_outsiders_cannot_touch_a_thread(actors, client_for, clinician, thread, name, actor):
    response = client_for(actors[actor]).post(
        action(thread, name), {"assignee": str(clinician.user.id)}
    )
    # Role gate first (patients and admins: 403), then the care-team check (404).
    assert response.status_code == (404 if actor == "other_clinician" else 403)
    thread.refresh_from_db()
    assert thread.assignee_id is None
    assert thread.status == "open"


# --- close and reopen -------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ["clinician", "coordinator"])
def test_the_care_team_closes_and_reopens(actors, client_for, thread, actor):
    client = client_for(actors[actor])

    closed = client.post(action(thread, "close"))
    again = client.post(action(thread, "close"))
    reopened = client.post(action(thread, "reopen"))

    assert closed.status_code == again.status_code == reopened.status_code == 200
    assert closed.json()["status"] == again.json()["status"] == "closed"
    # Closing stops the promise: a closed thread is never overdue.
    assert closed.json()["first_response_due_at"] is None
    assert reopened.json()["status"] == "open"


def test_a_new_patient_message_reopens_a_closed_thread(client_for, patient, clinician, thread):
    client_for(clinician.user).post(action(thread, "close"))

    client_for(patient.user).post(f"{THREADS}{thread.id}/messages/", {"body": "It is back."})

    thread.refresh_from_db()
    assert thread.status == "open"
    assert thread.closed_at is None
    assert thread.first_response_due_at is not None


def test_a_staff_reply_means_waiting_on_the_patient(client_for, clinician, thread):
    client_for(clinician.user).post(f"{THREADS}{thread.id}/messages/", {"body": "Answer"})

    thread.refresh_from_db()
    assert thread.status == "waiting_on_patient"
    assert thread.first_response_due_at is None


def test_a_second_clinician_on_the_team_sees_the_inbox(client_for, patient, clinician, thread):
    colleague = ClinicianFactory(licensed_states=["NY"])
    patient.care_team.memberships.create(user=colleague.user)

    assert ids(client_for(colleague.user).get(THREADS)) == [str(thread.id)]


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
@pytest.mark.parametrize("viewer", ["coordinator", "patient"])
def test_the_inbox_renders_what_thread_output_renders(
    client_for, viewer, zone, inbox, patient, clinician, coordinator, clock
):
    """The inbox renders plain rows without DRF (apis.thread_summary_output); ThreadOutput is
    its schema and the detail page's renderer. Both must give the same JSON for every kind of
    row: assigned or not, a last message that is an internal note (the preview is the last
    message the patient sees), a preview cut inside multi-byte text, a thread never answered,
    times in UTC ("Z") and in another current time zone."""
    clock.shift(timedelta(seconds=1))
    services.message_send(actor=clinician.user, thread_id=inbox["mine"].id, body="é🙂" * 100)
    services.message_send(
        actor=clinician.user, thread_id=inbox["mine"].id, body="Patch test?", internal=True
    )
    User.objects.filter(pk=coordinator.pk).update(last_name="")
    user = {"coordinator": coordinator, "patient": patient.user}[viewer]

    with timezone.override(ZoneInfo(zone)):
        listed = client_for(user).get(THREADS, {"page_size": 10}).json()["results"]
        threads = selectors.thread_list(user=user).order_by("-last_message_at", "-id")
        expected = ThreadOutput(threads, many=True, context={"viewer": user}).data
    assert len(listed) == len(inbox)
    assert listed == json.loads(JSONRenderer().render(expected))
    assert listed[0]["last_message"]["body"] == ("é🙂" * 100)[:140]
    assert listed[0]["assignee"]["name"] == coordinator.first_name
    assert ("patient_name" in listed[0]) == (viewer == "coordinator")
    assert listed[0]["created_at"].endswith("Z" if zone == "UTC" else "-04:00")
