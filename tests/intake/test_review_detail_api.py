"""`GET /api/v1/intake-reviews/<id>/`: the review with `changes_since_previous`, what changed
since the patient's previous completed response to the questionnaire; the previous response's
read is audited as a response read; the query count is pinned."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from carecore.audit.models import AuditEvent
from intake.models import IntakeReview

from .helpers import REVIEWS, healthy_intake, poem, submit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("questionnaires")]


def two_poems(client_for, patient) -> tuple[str, IntakeReview]:
    """A POEM two weeks ago (14, moderate) and one now (7, mild): the earlier response's id and
    the newer one's review."""
    client = client_for(patient.user)
    with time_machine.travel(timezone.now() - timedelta(days=14)):
        earlier = submit(client, "poem", poem(2, 2, 2, 2, 2, 2, 2)).json()["id"]
    now = submit(client, "poem", poem(1, 1, 1, 1, 1, 1, 1)).json()["id"]
    return earlier, IntakeReview.objects.get(response_id=now)


@pytest.mark.parametrize("role", ["clinician", "coordinator"])
def test_the_review_detail_shows_changes_since_the_previous_response(
    actors, client_for, patient, role
):
    earlier, review = two_poems(client_for, patient)

    body = client_for(actors[role]).get(f"{REVIEWS}{review.id}/").json()

    changes = body["changes_since_previous"]
    assert changes["first_response"] is False
    assert changes["previous_response_id"] == earlier
    assert changes["previous_questionnaire_version"] == "1.0.0"
    assert len(changes["answers"]) == 7
    first = changes["answers"][0]
    assert first["link_id"] == "poem-1"
    assert first["kind"] == "changed"
    assert first["question"] == (
        "In the past 7 days, on how many days has your skin been itchy because of your eczema?"
    )
    assert (first["before"]["answer_display"], first["after"]["answer_display"]) == (
        "3-4 days",
        "1-2 days",
    )
    assert changes["scores"] == [
        {
            "instrument": "poem",
            "total": 7.0,
            "band": "mild",
            "previous_total": 14.0,
            "previous_band": "moderate",
            "change": -7.0,
        }
    ]


def test_a_first_response_has_nothing_to_compare(client_for, patient, clinician):
    submit(client_for(patient.user), "poem", poem(1, 1, 1, 1, 1, 1, 1))
    review = IntakeReview.objects.get()

    changes = client_for(clinician.user).get(f"{REVIEWS}{review.id}/").json()
    changes = changes["changes_since_previous"]

    assert changes["first_response"] is True
    assert changes["previous_response_id"] is None
    assert changes["answers"] == []
    assert [(s["total"], s["previous_total"], s["change"]) for s in changes["scores"]] == [
        (7.0, None, None)
    ]


def test_new_and_no_longer_given_answers_are_listed(client_for, patient, clinician):
    client = client_for(patient.user)
    with time_machine.travel(timezone.now() - timedelta(days=30)):
        submit(client, "gut-skin-intake", healthy_intake(**{"probiotic-use": True}))
    later = healthy_intake(**{"skin-concerns": ["eczema", "other"]})
    later["skin-concerns-other"] = "Cracked fingertips"
    submit(client, "gut-skin-intake", later)
    review = IntakeReview.objects.order_by("-created_at")[0]

    changes = client_for(clinician.user).get(f"{REVIEWS}{review.id}/").json()
    answers = {c["link_id"]: c for c in changes["changes_since_previous"]["answers"]}

    assert answers["skin-concerns"]["after"]["answer_display"] == "Eczema, Something else"
    assert answers["skin-concerns-other"]["kind"] == "new"
    assert answers["skin-concerns-other"]["before"] is None
    assert answers["skin-concerns-other"]["after"]["answer"] == "Cracked fingertips"
    assert answers["probiotic-use"]["kind"] == "changed"
    assert "stress-level" not in answers


def test_reading_the_review_audits_the_previous_response_as_a_response_read(
    client_for, patient, clinician
):
    earlier, review = two_poems(client_for, patient)

    client_for(clinician.user).get(f"{REVIEWS}{review.id}/")

    assert AuditEvent.objects.filter(
        object_type="questionnaire_response",
        object_id=earlier,
        action="read",
        actor_id=clinician.user_id,
        patient_id=patient.id,
    ).exists()


@pytest.mark.parametrize(
    ("actor", "expected"), [("other_clinician", 404), ("scheduler", 403), ("patient", 403)]
)
def test_others_get_no_review_detail(actors, client_for, patient, actor, expected):
    _earlier, review = two_poems(client_for, patient)

    assert client_for(actors[actor]).get(f"{REVIEWS}{review.id}/").status_code == expected


def test_the_review_detail_query_count(client_for, patient, clinician, django_assert_num_queries):
    _earlier, review = two_poems(client_for, patient)
    staff = client_for(clinician.user)
    # the token with its user and patient row (one query, no sweep of the user's tokens), the
    # review (with response, version, questionnaire, patient and user) + its audit INSERT, the
    # previous response's id, the previous response through access_response + its audit INSERT
    with django_assert_num_queries(6):
        assert staff.get(f"{REVIEWS}{review.id}/").status_code == 200
