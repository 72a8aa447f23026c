"""Questionnaire definitions, responses (save, resume, submit), version pinning, the review queue
and the measures timeline, role by role."""

from __future__ import annotations

import copy
import uuid
from datetime import date, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import DatabaseError, transaction
from django.utils import timezone

from carecore.audit.models import AuditEvent
from intake import services
from intake.models import IntakeReview, QuestionnaireResponse, QuestionnaireVersion

from .helpers import REVIEWS, healthy_intake, poem, response_url, submit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("questionnaires")]

# --- definitions -----------------------------------------------------------------------------


def test_sync_publishes_every_definition_once(db):
    before = QuestionnaireVersion.objects.count()

    call_command("sync_questionnaires", verbosity=0)

    assert before >= 9
    assert QuestionnaireVersion.objects.count() == before


@pytest.mark.parametrize("actor", ["patient", "clinician", "coordinator", "scheduler", "admin"])
def test_any_user_reads_the_current_definitions(actors, client_for, actor):
    client = client_for(actors[actor])

    listing = client.get("/api/v1/questionnaires/", {"page_size": 50}).json()["results"]
    detail = client.get("/api/v1/questionnaires/poem/").json()

    assert {"poem", "dlqi", "gsrs", "ibs-sss", "gut-skin-intake"} <= {q["slug"] for q in listing}
    assert detail["version"] == "1.0.0"
    assert [item["linkId"] for item in detail["definition"]["items"]][:2] == ["poem-1", "poem-2"]


def test_an_unknown_questionnaire_is_a_404(client_for, patient):
    assert client_for(patient.user).get("/api/v1/questionnaires/nope/").status_code == 404


def test_the_database_refuses_to_change_a_published_version(db):
    version = QuestionnaireVersion.objects.get(questionnaire__slug="poem")

    with pytest.raises(DatabaseError, match="never changes"), transaction.atomic():
        QuestionnaireVersion.objects.filter(pk=version.pk).update(definition={"changed": True})


def test_republishing_a_version_with_other_content_is_refused(db):
    definition = copy.deepcopy(
        QuestionnaireVersion.objects.get(questionnaire__slug="poem").definition
    )
    definition["title"] = "Something else"

    with pytest.raises(services.VersionChanged):
        services.questionnaire_publish(definition=definition)


# --- responses ------------------------------------------------------------------------------


def test_a_patient_submits_poem_and_gets_scores(client_for, patient):
    response = submit(client_for(patient.user), "poem", poem(2, 2, 2, 2, 2, 2, 2))

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "completed"
    assert body["scores"]["poem"]["total"] == 14
    assert body["scores"]["poem"]["band"] == "moderate"
    assert body["red_flags"] == []
    assert body["questionnaire_canonical"].endswith("|1.0.0")


def test_a_completed_poem_with_two_blanks_is_accepted_but_not_scored(client_for, patient):
    response = submit(client_for(patient.user), "poem", poem(3, 3, 3, 3, 3))

    assert response.status_code == 201
    assert response.json()["scores"]["poem"] == {"total": None, "band": None, "subscales": {}}


def test_invalid_answers_are_rejected_by_link_id(client_for, patient):
    response = submit(client_for(patient.user), "poem", {"poem-1": 9, "poem-2": "often"})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert {"poem-1", "poem-2"} <= set(error["fields"])
    assert not QuestionnaireResponse.objects.exists()


def test_an_answer_to_a_disabled_item_is_rejected(client_for, patient):
    answers = {f"dlqi-{n}": 1 for n in range(1, 11) if n != 7} | {"dlqi-7": "yes", "dlqi-7a": 1}

    response = submit(client_for(patient.user), "dlqi", answers)

    assert response.status_code == 400
    assert "dlqi-7a" in response.json()["error"]["fields"]


def test_save_and_resume_then_submit(client_for, patient):
    client = client_for(patient.user)
    started = submit(client, "poem", poem(1, 1), status="in_progress").json()
    assert started["status"] == "in_progress"
    assert started["scores"] == {}

    finished = client.patch(
        response_url(started["id"]),
        {"answers": poem(1, 1, 1, 1, 1, 1, 1), "status": "completed"},
        format="json",
    )

    assert finished.status_code == 200
    assert finished.json()["scores"]["poem"]["total"] == 7
    assert IntakeReview.objects.filter(response_id=started["id"]).exists()


