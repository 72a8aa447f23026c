"""The review queue in the workspace: urgent first, expedited next; a review with its answers,
scores and changes since the patient's previous response; a clinician completes it with an
optional note; a coordinator reads but cannot complete; another team's review is a 404;
schedulers and patients are refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from carecore.accounts.models import Clinician, Patient, User
from intake import services as intake_services
from intake.models import IntakeReview
from tests.intake.helpers import poem

pytestmark = pytest.mark.django_db


def completed_poem(patient: Patient, *values: int) -> IntakeReview:
    intake_services.response_create(
        user=patient.user, slug="poem", answers=poem(*values), status="completed"
    )
    return patient.intake_reviews.order_by("-created_at").first()  # type: ignore[return-value]


@pytest.mark.parametrize("role", ["clinician", "coordinator"])
def test_the_queue_is_urgent_first_then_expedited(
    role: str,
    actors: dict[str, User],
    patient: Patient,
    other_patient: Patient,
    questionnaires: None,
    staff_web_for: Callable[[User], Client],
) -> None:
    routine = completed_poem(patient, 1, 1, 1, 1, 1, 1, 1)
    expedited = completed_poem(patient, 2, 2, 2, 2, 2, 2, 2)
    urgent = completed_poem(patient, 3, 3, 3, 3, 3, 3, 3)
    IntakeReview.objects.filter(pk=routine.pk).update(urgent=False, expedited=False)
    IntakeReview.objects.filter(pk=expedited.pk).update(urgent=False, expedited=True)
    IntakeReview.objects.filter(pk=urgent.pk).update(urgent=True)
    theirs = completed_poem(other_patient, 1, 1, 1, 1, 1, 1, 1)

    response = staff_web_for(actors[role]).get("/staff/reviews/")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<a href="/staff/reviews/" aria-current="page">Reviews</a>' in html
    places = [html.index(f"/staff/reviews/{r.id}/") for r in (urgent, expedited, routine)]
    assert places == sorted(places)
    assert str(theirs.id) not in html


def test_a_clinician_completes_a_review_with_a_note(
    patient: Patient,
    clinician: Clinician,
    questionnaires: None,
    staff_web_for: Callable[[User], Client],
) -> None:
    review = completed_poem(patient, 1, 2, 3, 1, 2, 3, 1)
    client = staff_web_for(clinician.user)

    page = client.get(f"/staff/reviews/{review.id}/").content.decode()
    assert "Scores" in page and "Answers" in page
    assert "Complete review" in page

    response = client.post(f"/staff/reviews/{review.id}/", {"note": "Reviewed, no concerns."})

    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == "completed"
    assert review.note == "Reviewed, no concerns."
    assert "Complete review" not in client.get(f"/staff/reviews/{review.id}/").content.decode()


def test_a_coordinator_reads_but_cannot_complete(
    patient: Patient,
    coordinator: User,
    questionnaires: None,
    staff_web_for: Callable[[User], Client],
) -> None:
    review = completed_poem(patient, 1, 1, 1, 1, 1, 1, 1)
    client = staff_web_for(coordinator)

    assert "Complete review" not in client.get(f"/staff/reviews/{review.id}/").content.decode()
    response = client.post(f"/staff/reviews/{review.id}/", {"note": ""})

    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    review.refresh_from_db()
    assert review.status == "pending"


def test_another_teams_review_is_a_404(
    other_patient: Patient,
    clinician: Clinician,
    questionnaires: None,
    staff_web_for: Callable[[User], Client],
) -> None:
    review = completed_poem(other_patient, 1, 1, 1, 1, 1, 1, 1)
    client = staff_web_for(clinician.user)

    assert client.get(f"/staff/reviews/{review.id}/").status_code == 404
    assert client.post(f"/staff/reviews/{review.id}/", {"note": "x"}).status_code == 404
    review.refresh_from_db()
    assert review.status == "pending"


@pytest.mark.parametrize("role", ["scheduler", "patient"])
def test_other_roles_are_refused(
    role: str,
    actors: dict[str, User],
    patient: Patient,
    questionnaires: None,
    staff_web_for: Callable[[User], Client],
) -> None:
    review = completed_poem(patient, 1, 1, 1, 1, 1, 1, 1)
    client = staff_web_for(actors[role])

    assert client.get("/staff/reviews/").status_code == 403
    assert client.get(f"/staff/reviews/{review.id}/").status_code == 403
    assert client.post(f"/staff/reviews/{review.id}/", {"note": ""}).status_code == 403
    review.refresh_from_db()
    assert review.status == "pending"


def two_weeks_apart(patient: Patient) -> IntakeReview:
    """A POEM two weeks ago (14, moderate) and one now (7, mild): the newer one's review."""
    with time_machine.travel(timezone.now() - timedelta(days=14)):
        completed_poem(patient, 2, 2, 2, 2, 2, 2, 2)
    return completed_poem(patient, 1, 1, 1, 1, 1, 1)


