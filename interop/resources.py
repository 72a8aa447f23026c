"""CareCore rows as FHIR R4 resources (JSON-shaped dicts, checked by `validation.py`).

Each builder takes rows that an access helper or selector has already returned to the caller, so
nothing here decides who sees what. Ids follow PRODUCT.md's "Interoperability" rules: the REST
ids, the questionnaire slug, and `<response id>-<instrument>` for an instrument score.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from carecore.accounts.models import Role

from . import codes

Resource = dict[str, Any]

UUID_LENGTH = 36


def instant(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def reference(resource_type: str, resource_id: object, display: str | None = None) -> Resource:
    ref: Resource = {"reference": f"{resource_type}/{resource_id}"}
    if display:
        ref["display"] = display
    return ref


def _meta(last_updated: datetime | None) -> Resource:
    return {"lastUpdated": instant(last_updated)} if last_updated else {}


def _resource(resource_type: str, resource_id: object, last_updated: datetime | None) -> Resource:
    resource: Resource = {"resourceType": resource_type, "id": str(resource_id)}
    meta = _meta(last_updated)
    if meta:
        resource["meta"] = meta
    return resource


def _concept(system: str, code: str, display: str | None = None) -> Resource:
    coding: Resource = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


# --- people --------------------------------------------------------------------------------------


def _human_name(user: Any) -> Resource:
    name: Resource = {"use": "official", "text": user.full_name}
    if user.last_name:
        name["family"] = user.last_name
    if user.first_name:
        name["given"] = [user.first_name]
    return name


def practitioner_reference(user: Any) -> Resource:
    """A staff member: a Practitioner reference for clinicians (their clinician id), otherwise a
    display-only reference (coordinators and admins have no public profile to point at)."""
    clinician = getattr(user, "clinician", None) if user.role == Role.CLINICIAN else None
    if clinician is not None:
        return reference("Practitioner", clinician.id, user.full_name)
    return {"display": user.full_name}


def patient_updated(patient: Any) -> datetime:
    """The Patient changes with its demographics and with its care team (generalPractitioner)."""
    care_team = getattr(patient, "care_team", None)
    moments = [patient.updated_at, care_team.updated_at if care_team is not None else None]
    return max(moment for moment in moments if moment is not None)


def patient_resource(patient: Any) -> Resource:
    user = patient.user
    resource = _resource("Patient", patient.id, patient_updated(patient))
    resource["active"] = user.is_active
    resource["name"] = [_human_name(user)]
    telecom = [{"system": "email", "value": user.email, "use": "home"}]
    if user.phone:
        telecom.append({"system": "phone", "value": str(user.phone), "use": "mobile"})
    resource["telecom"] = telecom
    resource["birthDate"] = patient.date_of_birth.isoformat()
    resource["address"] = [{"use": "home", "state": patient.state, "country": "US"}]
    care_team = getattr(patient, "care_team", None)
    if care_team is not None and care_team.lead is not None:
        resource["generalPractitioner"] = [
            reference("Practitioner", care_team.lead.id, care_team.lead.user.full_name)
        ]
    return resource


def practitioner_resource(clinician: Any) -> Resource:
    user = clinician.user
    resource = _resource("Practitioner", clinician.id, None)
    resource["active"] = user.is_active
    resource["name"] = [{**_human_name(user), "suffix": [clinician.credentials]}]
    resource["qualification"] = [
        {
            "code": {
                **_concept(codes.V2_DEGREE, clinician.credentials),
                "text": clinician.get_credentials_display(),
            }
        }
    ]
    return resource


def care_team_resource(care_team: Any) -> Resource:
    """Expects memberships (with users and clinicians) prefetched, as accounts' selectors do."""
    resource = _resource("CareTeam", care_team.id, care_team.updated_at)
    resource["status"] = "active"
    resource["subject"] = reference("Patient", care_team.patient_id)
    lead_user_id = care_team.lead.user_id if care_team.lead else None
    participants = []
    for membership in care_team.memberships.all():
        user = membership.user
        role = "lead" if user.id == lead_user_id else user.role
        participants.append(
            {
                "role": [_concept(codes.CARE_TEAM_ROLE, role)],
                "member": practitioner_reference(user),
                "period": {"start": instant(membership.added_at)},
            }
        )
    if participants:
        resource["participant"] = participants
    return resource


# --- appointments --------------------------------------------------------------------------------