def test_in_progress_answers_are_type_checked_but_not_required(client_for, patient):
    client = client_for(patient.user)

    bad = submit(client, "poem", {"poem-1": "x"}, status="in_progress")
    partial = submit(client, "poem", {}, status="in_progress")

    assert bad.status_code == 400
    assert partial.status_code == 201


def test_a_completed_response_can_no_longer_be_patched(client_for, patient):
    client = client_for(patient.user)
    done = submit(client, "poem", poem(0, 0, 0, 0, 0, 0, 0)).json()

    response = client.patch(response_url(done["id"]), {"answers": poem(4)}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "response_completed"


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("patient", 200),
        ("clinician", 200),
        ("coordinator", 200),
        ("other_patient", 404),
        ("other_clinician", 404),
        ("admin", 404),
        ("scheduler", 403),
    ],
)
def test_who_reads_a_response(actors, client_for, patient, actor, expected):
    done = submit(client_for(patient.user), "poem", poem(1, 1, 1, 1, 1, 1, 1)).json()

    assert client_for(actors[actor]).get(response_url(done["id"])).status_code == expected


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("other_patient", 404),
        ("other_clinician", 404),
        ("clinician", 403),
        ("scheduler", 403),
    ],
)
def test_only_the_owner_patches_a_response(actors, client_for, patient, actor, expected):
    started = submit(client_for(patient.user), "poem", {}, status="in_progress").json()

    response = client_for(actors[actor]).patch(
        response_url(started["id"]), {"answers": poem(1)}, format="json"
    )

    assert response.status_code == expected


@pytest.mark.parametrize("actor", ["clinician", "coordinator", "scheduler", "admin"])
def test_only_patients_submit_responses(actors, client_for, actor):
    assert submit(client_for(actors[actor]), "poem", poem(1)).status_code == 403


def test_a_missing_response_is_a_404(client_for, patient):
    assert client_for(patient.user).get(response_url(uuid.uuid4())).status_code == 404


def test_response_reads_and_writes_are_audited(client_for, patient, clinician):
    done = submit(client_for(patient.user), "poem", poem(1, 1, 1, 1, 1, 1, 1)).json()
    client_for(clinician.user).get(response_url(done["id"]))

    actions = set(
        AuditEvent.objects.filter(object_id=done["id"]).values_list("action", "actor_role")
    )
    assert {("create", "patient"), ("read", "clinician")} <= actions


def test_an_old_response_keeps_its_version_after_a_new_one_is_published(client_for, patient):
    client = client_for(patient.user)
    old = submit(client, "poem", poem(2, 2, 2, 2, 2, 2, 2)).json()
    newer = copy.deepcopy(QuestionnaireVersion.objects.get(questionnaire__slug="poem").definition)
    newer["version"] = "1.1.0"
    newer["title"] = "POEM (reworded)"
    services.questionnaire_publish(definition=newer)

    new = submit(client, "poem", poem(1, 1, 1, 1, 1, 1, 1)).json()
    reread = client.get(response_url(old["id"])).json()

    assert reread["questionnaire_version"] == "1.0.0"
    assert reread["scores"]["poem"]["total"] == 14
    assert new["questionnaire_version"] == "1.1.0"
    assert client.get("/api/v1/questionnaires/poem/").json()["version"] == "1.1.0"


# --- review queue -----------------------------------------------------------------------------


def test_a_red_flag_intake_is_urgent_and_tops_the_queue(client_for, patient, clinician):
    client = client_for(patient.user)
    submit(client, "poem", poem(1, 1, 1, 1, 1, 1, 1))
    flagged = submit(client, "gut-skin-intake", healthy_intake(**{"rf-rectal-bleeding": True}))
    assert flagged.status_code == 201, flagged.json()
    assert [flag["code"] for flag in flagged.json()["red_flags"]] == ["gi_rectal_bleeding"]

    queue = client_for(clinician.user).get(REVIEWS).json()["results"]

    assert [item["urgent"] for item in queue] == [True, False]
    assert queue[0]["response_id"] == flagged.json()["id"]
    assert queue[0]["patient_id"] == str(patient.id)
    assert queue[0]["status"] == "pending"
    assert queue[0]["red_flags"][0]["code"] == "gi_rectal_bleeding"


