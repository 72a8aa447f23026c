"""What a new clinic stumbled on in intake (issue 13): the review detail with each question and
the patient's name, an optional completion note, the patient's own responses listed, and
unknown instruments refused."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from intake.models import IntakeReview

from .helpers import healthy_intake, poem, submit

pytestmark = pytest.mark.django_db

RESPONSES = "/api/v1/questionnaire-responses/"
REVIEWS = "/api/v1/intake-reviews/"


@pytest.fixture(autouse=True)
def questionnaires(db):
    call_command("sync_questionnaires", verbosity=0)


@pytest.fixture
def intake_done(client_for, patient):
    client = client_for(patient.user)
    submit(client, "poem", poem(2, 2, 2, 2, 2, 2, 2))
    return submit(client, "gut-skin-intake", healthy_intake(**{"water-glasses-daily": 3})).json()


@pytest.fixture
def clinician_client(client_for, clinician):
    return client_for(clinician.user)


# --- reviews ----------------------------------------------------------------------------------


def test_a_review_shows_the_patient_and_each_answer_with_its_question(
    clinician_client, patient, intake_done
):
    review = IntakeReview.objects.get(response_id=intake_done["id"])

    body = clinician_client.get(f"{REVIEWS}{review.id}/").json()

    assert body["patient_name"] == patient.user.full_name
    assert body["questionnaire_title"]
    by_link = {answer["link_id"]: answer for answer in body["answers"]}
    water = by_link["water-glasses-daily"]
    assert water["answer"] == 3
    assert "water" in water["question"].lower()
    concerns = by_link["skin-concerns"]
    assert concerns["answer_display"]  # the options' words, not just codes


def test_the_queue_shows_the_patient_name_and_answers_without_extra_queries(
    clinician_client, patient, intake_done, django_assert_max_num_queries
):
    # token + user, the page, audit: the names and answers ride on the page's joins.
    with django_assert_max_num_queries(8):
        page = clinician_client.get(REVIEWS).json()

    assert {item["patient_name"] for item in page["results"]} == {patient.user.full_name}
    assert all(item["answers"] for item in page["results"])


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("clinician", 200),
        ("coordinator", 200),
        ("other_clinician", 404),
        ("admin", 404),
        ("patient", 403),
        ("other_patient", 403),
        ("scheduler", 403),
    ],
)
def test_who_reads_a_review(actors, client_for, patient, intake_done, actor, expected):
    review = IntakeReview.objects.get(response_id=intake_done["id"])

    assert client_for(actors[actor]).get(f"{REVIEWS}{review.id}/").status_code == expected


def test_a_review_can_be_completed_without_a_note(clinician_client, patient, intake_done):
    review = IntakeReview.objects.get(response_id=intake_done["id"])

    response = clinician_client.post(f"{REVIEWS}{review.id}/complete/", {}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "completed"
    assert response.json()["note"] == ""


# --- the patient's own responses --------------------------------------------------------------


def test_a_patient_lists_their_own_responses_by_questionnaire(
    client_for, patient, other_patient, intake_done
):
    submit(client_for(other_patient.user), "poem", poem(1, 1, 1, 1, 1, 1, 1))

    mine = client_for(patient.user).get(RESPONSES, {"questionnaire": "poem"}).json()

    assert [r["questionnaire"] for r in mine["results"]] == ["poem"]
    assert {r["patient_id"] for r in mine["results"]} == {str(patient.id)}
    everything = client_for(patient.user).get(RESPONSES).json()["results"]
    assert {r["questionnaire"] for r in everything} == {"poem", "gut-skin-intake"}


@pytest.mark.parametrize(
    ("actor", "sees"),
    [
        ("clinician", 2),
        ("coordinator", 2),
        ("other_clinician", 0),
        ("other_patient", 0),
        ("admin", 0),
    ],
)
def test_the_care_team_lists_their_patients_responses(
    actors, client_for, patient, intake_done, actor, sees
):
    body = client_for(actors[actor]).get(RESPONSES, {"patient": str(patient.id)}).json()

    assert len(body["results"]) == sees


def test_schedulers_cannot_list_responses(client_for, scheduler):
    assert client_for(scheduler).get(RESPONSES).status_code == 403


def test_the_response_list_query_count_does_not_grow(
    client_for, patient, intake_done, django_assert_num_queries
):
    client = client_for(patient.user)
    # the token with its user and the patient's own row (visibility), the page (questionnaire
    # joined), one audit INSERT for the page
    with django_assert_num_queries(3):
        first = client.get(RESPONSES).json()
    for _ in range(3):
        submit(client, "poem", poem(1, 1, 1, 1, 1, 1, 1))
    with django_assert_num_queries(3):
        second = client.get(RESPONSES).json()
    assert (len(first["results"]), len(second["results"])) == (2, 5)


def test_an_unknown_questionnaire_filter_is_an_empty_page_but_an_empty_one_is_a_400(
    client_for, patient, intake_done
):
    client = client_for(patient.user)

    assert client.get(RESPONSES, {"questionnaire": "nope"}).json()["results"] == []
    assert client.get(f"{RESPONSES}?questionnaire=").status_code == 400


# --- measures ---------------------------------------------------------------------------------


def test_an_unknown_instrument_is_a_400_listing_the_instruments(client_for, patient):
    response = client_for(patient.user).get(
        f"/api/v1/patients/{patient.id}/measures/", {"instrument": "foo"}
    )

    assert response.status_code == 400
    (message,) = response.json()["error"]["fields"]["instrument"]
    assert '"foo" is not valid' in message
    for slug in ("poem", "dlqi", "ibs-sss", "isi"):
        assert slug in message
