"""An intake saved in progress and abandoned still raises its red flags (issue #10): the beat
task `intake.raise_abandoned_red_flags` screens in-progress intakes untouched for an hour and
raises their flags exactly as a submit would (review + page), once; a later submit neither
queues a second review nor pages again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
import time_machine
from django.core.management import call_command

from carecore.audit.models import AuditEvent
from carecore.clinical.severity import Severity
from carecore.notifications.models import Channel, Event, Notification
from intake import tasks
from intake.models import IntakeReview, QuestionnaireResponse

from .helpers import REVIEWS, healthy_intake, response_url, submit

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 11, 4, 0, tzinfo=UTC)  # midnight in New York


@pytest.fixture(autouse=True)
def questionnaires(db):
    call_command("sync_questionnaires", verbosity=0)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def sweep(minutes: int) -> int:
    with time_machine.travel(at(minutes), tick=False):
        return tasks.raise_abandoned_red_flags()


def pages() -> list[tuple]:
    return list(
        Notification.objects.filter(event=Event.INTAKE_RED_FLAG, channel=Channel.IN_APP)
        .order_by("created_at")
        .values_list("recipient_id", "occurrence")
    )


def save_in_progress(client, minutes: int, answers: dict) -> str:
    with time_machine.travel(at(minutes), tick=False):
        response = submit(client, "gut-skin-intake", answers, status="in_progress")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def patch(client, minutes: int, response_id: str, **data):
    with time_machine.travel(at(minutes), tick=False):
        return client.patch(response_url(response_id), data, format="json")


def test_a_self_harm_answer_left_in_progress_for_an_hour_is_raised_once(
    client_for, patient, clinician
):
    client = client_for(patient.user)
    response_id = save_in_progress(client, 0, {"rf-self-harm-thoughts": True})

    assert sweep(59) == 0
    assert not IntakeReview.objects.exists()
    assert sweep(60) == 1
    assert (sweep(61), sweep(300)) == (0, 0)

    review = IntakeReview.objects.get()
    assert (review.severity, review.urgent, review.paged_at) == ("crisis", True, at(60))
    assert str(review.response_id) == response_id
    assert pages() == [(clinician.user_id, f"page:{at(60):%Y%m%dT%H%M%S}.000000Z")]
    response = QuestionnaireResponse.objects.get()
    assert response.status == "in_progress"
    assert [flag["code"] for flag in response.red_flags] == ["mh_self_harm"]
    # The care team sees it in the queue, marked as not submitted.
    (item,) = client_for(clinician.user).get(REVIEWS).json()["results"]
    assert (item["severity"], item["response_status"]) == ("crisis", "in_progress")
    assert AuditEvent.objects.filter(
        object_id=response_id, detail__red_flags_raised="in_progress_abandoned"
    ).exists()


def test_submitting_after_the_flag_was_raised_queues_no_second_review_and_no_second_page(
    client_for, patient, clinician, coordinator
):
    client = client_for(patient.user)
    response_id = save_in_progress(client, 0, {"rf-self-harm-thoughts": True})
    sweep(60)

    submitted = patch(
        client,
        90,
        response_id,
        answers=healthy_intake(**{"rf-self-harm-thoughts": True}),
        status="completed",
    )

    assert submitted.status_code == 200
    body = submitted.json()
    assert (body["severity"], body["guidance"]) == ("crisis", Severity.CRISIS.patient_guidance)
    assert IntakeReview.objects.count() == 1
    assert len(pages()) == 1  # the page at 60 minutes, not another at 90
    review = IntakeReview.objects.get()
    assert (review.status, review.paged_at) == ("pending", at(60))
    # The submission itself is announced to the care team as usual.
    assert Notification.objects.filter(event=Event.INTAKE_SUBMITTED, recipient=coordinator).exists()


def test_a_flag_once_raised_stays_on_the_record_if_the_answer_is_changed(client_for, patient):
    client = client_for(patient.user)
    response_id = save_in_progress(client, 0, {"rf-self-harm-thoughts": True})
    sweep(60)

    body = patch(client, 90, response_id, answers=healthy_intake(), status="completed").json()

    assert [flag["code"] for flag in body["red_flags"]] == ["mh_self_harm"]
    assert IntakeReview.objects.get().severity == "crisis"


def test_coming_back_restarts_the_hour(client_for, patient, clinician):
    client = client_for(patient.user)
    response_id = save_in_progress(client, 0, {"rf-self-harm-thoughts": True})
    assert (
        patch(client, 30, response_id, answers={"rf-self-harm-thoughts": True}).status_code == 200
    )

    assert sweep(60) == 0
    assert sweep(90) == 1


def test_a_response_submitted_within_the_hour_is_left_to_the_submit(client_for, patient):
    client = client_for(patient.user)
    response_id = save_in_progress(client, 0, {"rf-self-harm-thoughts": True})
    patch(
        client,
        20,
        response_id,
        answers=healthy_intake(**{"rf-self-harm-thoughts": True}),
        status="completed",
    )

    assert sweep(120) == 0
    assert len(pages()) == 1
    assert IntakeReview.objects.get().paged_at == at(20)


def test_answers_without_a_red_flag_raise_nothing(client_for, patient):
    save_in_progress(client_for(patient.user), 0, {"rf-self-harm-thoughts": False})

    assert sweep(60) == 0
    assert not IntakeReview.objects.exists()
    assert QuestionnaireResponse.objects.get().red_flags_screened_at == at(60)


def test_a_worse_flag_added_after_an_expedited_raise_pages(client_for, patient, clinician):
    client = client_for(patient.user)
    response_id = save_in_progress(client, 0, {"rf-weight-loss": True})
    assert sweep(60) == 1
    review = IntakeReview.objects.get()
    assert (review.severity, review.expedited, review.paged_at) == ("soon", True, None)
    assert pages() == []

    patch(client, 70, response_id, answers={"rf-weight-loss": True, "rf-angioedema": True})
    assert sweep(130) == 1

    review.refresh_from_db()
    assert (review.severity, review.urgent, review.expedited) == ("emergency", True, False)
    assert pages() == [(clinician.user_id, f"page:{at(130):%Y%m%dT%H%M%S}.000000Z")]


@pytest.fixture
def reviewed_early(client_for, patient, clinician):
    """An abandoned intake's rectal-bleeding flag raised at 60 minutes and reviewed at 70.
    Returns the patient's client, the response id and the review."""
    client = client_for(patient.user)
    response_id = save_in_progress(client, 0, {"rf-rectal-bleeding": True})
    sweep(60)
    review = IntakeReview.objects.get()
    with time_machine.travel(at(70), tick=False):
        client_for(clinician.user).post(
            f"{REVIEWS}{review.id}/complete/", {"note": "Spoke to the patient."}, format="json"
        )
    return client, response_id, review


