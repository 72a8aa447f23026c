"""A NUL character (U+0000) in intake text: PostgreSQL stores none in text or jsonb, so a free-
text answer holding one was a 500 on save. It is a 400 keyed by the answer's linkId, on
create, on save-and-resume and on the patient page's form path alike (one engine check)."""

from __future__ import annotations

import pytest

from carecore.common.errors import ValidationFailed
from intake import services
from intake.models import IntakeReview, QuestionnaireResponse

from .helpers import REVIEWS, healthy_intake, poem, response_url, submit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("questionnaires")]

NUL_ANSWER = {"skin-concerns": ["other"], "skin-concerns-other": "cracked\x00fingertips"}
REFUSED = {"skin-concerns-other": ["Null characters are not allowed."]}


@pytest.mark.parametrize("status", ["completed", "in_progress"])
def test_a_nul_in_a_text_answer_is_a_400_keyed_by_its_link_id(client_for, patient, status):
    response = submit(
        client_for(patient.user), "gut-skin-intake", healthy_intake(**NUL_ANSWER), status
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["fields"] == REFUSED
    assert not QuestionnaireResponse.objects.filter(patient=patient).exists()


def test_a_nul_in_a_text_answer_saved_for_later_is_a_400(client_for, patient):
    client = client_for(patient.user)
    started = submit(client, "gut-skin-intake", {"skin-concerns": ["other"]}, "in_progress")

    response = client.patch(
        response_url(started.json()["id"]),
        {"answers": {"skin-concerns": ["other"], "skin-concerns-other": "\x00"}},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == REFUSED


def test_the_service_refuses_it_for_every_caller(patient):
    with pytest.raises(ValidationFailed) as refused:
        services.response_create(
            user=patient.user,
            slug="gut-skin-intake",
            answers=healthy_intake(**NUL_ANSWER),
            status="completed",
        )

    assert refused.value.fields == REFUSED


def test_a_nul_in_a_review_note_is_a_400(client_for, patient, clinician):
    client = client_for(patient.user)
    submit(client, "poem", poem(2, 2, 2, 2, 2, 2, 2))
    done = submit(client, "gut-skin-intake", healthy_intake()).json()
    review = IntakeReview.objects.get(response_id=done["id"])

    response = client_for(clinician.user).post(
        f"{REVIEWS}{review.id}/complete/", {"note": "seen\x00"}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"note"}