def test_symptom_onset_after_fifty_is_a_red_flag(client_for, clinician):
    from ..factories import PatientFactory

    older = PatientFactory(date_of_birth=date(1960, 1, 1))
    response = submit(
        client_for(older.user), "gut-skin-intake", healthy_intake(**{"symptom-onset-age": 62})
    )

    assert "gi_onset_after_50" in [flag["code"] for flag in response.json()["red_flags"]]


def test_the_queue_shows_changes_since_the_last_response(client_for, patient, clinician):
    client = client_for(patient.user)
    with time_machine.travel(timezone.now() - timedelta(days=14)):
        submit(client, "poem", poem(3, 3, 3, 3, 3, 3, 3))
    submit(client, "poem", poem(2, 2, 2, 2, 2, 2, 2))

    queue = client_for(clinician.user).get(REVIEWS).json()["results"]

    changes = {item["response_id"]: item["changes_since_last"]["poem"] for item in queue}
    assert sorted(changes.values(), key=str) == [-7, None]


@pytest.mark.parametrize(
    ("actor", "sees"),
    [
        ("clinician", 1),
        ("coordinator", 1),
        ("other_clinician", 0),
        ("admin", 0),
    ],
)
def test_the_queue_holds_only_the_callers_patients(actors, client_for, patient, actor, sees):
    submit(client_for(patient.user), "poem", poem(1, 1, 1, 1, 1, 1, 1))

    assert len(client_for(actors[actor]).get(REVIEWS).json()["results"]) == sees


@pytest.mark.parametrize("actor", ["patient", "scheduler"])
def test_patients_and_schedulers_cannot_read_the_queue(actors, client_for, actor):
    assert client_for(actors[actor]).get(REVIEWS).status_code == 403


def test_a_clinician_completes_a_review(client_for, patient, clinician):
    submit(client_for(patient.user), "poem", poem(1, 1, 1, 1, 1, 1, 1))
    review = IntakeReview.objects.get()

    response = client_for(clinician.user).post(
        f"{REVIEWS}{review.id}/complete/", {"note": "Reviewed; mild."}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "completed"
    assert client_for(clinician.user).get(REVIEWS).json()["results"] == []


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("coordinator", 403),
        ("other_clinician", 404),
        ("patient", 403),
        ("scheduler", 403),
    ],
)
def test_who_cannot_complete_a_review(actors, client_for, patient, actor, expected):
    submit(client_for(patient.user), "poem", poem(1, 1, 1, 1, 1, 1, 1))
    review = IntakeReview.objects.get()

    response = client_for(actors[actor]).post(
        f"{REVIEWS}{review.id}/complete/", {"note": ""}, format="json"
    )

    assert response.status_code == expected


def test_the_queue_query_count_does_not_grow(
    client_for, patient, clinician, django_assert_num_queries
):
    client = client_for(patient.user)
    submit(client, "poem", poem(1, 1, 1, 1, 1, 1, 1))
    staff = client_for(clinician.user)
    # the token with its user, reviews page (with response, version, questionnaire and
    # the previous response's scores as a subquery), one audit INSERT for the page
    with django_assert_num_queries(3):
        staff.get(REVIEWS)
    for _ in range(5):
        submit(client, "poem", poem(2, 2, 2, 2, 2, 2, 2))
    with django_assert_num_queries(3):
        response = staff.get(REVIEWS)
    assert len(response.json()["results"]) == 6


# --- measures timeline -------------------------------------------------------------------------


def measures(client, patient_id, instrument="poem"):
    return client.get(f"/api/v1/patients/{patient_id}/measures/", {"instrument": instrument})


def test_the_measures_timeline_shows_change_since_first_and_previous(
    client_for, patient, clinician
):
    client = client_for(patient.user)
    for days_ago, value in [(28, 3), (14, 2), (0, 1)]:
        with time_machine.travel(timezone.now() - timedelta(days=days_ago)):
            submit(client, "poem", poem(*[value] * 7))

    points = measures(client_for(clinician.user), patient.id).json()["results"]

    assert [p["total"] for p in points] == [21, 14, 7]
    assert [p["change_since_first"] for p in points] == [None, -7, -14]
    assert [p["change_since_previous"] for p in points] == [None, -7, -7]


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("patient", 200),
        ("clinician", 200),
        ("coordinator", 200),
        ("other_patient", 404),
        ("other_clinician", 404),
        ("admin", 404),
        ("scheduler", 403),
    ],
)
def test_who_reads_the_measures(actors, client_for, patient, actor, expected):
    assert measures(client_for(actors[actor]), patient.id).status_code == expected
