"""GET /api/v1/appointments/<id>/previsit-summary/: content, every role, audit, query count."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from carecore.accounts import services as account_services
from carecore.accounts.models import Clinician, Patient
from carecore.audit.models import Action, AuditEvent, Outcome
from careplans import services as careplans
from intake import services as intake_services
from messaging import services as messaging_services
from portal import services
from portal.models import Appointment

from ..factories import ClinicianFactory
from ..intake.helpers import healthy_intake, poem
from ..portal.conftest import TOMORROW, appointment_url, at, book_directly, give_availability

pytestmark = pytest.mark.django_db


def summary_url(appointment: Appointment | str) -> str:
    return appointment_url(appointment, "previsit-summary")


def answer(patient: Patient, slug: str, answers: dict[str, Any]) -> Any:
    return intake_services.response_create(
        user=patient.user, slug=slug, answers=answers, status="completed"
    )


@pytest.fixture
def history(
    frozen: Any, schedules: None, questionnaires: None, patient: Patient, clinician: Clinician
) -> Appointment:
    """A patient with a past visit, scores before and after it, an active plan, an open red flag
    and an unread message; returns their next visit.

    10 Jun: intake + POEM 20; 11 Jun 10:00 NY: first visit (completed); 12 Jun: POEM 14, plan
    published; 12 Jun later: a red-flag intake and POEM 10; next visit 13 Jun 10:00 NY."""
    answer(patient, "gut-skin-intake", healthy_intake())
    answer(patient, "poem", poem(3, 3, 3, 3, 3, 3, 2))
    first = book_directly(patient=patient, clinician=clinician, start=at(TOMORROW, 10))
    frozen.move_to(first.start_at + timedelta(minutes=20))
    services.appointment_status_set(
        actor=clinician.user, appointment_id=first.id, status="completed"
    )
    frozen.move_to(datetime.fromisoformat("2026-06-12T12:00:00+00:00"))
    answer(patient, "poem", poem(2, 2, 2, 2, 2, 2, 2))
    plan = careplans.care_plan_draft(user=clinician.user, patient_id=patient.id)
    careplans.care_plan_publish(user=clinician.user, plan_id=plan.id)
    frozen.move_to(datetime.fromisoformat("2026-06-12T13:00:00+00:00"))
    answer(patient, "gut-skin-intake", healthy_intake(**{"rf-rectal-bleeding": True}))
    answer(patient, "poem", poem(2, 2, 2, 2, 1, 1, 0))
    messaging_services.thread_open(
        actor=patient.user,
        subject="Question about my visit",
        category="clinical",
        body="Should I stop my cream before the visit?",
    )
    return book_directly(
        patient=patient,
        clinician=clinician,
        start=at(TOMORROW + timedelta(days=2), 10),
        visit_type="follow_up",
    )


def test_it_summarises_intake_scores_red_flags_plan_and_messages(
    history: Appointment, client_for: Any, clinician: Clinician, patient: Patient
) -> None:
    response = client_for(clinician.user).get(summary_url(history))

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["appointment"]["id"] == str(history.id)
    assert body["appointment"]["start"] == "2026-06-13T10:00:00-04:00"  # the caller's zone
    assert body["intake_missing"] is False
    assert body["last_visit"]["start"] == "2026-06-11T10:00:00-04:00"

    scores = {score["instrument"]: score for score in body["scores"]}
    assert scores["poem"]["total"] == 10
    assert scores["poem"]["band"] == "moderate"
    assert scores["poem"]["previous_total"] == 14
    assert scores["poem"]["change_since_previous"] == -4
    # Since the last visit: POEM was 20 when it ended.
    assert scores["poem"]["total_at_last_visit"] == 20
    assert scores["poem"]["change_since_last_visit"] == -10

    assert len(body["red_flags"]) == 1
    flag = body["red_flags"][0]
    assert flag["questionnaire"] == "gut-skin-intake"
    assert [item["code"] for item in flag["red_flags"]] == ["gi_rectal_bleeding"]
    # The red-flag shape of every API: PRODUCT.md's code and label, plus the severity.
    assert set(flag["red_flags"][0]) == {"code", "label", "severity"}
    assert flag["red_flags"][0]["severity"] == flag["severity"] == "urgent"

    plan = body["care_plan"]
    assert plan is not None and plan["number"] == 1
    goals = {goal["instrument"]: goal for goal in plan["goals"]}
    assert goals["poem"]["target_change"] == 3.4
    assert goals["poem"]["baseline"] == 14
    assert goals["poem"]["target_value"] == 10.6

    assert body["unread_messages"]["total"] == 1
    assert [thread["unread_count"] for thread in body["unread_messages"]["threads"]] == [1]


def test_a_patient_without_history_gets_an_intake_missing_summary(
    appointment: Appointment, client_for: Any, clinician: Clinician
) -> None:
    body = client_for(clinician.user).get(summary_url(appointment)).json()

    assert body["intake_missing"] is True
    assert body["scores"] == []
    assert body["red_flags"] == []
    assert body["care_plan"] is None
    assert body["last_visit"] is None
    assert body["unread_messages"] == {"total": 0, "threads": []}


def test_an_in_progress_intake_is_still_missing(
    appointment: Appointment,
    client_for: Any,
    clinician: Clinician,
    patient: Patient,
    questionnaires: None,
) -> None:
    intake_services.response_create(
        user=patient.user, slug="gut-skin-intake", answers={}, status="in_progress"
    )

    assert client_for(clinician.user).get(summary_url(appointment)).json()["intake_missing"]


def test_the_reason_is_not_part_of_the_summary(
    appointment: Appointment, client_for: Any, clinician: Clinician
) -> None:
    response = client_for(clinician.user).get(summary_url(appointment))

    assert appointment.reason
    assert appointment.reason not in response.content.decode()


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("clinician", 200),  # the visit's clinician and the patient's lead
        ("coordinator", 200),  # on the care team
        ("other_clinician", 404),  # another team
        ("admin", 404),  # no break-glass grant
        ("scheduler", 403),  # clinical: not the scheduler's endpoint
        ("patient", 403),  # staff-only clinical endpoint, like the review queue
        ("other_patient", 403),
    ],
)
def test_who_reads_the_summary(
    appointment: Appointment, actors: dict[str, Any], client_for: Any, actor: str, expected: int
) -> None:
    response = client_for(actors[actor]).get(summary_url(appointment))

    assert response.status_code == expected, response.json()


def test_anonymous_callers_are_refused(appointment: Appointment, anon: Any) -> None:
    assert anon.get(summary_url(appointment)).status_code == 401


def test_an_unknown_appointment_is_a_404(frozen: Any, client_for: Any, clinician: Any) -> None:
    response = client_for(clinician.user).get(summary_url("8b1f8f5e-0000-4000-8000-000000000000"))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_break_glass_opens_the_summary_to_an_admin(
    appointment: Appointment, client_for: Any, admin_user: Any, patient: Patient
) -> None:
    account_services.break_glass_open(
        user=admin_user, patient_id=patient.id, reason="Patient called; chart review needed now."
    )

    assert client_for(admin_user).get(summary_url(appointment)).status_code == 200


def test_the_visits_own_clinician_from_outside_the_team_reads_it_without_message_counts(
    frozen: Any, schedules: None, client_for: Any, patient: Patient
) -> None:
    outsider = ClinicianFactory(user__email="locum@example.test", licensed_states=["NY"])
    give_availability(outsider)
    visit = book_directly(patient=patient, clinician=outsider, start=at(TOMORROW, 10))
    # The visit gives access from 24 h before it (tests/portal/test_visit_window.py).
    frozen.move_to(visit.start_at - timedelta(hours=2))
    client = client_for(outsider.user)

    response = client.get(summary_url(visit))

    assert response.status_code == 200, response.json()
    assert response.json()["unread_messages"] is None
    event = AuditEvent.objects.filter(
        object_type="previsit_summary", actor_id=outsider.user.id
    ).get()
    assert event.detail == {"basis": "treating_clinician"}

    services.appointment_cancel(actor=patient.user, appointment_id=visit.id)
    assert client.get(summary_url(visit)).status_code == 404


def test_reads_and_refusals_are_audited(
    appointment: Appointment, client_for: Any, clinician: Clinician, other_clinician: Clinician
) -> None:
    client_for(clinician.user).get(summary_url(appointment))
    client_for(other_clinician.user).get(summary_url(appointment))

    events = AuditEvent.objects.filter(object_type="previsit_summary")
    read = events.get(actor_id=clinician.user.id)
    assert (read.action, read.outcome) == (Action.READ, Outcome.SUCCESS)
    assert read.object_id == str(appointment.id)
    assert read.patient_id == appointment.patient_id
    denied = events.get(actor_id=other_clinician.user.id)
    assert (denied.action, denied.outcome) == (Action.READ, Outcome.DENIED)


def test_the_open_red_flags_shown_are_audited_in_one_event_naming_each(
    history: Appointment, client_for: Any, clinician: Clinician, patient: Patient, frozen: Any
) -> None:
    frozen.shift(60)  # the summary shows the oldest first: the clock is frozen
    answer(patient, "gut-skin-intake", healthy_intake(**{"rf-fever": True}))

    body = client_for(clinician.user).get(summary_url(history)).json()

    shown = [flag["review_id"] for flag in body["red_flags"]]
    assert len(shown) == 2
    # One LIST event for the summary's patient, naming both reviews in the order shown.
    events = AuditEvent.objects.filter(
        actor_id=clinician.user.id, object_type="intake_review", action=Action.LIST
    )
    assert [(event.patient_id, event.object_id, event.detail) for event in events] == [
        (patient.id, "", {"object_ids": shown})
    ]


def test_the_visits_own_clinician_reads_the_red_flags_on_the_same_basis(
    frozen: Any, schedules: None, questionnaires: None, client_for: Any, patient: Patient
) -> None:
    outsider = ClinicianFactory(user__email="locum@example.test", licensed_states=["NY"])
    give_availability(outsider)
    answer(patient, "gut-skin-intake", healthy_intake(**{"rf-rectal-bleeding": True}))
    visit = book_directly(patient=patient, clinician=outsider, start=at(TOMORROW, 10))
    frozen.move_to(visit.start_at - timedelta(hours=2))

    body = client_for(outsider.user).get(summary_url(visit)).json()

    [flag] = body["red_flags"]
    event = AuditEvent.objects.get(actor_id=outsider.user.id, object_type="intake_review")
    assert (event.action, event.patient_id) == (Action.LIST, patient.id)
    assert event.detail == {"basis": "treating_clinician", "object_ids": [flag["review_id"]]}


def test_no_open_red_flags_write_no_review_event(
    appointment: Appointment, client_for: Any, clinician: Clinician
) -> None:
    assert client_for(clinician.user).get(summary_url(appointment)).status_code == 200

    assert not AuditEvent.objects.filter(object_type="intake_review").exists()


def test_the_query_count_does_not_grow_with_the_patients_history(
    history: Appointment,
    client_for: Any,
    clinician: Clinician,
    patient: Patient,
    django_assert_num_queries: Any,
) -> None:
    client = client_for(clinician.user)
    # the token with its user, the appointment (patient, clinician and users joined),
    # "on the care team?", audit INSERT, last completed visit, open red flags (response and
    # questionnaire joined) and their LIST event's INSERT, active plan, its goals, "intake
    # completed?", completed responses for the scores, the unread threads (the clinician's
    # patients found in the same query)
    with django_assert_num_queries(12):
        client.get(summary_url(history))
    for _ in range(3):
        answer(patient, "poem", poem(1, 1, 1, 1, 1, 1, 1))
        answer(patient, "gut-skin-intake", healthy_intake(**{"rf-fever": True}))
        messaging_services.thread_open(
            actor=patient.user, subject="Another question", category="clinical", body="Hello?"
        )
    with django_assert_num_queries(12):
        response = client.get(summary_url(history))
    assert len(response.json()["red_flags"]) == 4
    assert response.json()["unread_messages"]["total"] == 4
