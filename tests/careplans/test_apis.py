"""Care plans: drafted from intake, edited by the clinician, gated on red flags, published,
superseded and compared; the patient never sees a draft; goals schedule check-ins."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
import time_machine
from django.db import DatabaseError, transaction
from django.utils import timezone

from careplans.models import CarePlan, CarePlanActivity, CheckIn
from intake.models import IntakeReview

from ..intake.helpers import healthy_intake, poem, submit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("questionnaires")]

PLANS = "/api/v1/care-plans/"


def draft(client, patient_id):
    return client.post(f"/api/v1/patients/{patient_id}/care-plans/")


def plan_url(plan_id, action: str = "") -> str:
    return f"{PLANS}{plan_id}/{action + '/' if action else ''}"


@pytest.fixture
def intake_done(client_for, patient):
    """A completed intake touching a few rules, and a moderate POEM."""
    client = client_for(patient.user)
    submit(client, "poem", poem(2, 2, 2, 2, 2, 2, 2))
    response = submit(
        client,
        "gut-skin-intake",
        healthy_intake(**{"fibre-servings-daily": 1, "water-glasses-daily": 3}),
    )
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def clinician_client(client_for, clinician):
    return client_for(clinician.user)


def test_drafting_needs_a_completed_intake(clinician_client, patient):
    response = draft(clinician_client, patient.id)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "intake_missing"


def test_a_draft_carries_each_activitys_rule_rationale_and_evidence(
    clinician_client, patient, intake_done
):
    response = draft(clinician_client, patient.id)

    assert response.status_code == 201
    plan = response.json()
    assert plan["status"] == "draft"
    by_code = {activity["code"]: activity for activity in plan["activities"]}
    assert {"fiber", "prebiotic_foods", "hydration", "skin_goal"} <= set(by_code)
    assert by_code["fiber"]["evidence"] == ["fibre-rich foods: 1 serving a day"]
    assert by_code["hydration"]["rationale"].startswith("Suggested because")
    (goal,) = plan["goals"]
    assert (goal["instrument"], goal["baseline"], goal["target_value"]) == ("poem", 14, 10.6)


def test_only_one_draft_at_a_time(clinician_client, patient, intake_done):
    draft(clinician_client, patient.id)

    again = draft(clinician_client, patient.id)

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "draft_exists"


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("coordinator", 403),
        ("scheduler", 403),
        ("patient", 403),
        ("other_clinician", 404),
    ],
)
def test_only_the_care_teams_clinicians_draft(
    actors, client_for, patient, intake_done, actor, expected
):
    assert draft(client_for(actors[actor]), patient.id).status_code == expected


def test_the_patient_never_sees_a_draft(client_for, clinician_client, patient, intake_done):
    plan = draft(clinician_client, patient.id).json()
    patient_client = client_for(patient.user)

    assert patient_client.get(plan_url(plan["id"])).status_code == 404
    assert patient_client.get(PLANS).json()["results"] == []
    assert (
        patient_client.get(plan_url(plan["id"], "diff"), {"against": plan["id"]}).status_code == 404
    )


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("clinician", 200),
        ("coordinator", 200),
        ("other_clinician", 404),
        ("admin", 404),
        ("other_patient", 404),
        ("scheduler", 403),
    ],
)
def test_who_reads_a_draft(
    actors, client_for, clinician_client, patient, intake_done, actor, expected
):
    plan = draft(clinician_client, patient.id).json()

    assert client_for(actors[actor]).get(plan_url(plan["id"])).status_code == expected


def test_a_nul_in_any_text_of_a_draft_is_a_400_naming_it(clinician_client, patient, intake_done):
    # PostgreSQL stores no NUL: DRF's CharField refuses it, a 400 rather than a 500.
    plan = draft(clinician_client, patient.id).json()
    fiber = next(a for a in plan["activities"] if a["code"] == "fiber")
    goal = plan["goals"][0]
    nul = "\x00"

    response = clinician_client.patch(
        plan_url(plan["id"]),
        {
            "summary": f"Fibre{nul}",
            "activities": [
                {
                    **fiber,
                    "title": f"T{nul}",
                    "instructions": f"I{nul}",
                    "rationale": f"R{nul}",
                    "evidence": ["ok", f"E{nul}"],
                }
            ],
            "goals": [{**goal, "title": f"G{nul}"}],
        },
        format="json",
    )

    assert response.status_code == 400
    refused = ["Null characters are not allowed."]
    assert response.json()["error"]["fields"] == {
        "summary": refused,
        "activities": {
            "0": {
                "title": refused,
                "instructions": refused,
                "rationale": refused,
                "evidence": {"1": refused},
            }
        },
        "goals": {"0": {"title": refused}},
    }
    assert CarePlan.objects.get(pk=plan["id"]).summary == plan["summary"]


def test_a_clinician_edits_a_draft(clinician_client, patient, intake_done):
    plan = draft(clinician_client, patient.id).json()
    fiber = next(a for a in plan["activities"] if a["code"] == "fiber")
    goal = plan["goals"][0]

    response = clinician_client.patch(
        plan_url(plan["id"]),
        {
            "summary": "Start with fibre and water.",
            "activities": [
                {**fiber, "title": "Raise fibre slowly"},
                {
                    "title": "Moisturise twice daily",
                    "instructions": "After bathing.",
                    "category": "skin",
                },
            ],
            "goals": [{**goal, "target_change": 5}],
        },
        format="json",
    )

    assert response.status_code == 200
    edited = response.json()
    assert edited["summary"] == "Start with fibre and water."
    assert [(a["code"], a["title"]) for a in edited["activities"]] == [
        ("fiber", "Raise fibre slowly"),
        ("custom", "Moisturise twice daily"),
    ]
    assert edited["activities"][0]["id"] == fiber["id"]
    assert edited["goals"][0]["target_change"] == 5


@pytest.mark.parametrize(("actor", "expected"), [("coordinator", 403), ("other_clinician", 404)])
def test_others_cannot_edit_a_draft(
    actors, client_for, clinician_client, patient, intake_done, actor, expected
):
    plan = draft(clinician_client, patient.id).json()

    response = client_for(actors[actor]).patch(
        plan_url(plan["id"]), {"summary": "x"}, format="json"
    )

    assert response.status_code == expected


def test_publishing_is_refused_while_a_red_flag_is_unreviewed(
    client_for, clinician_client, patient
):
    client = client_for(patient.user)
    submit(client, "gut-skin-intake", healthy_intake(**{"rf-rectal-bleeding": True}))
    plan = draft(clinician_client, patient.id).json()
    assert "urgent_review" in [a["code"] for a in plan["activities"]]

    refused = clinician_client.post(plan_url(plan["id"], "publish"))
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "unreviewed_red_flag"

    review = IntakeReview.objects.get(urgent=True)
    clinician_client.post(
        f"/api/v1/intake-reviews/{review.id}/complete/", {"note": "Referred."}, format="json"
    )
    published = clinician_client.post(plan_url(plan["id"], "publish"))

    assert published.status_code == 200
    assert published.json()["status"] == "active"


def test_publish_shows_the_plan_to_the_patient(client_for, clinician_client, patient, intake_done):
    plan = draft(clinician_client, patient.id).json()
    _complete_reviews(clinician_client)

    clinician_client.post(plan_url(plan["id"], "publish"))

    patient_client = client_for(patient.user)
    assert patient_client.get(plan_url(plan["id"])).status_code == 200
    assert [p["id"] for p in patient_client.get(PLANS).json()["results"]] == [plan["id"]]


def _complete_reviews(client) -> None:
    for review in IntakeReview.objects.filter(status="pending"):
        client.post(f"/api/v1/intake-reviews/{review.id}/complete/", {"note": ""}, format="json")


def test_a_new_version_supersedes_the_old_and_can_be_compared(
    client_for, clinician_client, patient, intake_done
):
    first = draft(clinician_client, patient.id).json()
    _complete_reviews(clinician_client)
    clinician_client.post(plan_url(first["id"], "publish"))
    submit(client_for(patient.user), "gut-skin-intake", healthy_intake(**{"stress-level": 9}))
    _complete_reviews(clinician_client)
    second = draft(clinician_client, patient.id).json()

    clinician_client.post(plan_url(second["id"], "publish"))

    statuses = dict(CarePlan.objects.values_list("id", "status"))
    assert {str(k): v for k, v in statuses.items()} == {
        first["id"]: "superseded",
        second["id"]: "active",
    }
    assert clinician_client.get(plan_url(second["id"])).json()["supersedes"] == first["id"]
    diff = clinician_client.get(plan_url(second["id"], "diff"), {"against": first["id"]}).json()
    assert "stress" in diff["activities"]["added"]
    assert "fiber" in diff["activities"]["removed"]


def test_a_published_plan_is_immutable(clinician_client, patient, intake_done):
    plan = draft(clinician_client, patient.id).json()
    _complete_reviews(clinician_client)
    clinician_client.post(plan_url(plan["id"], "publish"))

    refused = clinician_client.patch(plan_url(plan["id"]), {"summary": "changed"}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "plan_not_draft"
    with pytest.raises(DatabaseError, match="never changes"), transaction.atomic():
        CarePlanActivity.objects.filter(plan_id=plan["id"]).update(title="sneaky")


def test_publishing_schedules_the_goals_check_ins(clinician_client, patient, intake_done):
    plan = draft(clinician_client, patient.id).json()
    _complete_reviews(clinician_client)

    clinician_client.post(plan_url(plan["id"], "publish"))

    due = sorted(CheckIn.objects.filter(instrument="poem").values_list("due_at", flat=True))
    assert len(due) == 4  # POEM every 2 weeks for 8 weeks
    assert [(b - a).days for a, b in itertools.pairwise(due)] == [14, 14, 14]


def test_a_poem_answered_when_due_completes_the_check_in(
    client_for, clinician_client, patient, intake_done
):
    plan = draft(clinician_client, patient.id).json()
    _complete_reviews(clinician_client)
    clinician_client.post(plan_url(plan["id"], "publish"))

    with time_machine.travel(timezone.now() + timedelta(days=14, hours=1)):
        response = submit(client_for(patient.user), "poem", poem(1, 1, 1, 1, 1, 1, 1))

    first = CheckIn.objects.order_by("due_at")[0]
    assert str(first.response_id) == response.json()["id"]


def test_the_plan_list_query_count_does_not_grow(
    clinician_client, patient, intake_done, django_assert_num_queries
):
    draft(clinician_client, patient.id)
    # the token with its user, plans page, goals prefetch, activities prefetch, audit
    with django_assert_num_queries(5):
        response = clinician_client.get(PLANS, {"patient": str(patient.id)})
    assert len(response.json()["results"]) == 1


def test_the_measures_timeline_shows_progress_against_the_goal(
    client_for, clinician_client, patient, intake_done
):
    plan = draft(clinician_client, patient.id).json()
    _complete_reviews(clinician_client)
    clinician_client.post(plan_url(plan["id"], "publish"))
    submit(client_for(patient.user), "poem", poem(1, 1, 1, 1, 1, 1, 1))

    body = clinician_client.get(
        f"/api/v1/patients/{patient.id}/measures/", {"instrument": "poem"}
    ).json()

    assert body["goal"]["target_value"] == 10.6
    assert [point["total"] for point in body["results"]] == [14, 7]
    assert body["results"][-1]["total"] <= body["goal"]["target_value"]


@pytest.mark.parametrize(
    ("actor", "status", "sees"),
    [
        ("clinician", 200, 1),
        ("coordinator", 200, 1),
        ("patient", 200, 0),
        ("other_clinician", 200, 0),
        ("other_patient", 200, 0),
        ("admin", 200, 0),
        ("scheduler", 403, None),
    ],
)
def test_who_lists_a_draft(
    actors, client_for, clinician_client, patient, intake_done, actor, status, sees
):
    draft(clinician_client, patient.id)

    response = client_for(actors[actor]).get(PLANS, {"patient": str(patient.id)})

    assert response.status_code == status
    if sees is not None:
        assert len(response.json()["results"]) == sees


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("coordinator", 403),
        ("patient", 404),
        ("other_clinician", 404),
        ("other_patient", 404),
        ("admin", 404),
        ("scheduler", 403),
    ],
)
def test_only_the_care_teams_clinician_publishes(
    actors, client_for, clinician_client, patient, intake_done, actor, expected
):
    plan = draft(clinician_client, patient.id).json()
    _complete_reviews(clinician_client)

    response = client_for(actors[actor]).post(plan_url(plan["id"], "publish"))

    assert response.status_code == expected
    assert CarePlan.objects.get(pk=plan["id"]).status == "draft"


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("clinician", 200),
        ("coordinator", 200),
        ("patient", 200),
        ("other_clinician", 404),
        ("other_patient", 404),
        ("admin", 404),
        ("scheduler", 403),
    ],
)
def test_who_compares_published_versions(
    actors, client_for, clinician_client, patient, intake_done, actor, expected
):
    first = draft(clinician_client, patient.id).json()
    _complete_reviews(clinician_client)
    clinician_client.post(plan_url(first["id"], "publish"))
    second = draft(clinician_client, patient.id).json()
    clinician_client.patch(plan_url(second["id"]), {"summary": "Second version."}, format="json")
    clinician_client.post(plan_url(second["id"], "publish"))

    response = client_for(actors[actor]).get(
        plan_url(second["id"], "diff"), {"against": first["id"]}
    )

    assert response.status_code == expected
    if expected == 200:
        assert response.json()["summary_changed"] is True


def test_a_patient_sees_superseded_versions_but_never_drafts(
    client_for, clinician_client, patient, intake_done
):
    first = draft(clinician_client, patient.id).json()
    _complete_reviews(clinician_client)
    clinician_client.post(plan_url(first["id"], "publish"))
    second = draft(clinician_client, patient.id).json()
    clinician_client.post(plan_url(second["id"], "publish"))
    third = draft(clinician_client, patient.id).json()

    listed = {p["id"]: p["status"] for p in client_for(patient.user).get(PLANS).json()["results"]}

    assert listed == {first["id"]: "superseded", second["id"]: "active"}
    assert third["id"] not in listed


def test_a_gut_goal_fired_by_the_gsrs_tracks_the_gsrs_from_its_total(
    clinician_client, client_for, patient
):
    client = client_for(patient.user)
    # Reflux items (2 and 3) at 5, everything else at 2: reflux mean 5, total 2.4.
    ratings = {f"gsrs-{n}": 5 if n in (2, 3) else 2 for n in range(1, 16)}
    assert submit(client, "gsrs", ratings).status_code == 201
    submit(client, "gut-skin-intake", healthy_intake(**{"skin-concerns": ["acne"]}))

    plan = draft(clinician_client, patient.id).json()

    (goal,) = plan["goals"]
    assert (goal["code"], goal["instrument"], goal["baseline"]) == ("gi_goal", "gsrs", 2.4)
    assert goal["target_value"] == 1.9
    (activity,) = [a for a in plan["activities"] if a["code"] == "gi_goal"]
    assert "GSRS" in activity["instructions"]
    assert "from 2.4" in activity["instructions"]