APPOINTMENT_STATUS = {
    "booked": "booked",
    "cancelled": "cancelled",
    "completed": "fulfilled",
    "no_show": "noshow",
}


def appointment_resource(appointment: Any, *, with_reason: bool) -> Resource:
    """`with_reason` is portal's `can_see_reason` for the viewer: the patient's own words never
    reach a scheduler."""
    resource = _resource("Appointment", appointment.id, appointment.updated_at)
    resource["status"] = APPOINTMENT_STATUS[appointment.status]
    resource["appointmentType"] = {
        **_concept(codes.VISIT_TYPE, appointment.visit_type),
        "text": appointment.visit_type,
    }
    if with_reason and appointment.reason:
        resource["reasonCode"] = [{"text": appointment.reason}]
    resource["start"] = instant(appointment.start_at)
    resource["end"] = instant(appointment.end_at)
    resource["minutesDuration"] = int(
        (appointment.end_at - appointment.start_at).total_seconds() // 60
    )
    resource["created"] = instant(appointment.created_at)
    participant_status = "declined" if appointment.status == "cancelled" else "accepted"
    resource["participant"] = [
        {
            "actor": reference(
                "Patient", appointment.patient_id, appointment.patient.user.full_name
            ),
            "required": "required",
            "status": participant_status,
        },
        {
            "type": [_concept(codes.PARTICIPATION_TYPE, "PPRF", "primary performer")],
            "actor": reference(
                "Practitioner", appointment.clinician_id, appointment.clinician.user.full_name
            ),
            "required": "required",
            "status": participant_status,
        },
    ]
    return resource


# --- questionnaires and responses ----------------------------------------------------------------

_ITEM_TYPES = {
    "choice": "choice",
    "multi-choice": "choice",
    "boolean": "boolean",
    "integer": "integer",
    "decimal": "decimal",
    "string": "string",
    "date": "date",
}
_ANSWER_KEYS = {
    "choice": "answerCoding",
    "multi-choice": "answerCoding",
    "boolean": "answerBoolean",
    "integer": "answerInteger",
    "decimal": "answerDecimal",
    "string": "answerString",
    "date": "answerDate",
}
_VALUE_KEYS = {key: "value" + name.removeprefix("answer") for key, name in _ANSWER_KEYS.items()}


def _option_coding(option: dict[str, Any]) -> Resource:
    return {"code": str(option["code"]), "display": option["display"]}


def _typed_answer(item: dict[str, Any], value: Any, prefix: str) -> Resource:
    """One answer (or enableWhen value) in the FHIR shape of the item's type."""
    key = (_ANSWER_KEYS if prefix == "answer" else _VALUE_KEYS)[item["type"]]
    if item["type"] in ("choice", "multi-choice"):
        options = {str(option["code"]): option for option in item.get("options", [])}
        option = options.get(str(value), {"code": value, "display": str(value)})
        return {key: _option_coding(option)}
    return {key: value}


def _questionnaire_item(item: dict[str, Any], by_link_id: dict[str, Any]) -> Resource:
    fhir_item: Resource = {
        "linkId": item["linkId"],
        "text": item["text"],
        "type": _ITEM_TYPES[item["type"]],
        "required": bool(item.get("required")),
    }
    if item["type"] == "multi-choice":
        fhir_item["repeats"] = True
    if item.get("options"):
        fhir_item["answerOption"] = [
            {"valueCoding": _option_coding(option)} for option in item["options"]
        ]
    if item.get("maxLength"):
        fhir_item["maxLength"] = item["maxLength"]
    if item.get("enableWhen"):
        fhir_item["enableWhen"] = [
            {
                "question": condition["question"],
                "operator": condition["operator"],
                **_typed_answer(by_link_id[condition["question"]], condition["answer"], "answer"),
            }
            for condition in item["enableWhen"]
        ]
        if item.get("enableBehavior"):
            fhir_item["enableBehavior"] = item["enableBehavior"]
    return fhir_item


def questionnaire_resource(version: Any) -> Resource:
    definition = version.definition
    by_link_id = {item["linkId"]: item for item in definition["items"]}
    resource = _resource("Questionnaire", version.questionnaire.slug, version.published_at)
    resource.update(
        {
            "url": version.url,
            "version": version.version,
            "name": version.questionnaire.slug.replace("-", "_"),
            "title": version.questionnaire.title,
            "status": "active" if version.is_current else "retired",
            "date": instant(version.published_at),
            "subjectType": ["Patient"],
            "item": [_questionnaire_item(item, by_link_id) for item in definition["items"]],
        }
    )
    if definition.get("copyright") or definition.get("licence"):
        resource["copyright"] = " ".join(
            part for part in (definition.get("copyright"), definition.get("licence")) if part
        )
    return resource