@pytest.mark.parametrize("role", ["clinician", "coordinator"])
def test_a_review_shows_the_changes_since_the_last_response(
    role: str,
    actors: dict[str, User],
    patient: Patient,
    questionnaires: None,
    staff_web_for: Callable[[User], Client],
) -> None:
    review = two_weeks_apart(patient)

    response = staff_web_for(actors[role]).get(f"/staff/reviews/{review.id}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Changes since the last response" in html
    assert "First response" not in html
    # The score now, last time and the change, each with its band.
    assert "<td>6 (mild)</td>" in html
    assert "<td>14 (moderate)</td>" in html
    assert "<td>-8</td>" in html
    changes = response.context["changes"]
    changed = {change.link_id: change for change in changes.answers}
    assert changed["poem-1"].kind == "changed"
    assert changed["poem-7"].kind == "no_longer_given"
    # Each change under its question, before and after in the options' words.
    question = changed["poem-1"].question
    row = html[html.index(question, html.index("Changes since")) :]
    assert row.index("3-4 days") < row.index("1-2 days") < row.index("</tr>")
    assert "No longer given" in html
    assert ("Complete review" in html) is (role == "clinician")


def test_a_first_response_has_nothing_to_compare(
    patient: Patient,
    clinician: Clinician,
    questionnaires: None,
    staff_web_for: Callable[[User], Client],
) -> None:
    review = completed_poem(patient, 1, 1, 1, 1, 1, 1, 1)

    html = staff_web_for(clinician.user).get(f"/staff/reviews/{review.id}/").content.decode()

    assert "First response: nothing to compare." in html
    assert "<td>7 (mild)</td>" in html


def test_the_review_page_query_count(
    patient: Patient,
    clinician: Clinician,
    questionnaires: None,
    staff_web_for: Callable[[User], Client],
    django_assert_num_queries: Any,
) -> None:
    review = two_weeks_apart(patient)
    client = staff_web_for(clinician.user)
    client.get(f"/staff/reviews/{review.id}/")  # warm: the session's first read

    # Session and user (2); the review with its response, version, questionnaire, patient and
    # user, and its READ event (2); the previous response's id (1), the previous response
    # through access_response and its READ event (2); whether the reader may complete it, not
    # reading under break-glass (1).
    with django_assert_num_queries(8):
        assert client.get(f"/staff/reviews/{review.id}/").status_code == 200


def test_the_review_notification_and_its_old_link_open_the_review_page(
    patient: Patient,
    clinician: Clinician,
    questionnaires: None,
    staff_web_for: Callable[[User], Client],
) -> None:
    from django.urls import resolve

    from carecore.notifications import links

    review = completed_poem(patient, 1, 2, 3, 1, 2, 3, 1)
    path = links.intake_review_page(review.id)
    assert resolve(path).view_name == "staff_web:review"

    moved = staff_web_for(clinician.user).get(f"/reviews/{review.id}/")

    assert moved.status_code == 302 and moved["Location"] == path
    assert Client().get(f"/reviews/{review.id}/")["Location"].startswith("/staff/sign-in/")
