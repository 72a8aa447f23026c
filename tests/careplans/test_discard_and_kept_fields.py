# ruff: noqa: F811  (pytest fixtures imported from test_apis are used as test arguments)
"""Care-plan gaps from issue 13: discarding a draft, the open draft named in draft_exists, an
explicit (empty) draft body, and PATCH keeping the fields it is not sent."""

from __future__ import annotations

import pytest

from carecore.audit.models import AuditEvent
from careplans.models import CarePlan, CarePlanActivity

from .test_apis import clinician_client, draft, intake_done, plan_url  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("questionnaires")]


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


def test_an_id_that_is_no_item_of_the_draft_is_refused_under_its_list(
    clinician_client, patient, intake_done
):
    plan = draft(clinician_client, patient.id).json()
    kept = plan["activities"][0]["id"]
    stranger = "2a3b4c5d-6e7f-4801-9a2b-3c4d5e6f7a8b"

    response = clinician_client.patch(
        plan_url(plan["id"]),
        {"activities": [{"id": kept}, {"id": stranger, "title": "Raise fibre"}]},
        format="json",
    )

    # Named by the input's list and the item's position (it was the model's name,
    # "careplanactivity", which no client sends).
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "activities": {"1": {"id": [f"Unknown id {stranger}: not an item of this draft."]}}
    }


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