RESPONSE_STATUS = {"in_progress": "in-progress", "completed": "completed"}


def _response_item(item: dict[str, Any], value: Any) -> Resource:
    values = value if item["type"] == "multi-choice" and isinstance(value, list) else [value]
    return {
        "linkId": item["linkId"],
        "text": item["text"],
        "answer": [_typed_answer(item, one, "value") for one in values],
    }


def questionnaire_response_resource(response: Any) -> Resource:
    """Answers in the definition's item order; unanswered items are left out."""
    version = response.version
    resource = _resource("QuestionnaireResponse", response.id, response.updated_at)
    resource["questionnaire"] = version.canonical
    resource["status"] = RESPONSE_STATUS[response.status]
    resource["subject"] = reference("Patient", response.patient_id)
    resource["author"] = reference("Patient", response.patient_id)
    resource["source"] = reference("Patient", response.patient_id)
    resource["authored"] = instant(response.completed_at or response.updated_at)
    answers = response.answers or {}
    items = [
        _response_item(item, answers[item["linkId"]])
        for item in version.definition["items"]
        if answers.get(item["linkId"]) not in (None, "", [])
    ]
    if items:
        resource["item"] = items
    return resource


# --- instrument scores ---------------------------------------------------------------------------


def observation_id(response_id: UUID, instrument: str) -> str:
    return f"{response_id}-{instrument}"


def split_observation_id(observation_id_: str) -> tuple[str, str] | None:
    """(`response id`, `instrument`) of an Observation id, or None if it cannot be one."""
    response_id, dash, instrument = (
        observation_id_[:UUID_LENGTH],
        observation_id_[UUID_LENGTH : UUID_LENGTH + 1],
        observation_id_[UUID_LENGTH + 1 :],
    )
    if dash != "-" or not instrument:
        return None
    try:
        UUID(response_id)
    except ValueError:
        return None
    return response_id, instrument


def scored_instruments(response: Any) -> list[str]:
    """The instruments of a completed response that produced a total, in a stable order."""
    if response.status != "completed":
        return []
    scores = response.scores or {}
    return sorted(slug for slug, score in scores.items() if score.get("total") is not None)


def _score_quantity(value: float | int) -> Resource:
    return {"value": value, "unit": "{score}", "system": codes.UCUM, "code": "{score}"}


def observation_resource(response: Any, instrument: str) -> Resource:
    score = response.scores[instrument]
    resource = _resource(
        "Observation", observation_id(response.id, instrument), response.completed_at
    )
    resource["status"] = "final"
    resource["category"] = [_concept(codes.OBSERVATION_CATEGORY, "survey", "Survey")]
    resource["code"] = {
        "coding": codes.score_codings(instrument),
        "text": codes.score_display(instrument),
    }
    resource["subject"] = reference("Patient", response.patient_id)
    resource["effectiveDateTime"] = instant(response.completed_at)
    resource["issued"] = instant(response.completed_at)
    resource["valueQuantity"] = _score_quantity(score["total"])
    if score.get("band"):
        resource["interpretation"] = [_concept(codes.SCORE_BAND, f"{instrument}:{score['band']}")]
        resource["interpretation"][0]["text"] = score["band"].replace("_", " ")
    components = [
        {
            "code": _concept(codes.SUBSCALE, f"{instrument}:{name}", name.replace("_", " ")),
            "valueQuantity": _score_quantity(value),
        }
        for name, value in sorted((score.get("subscales") or {}).items())
        if value is not None
    ]
    if components:
        resource["component"] = components
    resource["derivedFrom"] = [reference("QuestionnaireResponse", response.id)]
    return resource


# --- care plans and goals ------------------------------------------------------------------------

CARE_PLAN_STATUS = {"draft": "draft", "active": "active", "superseded": "revoked"}
ACTIVITY_STATUS = {"draft": "not-started", "active": "in-progress", "superseded": "stopped"}
GOAL_STATUS = {"draft": "proposed", "active": "active", "superseded": "cancelled"}


def care_plan_updated(plan: Any) -> datetime:
    moments = [plan.updated_at, plan.published_at, plan.superseded_at]
    return max(moment for moment in moments if moment is not None)


