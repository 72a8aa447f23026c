"""What a new clinic stumbled on in intake and care plans (issue 13): discarding a draft, the
open draft named in draft_exists, kept fields on PATCH, the review detail with each question,
an optional completion note, the patient's own responses listed, and unknown instruments."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from carecore.audit.models import AuditEvent
from intake.models import CarePlan, CarePlanActivity, IntakeReview

from .test_care_plan_apis import draft, plan_url
from .test_intake_apis import healthy_intake, poem, submit

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


# --- discarding a draft -----------------------------------------------------------------------


def test_a_clinician_discards_a_draft_and_can_draft_afresh(clinician_client, patient, intake_done):
    plan = draft(clinician_client, patient.id).json()

    response = clinician_client.delete(plan_url(plan["id"]))

    assert response.status_code == 204
    assert not CarePlan.objects.filter(id=plan["id"]).exists()
    assert not CarePlanActivity.objects.filter(plan_id=plan["id"]).exists()
    assert AuditEvent.objects.filter(
        object_type="care_plan", object_id=plan["id"], action="delete"
    ).exists()
    assert draft(clinician_client, patient.id).status_code == 201


def test_a_published_plan_cannot_be_discarded(clinician_client, patient, intake_done):
    plan = draft(clinician_client, patient.id).json()
    clinician_client.post(plan_url(plan["id"], "publish"))

    response = clinician_client.delete(plan_url(plan["id"]))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "plan_not_draft"
    assert CarePlan.objects.filter(id=plan["id"]).exists()


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("coordinator", 403),
        ("scheduler", 403),
        ("other_clinician", 404),
        ("patient", 404),
        ("other_patient", 404),
        ("admin", 404),
    ],
)
def test_who_cannot_discard_a_draft(
    actors, client_for, clinician_client, patient, intake_done, actor, expected
):
    plan = draft(clinician_client, patient.id).json()

    response = client_for(actors[actor]).delete(plan_url(plan["id"]))

    assert response.status_code == expected
    assert CarePlan.objects.filter(id=plan["id"]).exists()


def test_drafting_again_names_the_open_draft(clinician_client, patient, intake_done):
    plan = draft(clinician_client, patient.id).json()

    response = draft(clinician_client, patient.id)

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "draft_exists"
    assert error["fields"] == {"draft_id": plan["id"]}


def test_the_draft_post_takes_an_empty_object_and_refuses_anything_else(
    clinician_client, patient, intake_done
):
    url = f"/api/v1/patients/{patient.id}/care-plans/"

    assert clinician_client.post(url, [], format="json").status_code == 400
    assert clinician_client.post(url, {}, format="json").status_code == 201


# --- PATCH keeps what it is not told ----------------------------------------------------------


def test_a_patch_that_omits_an_activitys_category_keeps_it(clinician_client, patient, intake_done):
    plan = draft(clinician_client, patient.id).json()
    kept = plan["activities"][0]
    assert kept["category"] != "custom"

    response = clinician_client.patch(
        plan_url(plan["id"]),
        {"activities": [{"id": kept["id"], "title": "Shorter title"}]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    (activity,) = response.json()["activities"]
    assert activity["title"] == "Shorter title"
    assert activity["category"] == kept["category"]
    assert activity["instructions"] == kept["instructions"]
    assert activity["evidence"] == kept["evidence"]


def test_a_new_activity_without_a_category_is_custom(clinician_client, patient, intake_done):
    plan = draft(clinician_client, patient.id).json()

    response = clinician_client.patch(
        plan_url(plan["id"]),
        {"activities": [{"title": "Moisturise", "instructions": "Twice daily."}]},
        format="json",
    )

    assert response.json()["activities"][0]["category"] == "custom"


def test_new_items_name_every_missing_field_at_once(clinician_client, patient, intake_done):
    plan = draft(clinician_client, patient.id).json()

    response = clinician_client.patch(
        plan_url(plan["id"]),
        {"activities": [{"rationale": "why"}], "goals": [{"baseline": 12}], "summary": 5},
        format="json",
    )

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    # Per item, keyed by its position in the list.
    assert set(fields["activities"]["0"]) == {"title", "instructions"}
    assert set(fields["goals"]["0"]) == {"title", "instrument", "target_change"}
    assert fields["summary"] == ["Must be a string."]


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
    # token + user, knox's sweep, the patient's own row (visibility), the page (questionnaire
    # joined), one audit INSERT for the page
    with django_assert_num_queries(5):
        first = client.get(RESPONSES).json()
    for _ in range(3):
        submit(client, "poem", poem(1, 1, 1, 1, 1, 1, 1))
    with django_assert_num_queries(5):
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
