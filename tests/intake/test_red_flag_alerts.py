"""What an intake red flag sets off, severity by severity (docs/intake.md, issue #10):

- emergency and crisis: the submit response tells the patient what to do now (911 / 988), the
  review is urgent and on-call is paged;
- urgent: the same page (the lead clinician), and the guidance that a clinician will call;
- soon: the review is expedited (after urgent, before routine), nobody is paged;
- an unanswered page climbs the escalation ladder, one step at a time, each step once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command

from carecore.audit.models import AuditEvent
from carecore.clinical.severity import Severity
from carecore.notifications.models import Channel, Event, Notification
from intake import tasks
from intake.models import IntakeReview, ReviewEscalationStep

from ..factories import ClinicianFactory
from .helpers import REVIEWS, healthy_intake, submit

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 11, 3, 0, tzinfo=UTC)  # 23:00 in New York: a night page


@pytest.fixture(autouse=True)
def questionnaires(db):
    call_command("sync_questionnaires", verbosity=0)


@pytest.fixture
def chief(db):
    """The clinical lead (top of the ladder), on no care team of these patients."""
    return ClinicianFactory(is_clinical_lead=True, licensed_states=["CA"])


def pages() -> set[tuple]:
    """(recipient, occurrence) of the in-app copies of every red-flag page and escalation."""
    return set(
        Notification.objects.filter(
            event=Event.INTAKE_RED_FLAG, channel=Channel.IN_APP
        ).values_list("recipient_id", "occurrence")
    )


def paged_users() -> set:
    return {recipient for recipient, _ in pages()}


def submit_at(client, when: datetime, **answers):
    with time_machine.travel(when, tick=False):
        response = submit(client, "gut-skin-intake", healthy_intake(**answers))
    assert response.status_code == 201, response.json()
    return response.json()


# --- each severity ---------------------------------------------------------------------------


def test_an_emergency_flag_tells_the_patient_to_call_911_and_pages_on_call(
    client_for, patient, clinician
):
    body = submit_at(client_for(patient.user), T0, **{"rf-angioedema": True})

    assert body["red_flags"] == [
        {
            "code": "derm_angioedema",
            "label": "Swelling of the lips, tongue, mouth or throat now: possible angioedema",
            "severity": "emergency",
        }
    ]
    assert body["severity"] == "emergency"
    assert body["guidance"] == Severity.EMERGENCY.patient_guidance
    assert "Call 911 now" in body["guidance"]
    review = IntakeReview.objects.get()
    assert (review.severity, review.urgent, review.expedited) == ("emergency", True, False)
    assert review.paged_at == T0
    assert paged_users() == {clinician.user_id}


def test_a_crisis_flag_shows_the_988_guidance_in_the_submit_response_and_pages_on_call(
    client_for, patient, clinician
):
    body = submit_at(client_for(patient.user), T0, **{"rf-self-harm-thoughts": True})

    assert body["severity"] == "crisis"
    assert body["guidance"] == Severity.CRISIS.patient_guidance
    assert "988" in body["guidance"]
    assert [flag["severity"] for flag in body["red_flags"]] == ["crisis"]
    assert IntakeReview.objects.get().urgent
    assert paged_users() == {clinician.user_id}
    assert all(
        row.urgent and row.due_at == T0  # a page ignores quiet hours (23:00 here)
        for row in Notification.objects.filter(event=Event.INTAKE_RED_FLAG)
    )


def test_the_worst_flag_gives_the_guidance(client_for, patient):
    body = submit_at(
        client_for(patient.user),
        T0,
        **{"rf-family-history-gi": True, "rf-rectal-bleeding": True, "rf-self-harm-thoughts": True},
    )

    assert [flag["severity"] for flag in body["red_flags"]] == ["urgent", "soon", "crisis"]
    assert (body["severity"], body["guidance"]) == ("crisis", Severity.CRISIS.patient_guidance)


def test_an_urgent_flag_pages_the_lead_clinician_and_promises_a_call(
    client_for, patient, clinician, coordinator
):
    body = submit_at(client_for(patient.user), T0, **{"rf-rectal-bleeding": True})

    assert body["severity"] == "urgent"
    assert body["guidance"] == Severity.URGENT.patient_guidance
    review = IntakeReview.objects.get()
    assert (review.severity, review.urgent, review.expedited) == ("urgent", True, False)
    assert pages() == {(clinician.user_id, f"page:{T0:%Y%m%dT%H%M%S}.000000Z")}


def test_a_soon_flag_expedites_the_review_with_no_page(client_for, patient, clinician):
    body = submit_at(client_for(patient.user), T0, **{"rf-family-history-ovarian": True})

    assert body["severity"] == "soon"
    assert body["guidance"] == Severity.SOON.patient_guidance
    review = IntakeReview.objects.get()
    assert (review.severity, review.urgent, review.expedited) == ("soon", False, True)
    assert review.paged_at is None
    assert not Notification.objects.filter(event=Event.INTAKE_RED_FLAG).exists()
    # The care team still hears of the submission, as a routine notification (quiet hours hold).
    submitted = Notification.objects.filter(event=Event.INTAKE_SUBMITTED)
    assert submitted.exists()
    assert not any(row.urgent for row in submitted)


def test_a_soon_flag_never_escalates(client_for, patient, clinician, coordinator, chief):
    submit_at(client_for(patient.user), T0, **{"rf-weight-loss": True})

    with time_machine.travel(T0 + timedelta(hours=6), tick=False):
        assert tasks.escalate_unanswered_pages() == 0
    assert not Notification.objects.filter(event=Event.INTAKE_RED_FLAG).exists()


def test_no_flag_no_guidance(client_for, patient):
    body = submit_at(client_for(patient.user), T0)

    assert (body["red_flags"], body["severity"], body["guidance"]) == ([], None, None)
    assert IntakeReview.objects.get().severity == ""


def test_the_queue_lists_urgent_then_expedited_then_routine(client_for, patient, clinician):
    client = client_for(patient.user)
    submit_at(client, T0)
    submit_at(client, T0 + timedelta(minutes=1), **{"rf-nocturnal-symptoms": True})
    submit_at(client, T0 + timedelta(minutes=2), **{"rf-persistent-vomiting": True})

    queue = client_for(clinician.user).get(REVIEWS).json()["results"]

    assert [(item["severity"], item["urgent"], item["expedited"]) for item in queue] == [
        ("urgent", True, False),
        ("soon", False, True),
        (None, False, False),
    ]
    assert queue[0]["red_flags"][0]["severity"] == "urgent"
    assert queue[0]["paged_at"] is not None
    assert queue[1]["paged_at"] is None


def test_an_expedited_review_also_holds_back_the_care_plan(client_for, patient, clinician):
    from ..careplans.test_apis import draft, plan_url

    submit_at(client_for(patient.user), T0, **{"rf-family-history-gi": True})
    staff = client_for(clinician.user)
    plan = draft(staff, patient.id).json()

    refused = staff.post(plan_url(plan["id"], "publish"))

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "unreviewed_red_flag"


# --- escalation of an unanswered page --------------------------------------------------------


def test_an_unanswered_urgent_page_climbs_the_ladder_one_step_at_a_time_each_once(
    client_for, patient, clinician, coordinator, chief
):
    submit_at(client_for(patient.user), T0, **{"rf-rectal-bleeding": True})
    clock = f"{T0:%Y%m%dT%H%M%S}.000000Z"
    first_page = {(clinician.user_id, f"page:{clock}")}

    def sweep(minutes: int) -> int:
        with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False):
            return tasks.escalate_unanswered_pages()

    # Due 15 minutes after the page, then one step every 10 minutes (the messaging ladder).
    assert sweep(14) == 0
    assert pages() == first_page
    assert (sweep(15), sweep(16)) == (1, 0)
    assert pages() == first_page | {(coordinator.id, f"step-1:{clock}")}
    assert (sweep(24), sweep(25), sweep(25)) == (0, 1, 0)
    assert pages() - first_page == {
        (coordinator.id, f"step-1:{clock}"),
        (clinician.user_id, f"step-2:{clock}"),
    }
    assert (sweep(35), sweep(36), sweep(120)) == (1, 0, 0)
    assert pages() - first_page == {
        (coordinator.id, f"step-1:{clock}"),
        (clinician.user_id, f"step-2:{clock}"),
        (chief.user_id, f"step-3:{clock}"),
    }
    assert IntakeReview.objects.get().escalation_step == 3
    assert all(row.urgent for row in Notification.objects.filter(event=Event.INTAKE_RED_FLAG))
    steps = AuditEvent.objects.filter(
        object_type="intake_review", detail__has_key="escalation_step"
    )
    assert sorted(event.detail["escalation_step"] for event in steps) == [1, 2, 3]
    # Whom each step told is recorded with it (what the review page's break-glass offer reads).
    recorded = ReviewEscalationStep.objects.filter(review=IntakeReview.objects.get())
    assert dict(recorded.values_list("step", "recipient_ids")) == {
        1: [str(coordinator.id)],
        2: [str(clinician.user_id)],
        3: [str(chief.user_id)],
    }


def test_a_late_sweep_records_every_missed_step_once(
    client_for, patient, clinician, coordinator, chief
):
    submit_at(client_for(patient.user), T0, **{"rf-self-harm-thoughts": True})

    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        assert tasks.escalate_unanswered_pages() == 3
        assert tasks.escalate_unanswered_pages() == 0
    assert ReviewEscalationStep.objects.count() == 3

    steps = {occurrence.split(":")[0] for _, occurrence in pages()}
    assert steps == {"page", "step-1", "step-2", "step-3"}


def test_completing_the_review_answers_the_page_and_stops_the_ladder(
    client_for, patient, clinician, coordinator, chief
):
    submit_at(client_for(patient.user), T0, **{"rf-trouble-swallowing": True})
    with time_machine.travel(T0 + timedelta(minutes=15), tick=False):
        assert tasks.escalate_unanswered_pages() == 1
    review = IntakeReview.objects.get()
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        answered = client_for(clinician.user).post(
            f"{REVIEWS}{review.id}/complete/", {"note": "Called the patient."}, format="json"
        )
    assert answered.status_code == 200

    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        assert tasks.escalate_unanswered_pages() == 0
    assert chief.user_id not in paged_users()


def test_a_rung_with_nobody_on_it_is_recorded_and_the_next_follows(
    client_for, patient, clinician, coordinator, chief
):
    coordinator.is_active = False  # the team's only coordinator left: step 1 tells nobody
    coordinator.save(update_fields=["is_active"])
    submit_at(client_for(patient.user), T0, **{"rf-angioedema": True})

    with time_machine.travel(T0 + timedelta(minutes=15), tick=False):
        assert tasks.escalate_unanswered_pages() == 1
    with time_machine.travel(T0 + timedelta(minutes=25), tick=False):
        assert tasks.escalate_unanswered_pages() == 1

    assert {occurrence.split(":")[0] for _, occurrence in pages()} == {"page", "step-2"}
    # The empty rung is recorded too, naming nobody.
    recorded = ReviewEscalationStep.objects.order_by("step").values_list("step", "recipient_ids")
    assert list(recorded) == [(1, []), (2, [str(clinician.user_id)])]


def test_no_answer_or_flag_reaches_an_escalation(client_for, patient, coordinator, chief):
    submit_at(client_for(patient.user), T0, **{"rf-self-harm-thoughts": True})
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        tasks.escalate_unanswered_pages()

    review = IntakeReview.objects.get()
    for row in Notification.objects.filter(event=Event.INTAKE_RED_FLAG):
        text = f"{row.title} {row.body} {row.link_path}".lower()
        assert "harm" not in text
        assert "crisis" not in text
        assert row.link_path == f"/staff/reviews/{review.id}/"