def care_plan_resource(plan: Any) -> Resource:
    """Expects goals and activities prefetched (intake's care-plan selectors do)."""
    resource = _resource("CarePlan", plan.id, care_plan_updated(plan))
    resource["status"] = CARE_PLAN_STATUS[plan.status]
    resource["intent"] = "plan"
    resource["title"] = f"Care plan {plan.number}"
    if plan.summary:
        resource["description"] = plan.summary
    resource["subject"] = reference("Patient", plan.patient_id)
    if plan.supersedes_id:
        resource["replaces"] = [reference("CarePlan", plan.supersedes_id)]
    if plan.published_at:
        period: Resource = {"start": instant(plan.published_at)}
        if plan.superseded_at:
            period["end"] = instant(plan.superseded_at)
        resource["period"] = period
    resource["created"] = instant(plan.created_at)
    goals = list(plan.goals.all())
    if goals:
        resource["goal"] = [reference("Goal", goal.id, goal.title) for goal in goals]
    activities = [
        {
            "detail": {
                "code": {
                    **_concept(codes.CARE_PLAN_RULE, activity.code, activity.title),
                    "text": activity.title,
                },
                "status": ACTIVITY_STATUS[plan.status],
                "description": activity.instructions,
            }
        }
        for activity in plan.activities.all()
    ]
    if activities:
        resource["activity"] = activities
    return resource


def goal_resource(goal: Any) -> Resource:
    """Expects `goal.plan` loaded: the goal's status follows its plan's."""
    plan = goal.plan
    resource = _resource("Goal", goal.id, care_plan_updated(plan))
    resource["lifecycleStatus"] = GOAL_STATUS[plan.status]
    resource["description"] = {
        **_concept(codes.CARE_PLAN_RULE, goal.code, goal.title),
        "text": goal.title,
    }
    resource["subject"] = reference("Patient", plan.patient_id)
    if plan.published_at:
        resource["startDate"] = plan.published_at.date().isoformat()
    target: Resource = {
        "measure": {
            "coding": codes.score_codings(goal.instrument),
            "text": codes.score_display(goal.instrument),
        }
    }
    if goal.target_value is not None:
        target["detailQuantity"] = {**_score_quantity(goal.target_value), "comparator": "<="}
    else:
        target["detailString"] = f"a decrease of at least {goal.target_change:g}"
    if goal.due_date:
        target["dueDate"] = goal.due_date.isoformat()
    resource["target"] = [target]
    return resource


# --- messages ------------------------------------------------------------------------------------


def communication_resource(message: Any, place: Any, *, care_team_id: UUID | None) -> Resource:
    """One patient-visible message. `place` (messaging's ThreadPlace) gives the thread's first
    message (`partOf`) and the previous one (`inResponseTo`, when it came from the other side:
    the patient, or the care team and its automatic replies)."""
    thread = message.thread
    resource = _resource("Communication", message.id, message.created_at)
    resource["status"] = "completed"
    resource["category"] = [_concept(codes.MESSAGE_CATEGORY, thread.category)]
    resource["priority"] = thread.priority
    resource["subject"] = reference("Patient", thread.patient_id)
    resource["topic"] = {"text": thread.subject}
    resource["sent"] = instant(message.created_at)
    from_patient = message.sender_kind == "patient"
    if from_patient:
        resource["sender"] = reference("Patient", thread.patient_id)
        if care_team_id is not None:
            resource["recipient"] = [reference("CareTeam", care_team_id)]
    else:
        if message.sender is not None:
            resource["sender"] = practitioner_reference(message.sender)
        resource["recipient"] = [reference("Patient", thread.patient_id)]
    if place.first_message_id != message.id:
        resource["partOf"] = [reference("Communication", place.first_message_id)]
    previous_from_patient = place.previous_sender_kind == "patient"
    if place.previous_message_id and previous_from_patient != from_patient:
        resource["inResponseTo"] = [reference("Communication", place.previous_message_id)]
    payload: list[Resource] = [{"contentString": message.body}]
    payload.extend(
        {
            "contentAttachment": {
                "contentType": attachment.content_type,
                "url": f"/api/v1/attachments/{attachment.id}/",
                "size": attachment.size,
                "creation": instant(attachment.created_at),
            }
        }
        for attachment in message.attachments.all()
    )
    resource["payload"] = payload
    return resource


def ids(resources: Iterable[Resource]) -> list[str]:
    return [resource["id"] for resource in resources]
