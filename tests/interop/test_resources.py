"""Every resource type validates as R4 (fhir.resources R4B models) and carries what the issue
asks of it: canonical questionnaires, scores as LOINC-coded Observations, revoked and replacing
plans, one Communication per patient-visible message, appointments with participants."""

from __future__ import annotations

import pytest

from .conftest import FHIR, Record, assert_valid_r4

pytestmark = pytest.mark.django_db


def read(client, path: str) -> dict:
    response = client.get(f"{FHIR}/{path}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/fhir+json")
    return response.json()


def every_resource(record: Record, clinician) -> list[str]:
    return [
        f"Patient/{record.patient.id}",
        f"Practitioner/{clinician.id}",
        f"CareTeam/{record.care_team}",
        f"Appointment/{record.appointment}",
        "Questionnaire/poem",
        "Questionnaire/gut-skin-intake",
        f"QuestionnaireResponse/{record.poem_response}",
        f"QuestionnaireResponse/{record.intake_response}",
        f"Observation/{record.observation(record.poem_response, 'poem')}",
        f"CarePlan/{record.old_plan}",
        f"CarePlan/{record.active_plan}",
        f"CarePlan/{record.draft_plan}",
        f"Goal/{record.active_goal}",
        f"Communication/{record.opening}",
        f"Communication/{record.reply}",
    ]


def test_every_resource_type_validates_as_r4(client_for, clinician, record):
    client = client_for(clinician.user)

    for path in every_resource(record, clinician):
        resource = read(client, path)
        assert_valid_r4(resource)
        assert f"{resource['resourceType']}/{resource['id']}" == path


def test_the_capability_statement_is_public_and_says_r4(anon):
    statement = read(anon, "metadata")

    assert_valid_r4(statement)
    assert statement["fhirVersion"] == "4.0.1"
    types = {resource["type"] for resource in statement["rest"][0]["resource"]}
    assert {"Patient", "Observation", "Communication", "Goal", "CareTeam"} <= types


def test_a_response_names_its_questionnaire_by_canonical_and_carries_the_answers(
    client_for, patient, record
):
    response = read(client_for(patient.user), f"QuestionnaireResponse/{record.poem_response}")
    questionnaire = read(client_for(patient.user), "Questionnaire/poem")

    assert response["questionnaire"] == f"{questionnaire['url']}|{questionnaire['version']}"
    assert response["status"] == "completed"
    first = response["item"][0]
    assert first["linkId"] == "poem-1"
    assert first["answer"] == [{"valueCoding": {"code": "2", "display": "3-4 days"}}]


def test_each_instrument_score_is_an_observation_derived_from_its_response(
    client_for, patient, record
):
    client = client_for(patient.user)
    poem = read(client, f"Observation/{record.observation(record.poem_response, 'poem')}")
    pss = read(client, f"Observation/{record.observation(record.pss_response, 'pss-10')}")

    assert poem["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "89870-0",
        "display": "POEM total score",
    }
    assert poem["valueQuantity"]["value"] == 14
    assert poem["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{record.poem_response}"}]
    assert poem["category"][0]["coding"][0]["code"] == "survey"
    assert pss["code"]["coding"][0]["code"] == "106860-0"


def test_an_instrument_without_a_loinc_code_uses_the_carecore_code_system(
    client_for, patient, record
):
    client = client_for(patient.user)
    isi = read(client, f"Observation/{record.observation(record.isi_response, 'isi')}")

    assert isi["code"]["coding"] == [
        {
            "system": "https://carecore.example/fhir/CodeSystem/instrument-score",
            "code": "isi",
            "display": "ISI total score",
        }
    ]
    assert isi["valueQuantity"]["value"] == 14
    assert isi["interpretation"][0]["coding"][0]["code"] == "isi:subthreshold"


def test_a_superseded_plan_is_revoked_and_the_newer_one_replaces_it(client_for, patient, record):
    client = client_for(patient.user)
    old = read(client, f"CarePlan/{record.old_plan}")
    active = read(client, f"CarePlan/{record.active_plan}")

    assert old["status"] == "revoked"
    assert active["status"] == "active"
    assert active["replaces"] == [{"reference": f"CarePlan/{record.old_plan}"}]
    assert "replaces" not in old


