"""The patient chart in the workspace (`/staff/patients/<id>/`): the care team reads the whole
record on one page (demographics, intake with its questions, scores over time with bands and the
goal, red flags and reviews, plan versions with their changes, visits, threads); every part is
audited as the API audits it; another team's patient and schedulers get 404, patients and admins
the workspace's 403; the query count does not grow with the record."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from carecore.accounts import services as account_services
from carecore.accounts.models import Clinician, Patient, User
from carecore.audit.models import Action, AuditEvent
from careplans import services as careplans
from careplans.models import CarePlan
from intake import services as intake
from messaging import services as messaging
from portal.models import Appointment
from tests.intake.helpers import healthy_intake, poem
from tests.portal.conftest import NEW_YORK, at, book_directly, give_availability

pytestmark = pytest.mark.django_db


def chart_url(patient: Patient) -> str:
    return f"/staff/patients/{patient.id}/"


def _poem(patient: Patient, *values: int) -> None:
    intake.response_create(
        user=patient.user, slug="poem", answers=poem(*values), status="completed"
    )


def _visit(patient: Patient, clinician: Clinician, days_ahead: int) -> Appointment:
    give_availability(clinician)
    day = timezone.localdate(timezone=NEW_YORK) + timedelta(days=days_ahead)
    return book_directly(patient=patient, clinician=clinician, start=at(day, 10 + days_ahead))


@pytest.fixture
def record(patient: Patient, clinician: Clinician) -> dict[str, object]:
    """A patient's record with a bit of everything: two POEMs (14, then 10), a healthy intake,
    plan 1 published, a later intake with a red flag (pending review), plan 2 drafted from it,
    a visit booked and a thread."""
    call_command("sync_questionnaires", verbosity=0)
    _poem(patient, 2, 2, 2, 2, 2, 2, 2)
    intake.response_create(
        user=patient.user, slug="gut-skin-intake", answers=healthy_intake(), status="completed"
    )
    first = careplans.care_plan_draft(user=clinician.user, patient_id=patient.id)
    first = careplans.care_plan_publish(user=clinician.user, plan_id=first.id)
    _poem(patient, 1, 2, 1, 2, 1, 2, 1)
    intake.response_create(
        user=patient.user,
        slug="gut-skin-intake",
        answers=healthy_intake(**{"rf-rectal-bleeding": True}),
        status="completed",
    )
    second = careplans.care_plan_draft(user=clinician.user, patient_id=patient.id)
    visit = _visit(patient, clinician, days_ahead=1)
    thread = messaging.thread_open(
        actor=patient.user, subject="Flare on my arms", category="clinical", body="Itchy again."
    ).thread
    return {"first": first, "second": second, "visit": visit, "thread": thread}


@pytest.mark.parametrize("role", ["clinician", "coordinator"])
def test_the_care_team_reads_the_whole_chart(
    role: str,
    actors: dict[str, User],
    patient: Patient,
    clinician: Clinician,
    record: dict[str, object],
    staff_web_for: Callable[[User], Client],
) -> None:
    response = staff_web_for(actors[role]).get(chart_url(patient))

    assert response.status_code == 200
    html = unescape(response.content.decode())
    # Demographics and the care team.
    assert f"<h1>{patient.user.full_name} " in html
    assert patient.user.email in html
    assert "New York" in html
    assert patient.user.timezone in html
    assert f"{clinician.user.full_name} (clinician, lead)" in html
    # The latest intake, each answer under its question as the patient saw it.
    assert "Gut-skin intake, completed" in html
    assert "rectal bleeding" in html.lower()
    # POEM over time: chart data with the published bands, and the same numbers in a table.
    chart = json.loads(response.context["measures"][0]["chart"])
    assert response.context["measures"][0]["slug"] == "poem"
    assert chart["values"] == [14, 10]
    assert [band["name"] for band in chart["bands"]] == [
        "clear",
        "mild",
        "moderate",
        "severe",
        "very severe",
    ]
    assert chart["score_label"] == "Score"
    assert "Patient-Oriented Eczema Measure (POEM)" in html
    assert "<td>-4</td>" in html  # change since the first
    # The red flag waiting for review, at the top of the reviews and in the header.
    assert "Open red flags" in html
    assert "Pending" in html
    # Plan versions: the draft first, with what it changed since the published version.
    second, first = record["second"], record["first"]
    assert isinstance(second, CarePlan) and isinstance(first, CarePlan)
    assert html.index("Version 2") < html.index("Version 1")
    assert "Changes since version 1" in html
    # The visit and the thread, linked.
    assert "Upcoming" in html and clinician.user.full_name in html
    thread = record["thread"]
    assert f'href="/staff/threads/{thread.id}/"' in html  # type: ignore[attr-defined]
    assert f'href="/staff/visits/{record["visit"].id}/summary/"' in html  # type: ignore[attr-defined]
    assert "Flare on my arms" in html
    # Chart.js and the chart script, from our own origin.
    assert "/static/vendor/chart.js/4.6.1/chart.umd.min.js" in html
    assert "Emergency access" not in html


def test_a_new_patient_has_an_empty_chart(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    response = staff_web_for(clinician.user).get(chart_url(patient))

    html = response.content.decode()
    assert response.status_code == 200
    for empty in (
        "No completed intake yet.",
        "No scores yet.",
        "No questionnaires to review.",
        "No care plan yet.",
        "No upcoming visits.",
        "No threads.",
    ):
        assert empty in html
    assert "chart.umd.min.js" not in html  # no chart, no 200 KB of script


def test_every_read_is_audited_as_the_api_audits_it(
    patient: Patient,
    clinician: Clinician,
    record: dict[str, object],
    staff_web_for: Callable[[User], Client],
) -> None:
    client = staff_web_for(clinician.user)
    before = AuditEvent.objects.count()

    client.get(chart_url(patient))

    events = AuditEvent.objects.order_by("id")[before:]
    seen = {(event.object_type, event.action) for event in events}
    assert ("patient", Action.READ) in seen
    assert ("measures", Action.READ) in seen
    for kind in (
        "questionnaire_response",
        "intake_review",
        "care_plan",
        "appointment",
        "message_thread",
    ):
        assert (kind, Action.LIST) in seen, kind
    assert {str(event.patient_id) for event in events} == {str(patient.id)}
    assert {event.actor_id for event in events} == {clinician.user.id}


def test_another_teams_patient_is_a_404_and_the_attempt_is_audited(
    other_patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    response = staff_web_for(clinician.user).get(chart_url(other_patient))

    assert response.status_code == 404
    assert other_patient.user.full_name not in response.content.decode()
    denied = AuditEvent.objects.filter(
        actor_id=clinician.user.id, object_id=str(other_patient.id)
    ).get()
    assert denied.outcome == "denied"


def test_a_missing_patient_is_the_same_404(
    clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert staff_web_for(clinician.user).get(f"/staff/patients/{missing}/").status_code == 404


def test_a_scheduler_gets_a_404_and_sees_nothing_clinical(
    patient: Patient,
    scheduler: User,
    record: dict[str, object],
    staff_web_for: Callable[[User], Client],
) -> None:
    response = staff_web_for(scheduler).get(chart_url(patient))

    assert response.status_code == 404
    html = response.content.decode()
    assert patient.user.full_name not in html
    assert "Flare on my arms" not in html


@pytest.mark.parametrize("role", ["patient", "admin"])
def test_patients_and_admins_are_refused(
    role: str, actors: dict[str, User], patient: Patient, staff_web_for: Callable[[User], Client]
) -> None:
    response = staff_web_for(actors[role]).get(chart_url(patient))

    assert response.status_code == 403
    assert patient.user.email not in response.content.decode()


def test_signed_out_goes_to_the_workspace_sign_in(patient: Patient) -> None:
    response = Client().get(chart_url(patient))

    assert response.status_code == 302
    assert response["Location"] == f"/staff/sign-in/?next=/staff/patients/{patient.id}/"


def test_a_chart_is_read_only_and_get_only(
    patient: Patient, clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    assert staff_web_for(clinician.user).post(chart_url(patient)).status_code == 405


def test_break_glass_reads_the_chart_and_says_so(
    patient: Patient, other_clinician: Clinician, staff_web_for: Callable[[User], Client]
) -> None:
    client = staff_web_for(other_clinician.user)
    assert client.get(chart_url(patient)).status_code == 404

    account_services.break_glass_open(
        user=other_clinician.user,
        patient_id=patient.id,
        reason="Covering the on-call clinician tonight",
    )
    response = client.get(chart_url(patient))

    assert response.status_code == 200
    assert "Emergency access" in response.content.decode()
    read = AuditEvent.objects.filter(
        actor_id=other_clinician.user.id, object_type="patient", action=Action.READ
    ).latest("id")
    assert read.detail.get("break_glass") is True


def test_every_patient_name_links_to_the_chart(
    patient: Patient,
    clinician: Clinician,
    record: dict[str, object],
    staff_web_for: Callable[[User], Client],
) -> None:
    client = staff_web_for(clinician.user)
    link = f'<a href="/staff/patients/{patient.id}/">{patient.user.full_name}</a>'
    thread = record["thread"]
    review = patient.intake_reviews.filter(status="pending").first()
    assert review is not None

    for url in (
        "/staff/",
        f"/staff/threads/{thread.id}/",  # type: ignore[attr-defined]
        "/staff/reviews/",
        f"/staff/reviews/{review.id}/",
    ):
        assert link in client.get(url).content.decode(), url


def _grow(patient: Patient, clinician: Clinician) -> None:
    """More of everything the chart lists: scores, reviews, plan versions, visits, threads."""
    for values in ((3, 3, 3, 3, 3, 3, 3), (1, 1, 1, 1, 1, 1, 1), (0, 1, 0, 1, 0, 1, 0)):
        _poem(patient, *values)
    intake.response_create(
        user=patient.user,
        slug="isi",
        answers={f"isi-{n}": 1 for n in range(1, 8)},
        status="completed",
    )
    # A third version of the plan: publishing needs the red flag reviewed first.
    for review in patient.intake_reviews.filter(status="pending"):
        intake.review_complete(user=clinician.user, review_id=review.id, note="Seen.")
    draft = CarePlan.objects.get(patient=patient, status="draft")
    careplans.care_plan_publish(user=clinician.user, plan_id=draft.id)
    careplans.care_plan_draft(user=clinician.user, patient_id=patient.id)
    _visit(patient, clinician, days_ahead=2)
    for subject in ("Question about the plan", "New photo", "Sleep"):
        messaging.thread_open(actor=patient.user, subject=subject, category="clinical", body="Hi")


def test_the_query_count_does_not_grow_with_the_record(
    patient: Patient,
    clinician: Clinician,
    record: dict[str, object],
    staff_web_for: Callable[[User], Client],
    django_assert_num_queries: Any,
) -> None:
    client = staff_web_for(clinician.user)
    client.get(chart_url(patient))  # warm: the session's first read

    # Session and user (2); the patient's access check and its READ event (2); the patient with
    # the care team and its members (2); reviews and their LIST events (2); the latest intake
    # and its event (2); the measures' access check and READ event (2), the active goals (1),
    # every completed response's scores (1), the questionnaire titles (1); the plans with their
    # goals and activities (3) and their events (1); upcoming visits and their events (2), past
    # visits (1: none in either record, and an empty list writes no event); the threads: the
    # page (the viewer's patients found in it) and its events (2). 24 in all, whatever the
    # record's size.
    with django_assert_num_queries(24):
        small = client.get(chart_url(patient))
    _grow(patient, clinician)
    with django_assert_num_queries(24):
        large = client.get(chart_url(patient))

    assert small.status_code == large.status_code == 200
    assert len(large.context["threads"]) > len(small.context["threads"])
    assert len(large.context["measures"][0]["rows"]) == 5