def test_a_review_completed_before_the_submit_is_reopened_without_paging_again(reviewed_early):
    client, response_id, review = reviewed_early

    answers = healthy_intake(**{"rf-rectal-bleeding": True})
    patch(client, 200, response_id, answers=answers, status="completed")

    review.refresh_from_db()
    assert (review.status, review.completed_at, review.severity) == ("pending", None, "urgent")
    assert len(pages()) == 1  # the clinician already acted on this flag
    # ... and answered its page, so nothing climbs the ladder for it.
    with time_machine.travel(at(400), tick=False):
        assert tasks.escalate_unanswered_pages() == 0


def test_a_review_completed_before_the_submit_pages_again_for_a_worse_flag(reviewed_early):
    client, response_id, _review = reviewed_early

    answers = healthy_intake(**{"rf-rectal-bleeding": True, "rf-self-harm-thoughts": True})
    body = patch(client, 200, response_id, answers=answers, status="completed").json()

    assert body["guidance"] == Severity.CRISIS.patient_guidance
    assert [occurrence for _, occurrence in pages()] == [
        f"page:{at(60):%Y%m%dT%H%M%S}.000000Z",
        f"page:{at(200):%Y%m%dT%H%M%S}.000000Z",
    ]


def test_an_abandoned_raise_escalates_like_any_page(client_for, patient, coordinator):
    save_in_progress(client_for(patient.user), 0, {"rf-self-harm-thoughts": True})
    sweep(60)

    with time_machine.travel(at(75), tick=False):
        assert tasks.escalate_unanswered_pages() == 1

    assert (coordinator.id, f"step-1:{at(60):%Y%m%dT%H%M%S}.000000Z") in pages()