def test_plan_activities_name_their_rule_titles_and_status(client_for, patient, record):
    plan = read(client_for(patient.user), f"CarePlan/{record.active_plan}")

    details = [activity["detail"] for activity in plan["activity"]]
    assert details
    for detail in details:
        assert detail["code"]["text"]
        assert detail["code"]["coding"][0]["system"].endswith("/care-plan-rule")
        assert detail["status"] == "in-progress"
    assert {"reference": f"Goal/{record.active_goal}"} in [
        {"reference": goal["reference"]} for goal in plan["goal"]
    ]


def test_the_care_team_sees_a_draft_plan_as_draft(client_for, clinician, record):
    plan = read(client_for(clinician.user), f"CarePlan/{record.draft_plan}")
    goal = read(client_for(clinician.user), f"Goal/{record.draft_goal}")

    assert plan["status"] == "draft"
    assert goal["lifecycleStatus"] == "proposed"


def test_a_goal_targets_its_instrument(client_for, patient, record):
    goal = read(client_for(patient.user), f"Goal/{record.active_goal}")

    assert goal["lifecycleStatus"] == "active"
    target = goal["target"][0]
    assert target["measure"]["coding"][0]["code"] == "89870-0"
    assert target["detailQuantity"]["comparator"] == "<="
    assert target["dueDate"]


def test_messages_are_communications_threaded_by_part_of_and_in_response_to(
    client_for, patient, record
):
    client = client_for(patient.user)
    opening = read(client, f"Communication/{record.opening}")
    reply = read(client, f"Communication/{record.reply}")
    follow_up = read(client, f"Communication/{record.follow_up}")

    assert "partOf" not in opening and "inResponseTo" not in opening
    assert opening["sender"] == {"reference": f"Patient/{patient.id}"}
    assert opening["recipient"] == [{"reference": f"CareTeam/{record.care_team}"}]
    assert reply["partOf"] == [{"reference": f"Communication/{record.opening}"}]
    assert reply["inResponseTo"] == [{"reference": f"Communication/{record.opening}"}]
    assert reply["sender"]["reference"].startswith("Practitioner/")
    # The internal note between them is skipped: the follow-up answers the clinician's reply.
    assert follow_up["inResponseTo"] == [{"reference": f"Communication/{record.reply}"}]
    assert follow_up["payload"] == [{"contentString": "Thank you"}]


def test_an_appointment_carries_start_end_status_and_participants(
    client_for, patient, clinician, record
):
    appointment = read(client_for(patient.user), f"Appointment/{record.appointment}")

    assert appointment["status"] == "booked"
    assert appointment["start"] < appointment["end"]
    actors = [participant["actor"]["reference"] for participant in appointment["participant"]]
    assert actors == [f"Patient/{patient.id}", f"Practitioner/{clinician.id}"]
    assert appointment["reasonCode"][0]["text"]


def test_a_scheduler_sees_the_appointment_without_the_patients_reason(
    client_for, scheduler, record
):
    appointment = read(client_for(scheduler), f"Appointment/{record.appointment}")

    assert "reasonCode" not in appointment


def test_an_attachment_is_a_link_to_the_authenticated_download(client_for, patient, record):
    from messaging import services as messaging

    from ..messaging.test_attachments import PDF

    attachment = messaging.attachment_upload(actor=patient.user, data=PDF)
    sent = messaging.message_send(
        actor=patient.user,
        thread_id=record.thread,
        body="My letter",
        attachment_ids=[attachment.id],
    ).message

    communication = read(client_for(patient.user), f"Communication/{sent.id}")

    assert_valid_r4(communication)
    text, file = communication["payload"]
    assert text == {"contentString": "My letter"}
    assert file["contentAttachment"]["url"] == f"/api/v1/attachments/{attachment.id}/"
    assert file["contentAttachment"]["contentType"] == "application/pdf"
    assert client_for(patient.user).get(file["contentAttachment"]["url"]).status_code == 200
