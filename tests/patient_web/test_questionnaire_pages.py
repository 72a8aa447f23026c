"""Questionnaires on the patient's pages: rendered from the published definition, saved and
resumed, submitted through intake's services with errors next to their questions, and the
red-flag guidance shown at once; someone else's response is a 404."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from carecore.accounts.models import Clinician, Patient, User
from intake import services as intake_services
from intake.models import QuestionnaireResponse, QuestionnaireVersion, ResponseStatus
from tests.intake.test_intake_apis import healthy_intake

pytestmark = pytest.mark.django_db

INTAKE = "/questionnaires/gut-skin-intake/"


def form_data(answers: dict[str, Any], action: str) -> dict[str, Any]:
    """The form's fields for `answers` (the shape the page's inputs send)."""
    data: dict[str, Any] = {"action": action}
    for link_id, value in answers.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        data[f"q-{link_id}"] = (
            [str(each) for each in value] if isinstance(value, list) else str(value)
        )
    return data


def test_it_renders_every_item_type_and_hides_the_branches_not_taken(
    questionnaires: None, patient: Patient, web_for: Callable[[User], Client]
) -> None:
    html = web_for(patient.user).get(INTAKE).content.decode()

    assert 'type="checkbox" name="q-skin-concerns"' in html
    assert 'name="q-stool-type" id="q-stool-type-0" value="1"' in html
    assert 'name="q-skin-self-rating" id="q-skin-self-rating-0" type="number"' in html
    assert 'name="q-gut-symptoms" id="q-gut-symptoms-0" value="true"' in html
    # enableWhen: "gut-symptoms-new" waits for a yes to "gut-symptoms".
    branch = html.split('id="q-gut-symptoms-new"')[1].split(">")[0]
    assert "hidden" in branch
    assert "data-enable-when=" in branch
    # 39 items, 5 of them behind a branch not taken yet.
    assert '<progress id="progress" max="34" value="0">' in html
    assert "Save and continue later" in html


def test_it_saves_answers_to_continue_later(
    questionnaires: None, patient: Patient, web_for: Callable[[User], Client]
) -> None:
    client = web_for(patient.user)

    response = client.post(INTAKE, form_data({"skin-self-rating": 6, "stool-type": 4}, "save"))

    assert response["Location"] == INTAKE + "?saved=1"
    saved = QuestionnaireResponse.objects.get(patient=patient)
    assert saved.status == ResponseStatus.IN_PROGRESS
    assert saved.answers == {"skin-self-rating": 6, "stool-type": 4}
    page = client.get(response["Location"]).content.decode()
    assert "Your answers are saved." in page
    assert 'value="6"' in page
    assert '<progress id="progress" max="34" value="2">' in page


def publish_intake_version_without_self_rating_and_with_a_new_question() -> None:
    """A newer gut-skin intake: the required "skin-self-rating" removed, a required question
    added (what a clinic's next version might do)."""
    current = QuestionnaireVersion.objects.get(
        questionnaire__slug="gut-skin-intake", is_current=True
    )
    newer = copy.deepcopy(current.definition)
    newer["version"] = "99.0.0"
    newer["items"] = [item for item in newer["items"] if item["linkId"] != "skin-self-rating"]
    newer["items"].insert(
        0,
        {
            "linkId": "sleep-hours",
            "text": "How many hours do you usually sleep?",
            "type": "integer",
            "required": True,
            "min": 0,
            "max": 24,
        },
    )
    intake_services.questionnaire_publish(definition=newer)


def test_it_finishes_a_saved_response_on_the_version_it_pins(
    questionnaires: None, patient: Patient, web_for: Callable[[User], Client]
) -> None:
    client = web_for(patient.user)
    client.post(INTAKE, form_data({"skin-self-rating": 6, "stool-type": 4}, "save"))
    saved = QuestionnaireResponse.objects.get(patient=patient)
    pinned = saved.version.version
    publish_intake_version_without_self_rating_and_with_a_new_question()

    # The saved response is drawn with the questions of the version it pins.
    page = client.get(INTAKE).content.decode()
    assert 'name="q-skin-self-rating"' in page
    assert 'value="6"' in page
    assert 'name="q-sleep-hours"' not in page
    # Its errors are next to its own questions.
    unfinished = healthy_intake()
    del unfinished["skin-self-rating"]
    refused = client.post(INTAKE, form_data(unfinished, "submit")).content.decode()
    assert 'href="#q-skin-self-rating-0"' in refused
    assert 'id="q-skin-self-rating-error"' in refused

    response = client.post(INTAKE, form_data(healthy_intake(), "submit"))

    assert response.status_code == 302, response.content.decode()[:3000]
    saved.refresh_from_db()
    assert saved.status == ResponseStatus.COMPLETED
    assert saved.version.version == pinned
    assert saved.answers["skin-self-rating"] == healthy_intake()["skin-self-rating"]
    # The next response starts on the newer version.
    again = client.get(INTAKE).content.decode()
    assert 'name="q-sleep-hours"' in again
    assert 'name="q-skin-self-rating"' not in again


def test_it_puts_intakes_errors_next_to_their_questions(
    questionnaires: None, patient: Patient, web_for: Callable[[User], Client]
) -> None:
    answers = healthy_intake()
    del answers["skin-self-rating"]

    response = web_for(patient.user).post(INTAKE, form_data(answers, "submit"))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="#q-skin-self-rating-0"' in html
    assert 'id="q-skin-self-rating-error"' in html
    assert not QuestionnaireResponse.objects.filter(status=ResponseStatus.COMPLETED).exists()


def test_it_puts_a_nul_in_a_text_answer_next_to_its_question(
    questionnaires: None, patient: Patient, web_for: Callable[[User], Client]
) -> None:
    # PostgreSQL stores no NUL; saving this was a 500 before intake's engine refused it.
    answers = healthy_intake(
        **{"skin-concerns": ["other"], "skin-concerns-other": "cracked\x00fingertips"}
    )

    response = web_for(patient.user).post(INTAKE, form_data(answers, "save"))

    assert response.status_code == 200
    assert 'id="q-skin-concerns-other-error"' in response.content.decode()
    assert not QuestionnaireResponse.objects.filter(patient=patient).exists()


def test_it_ignores_answers_to_questions_their_branch_left_out(
    questionnaires: None, patient: Patient, web_for: Callable[[User], Client]
) -> None:
    answers = healthy_intake(**{"gut-symptoms": False})

    response = web_for(patient.user).post(INTAKE, form_data(answers, "submit"))

    assert response.status_code == 302, response.content.decode()[:3000]
    completed = QuestionnaireResponse.objects.get(patient=patient)
    assert completed.status == ResponseStatus.COMPLETED
    assert "gut-symptoms-new" not in completed.answers


def test_it_shows_the_crisis_guidance_at_once_when_a_red_flag_fires(
    questionnaires: None, patient: Patient, clinician: Clinician, web_for: Callable[[User], Client]
) -> None:
    client = web_for(patient.user)

    response = client.post(
        INTAKE, form_data(healthy_intake(**{"rf-self-harm-thoughts": True}), "submit"), follow=True
    )

    html = response.content.decode()
    assert "Thank you" in html
    assert '<div class="alert" role="alert">' in html
    assert 'href="tel:988"' in html


def test_it_answers_404_for_another_patients_response(
    questionnaires: None,
    patient: Patient,
    other_patient: Patient,
    web_for: Callable[[User], Client],
) -> None:
    web_for(other_patient.user).post(INTAKE, form_data(healthy_intake(), "submit"))
    theirs = QuestionnaireResponse.objects.get(patient=other_patient)

    response = web_for(patient.user).get(f"/questionnaires/responses/{theirs.id}/")

    assert response.status_code == 404


def test_it_refuses_staff_the_questionnaire_pages(
    questionnaires: None, clinician: Clinician, web_for: Callable[[User], Client]
) -> None:
    assert web_for(clinician.user).get(INTAKE).status_code == 403
    assert web_for(clinician.user).get("/questionnaires/").status_code == 403


def test_it_lists_questionnaires_and_an_unknown_one_is_404(
    questionnaires: None, patient: Patient, web_for: Callable[[User], Client]
) -> None:
    client = web_for(patient.user)

    assert "Gut-skin intake" in client.get("/questionnaires/").content.decode()
    assert client.get("/questionnaires/no-such-thing/").status_code == 404