def test_other_questionnaires_are_not_screened(client_for, patient):
    with time_machine.travel(at(0), tick=False):
        submit(client_for(patient.user), "poem", {"poem-1": 4}, status="in_progress")

    assert sweep(120) == 0
    assert QuestionnaireResponse.objects.get().red_flags_screened_at is None


# --- guidance before the care team is alerted -------------------------------------------------


def test_a_self_harm_answer_saved_in_progress_shows_988_at_once_and_asks_to_submit(
    client_for, patient
):
    with time_machine.travel(at(0), tick=False):
        saved = submit(
            client_for(patient.user),
            "gut-skin-intake",
            {"rf-self-harm-thoughts": True},
            status="in_progress",
        ).json()

    assert saved["guidance"] == Severity.CRISIS.guidance_before_alert
    assert "988" in saved["guidance"]
    assert "submit your answers" in saved["guidance"]
    # Nothing is raised yet: no flag on record, no review, no page.
    assert (saved["red_flags"], saved["severity"]) == ([], None)
    assert not IntakeReview.objects.exists()
    assert pages() == []


def test_once_raised_the_guidance_says_the_care_team_was_alerted(client_for, patient):
    client = client_for(patient.user)
    response_id = save_in_progress(client, 0, {"rf-self-harm-thoughts": True})
    sweep(60)

    body = client.get(response_url(response_id)).json()

    assert (body["severity"], body["guidance"]) == ("crisis", Severity.CRISIS.patient_guidance)


def test_a_worse_answer_after_a_raise_gets_its_own_guidance_before_it_is_raised(
    client_for, patient
):
    client = client_for(patient.user)
    response_id = save_in_progress(client, 0, {"rf-weight-loss": True})
    sweep(60)

    body = patch(
        client, 70, response_id, answers={"rf-weight-loss": True, "rf-angioedema": True}
    ).json()

    assert body["severity"] == "soon"  # what has been raised so far
    assert body["guidance"] == Severity.EMERGENCY.guidance_before_alert


def test_an_in_progress_answer_without_a_flag_has_no_guidance(client_for, patient):
    response_id = save_in_progress(client_for(patient.user), 0, {"rf-weight-loss": False})

    assert client_for(patient.user).get(response_url(response_id)).json()["guidance"] is None


def test_an_abandoned_intakes_review_compares_with_the_last_completed_intake(
    client_for, patient, clinician
):
    client = client_for(patient.user)
    with time_machine.travel(at(-60 * 24 * 30), tick=False):
        assert submit(client, "gut-skin-intake", healthy_intake()).status_code == 201
    response_id = save_in_progress(
        client, 0, healthy_intake(**{"rf-rectal-bleeding": True, "stress-level": 8})
    )
    sweep(60)
    review = IntakeReview.objects.get(response_id=UUID(response_id))
    staff = client_for(clinician.user)

    detail = staff.get(f"{REVIEWS}{review.id}/")
    # ... and a review completed from it answers with the review (no error after the write).
    with time_machine.travel(at(70), tick=False):
        completed = staff.post(f"{REVIEWS}{review.id}/complete/", {"note": ""}, format="json")

    assert detail.status_code == 200, detail.content
    changes = detail.json()["changes_since_previous"]
    assert changes["first_response"] is False
    assert {(c["link_id"], c["kind"]) for c in changes["answers"]} == {
        ("rf-rectal-bleeding", "changed"),
        ("stress-level", "changed"),
    }
    assert completed.status_code == 200, completed.content
