"""Where each FHIR resource type's rows come from, and how they are filtered, ordered and built.

A `Scope` says whose eyes the rows are read through: `ViewerScope` uses the other apps'
access-filtered selectors for the signed-in user (the same rows their REST API shows that user);
`ExportScope` uses the bulk-export selectors, after the admin-only export gate. Everything else
(search filters, the stable order pages are cut on, the resource builders) is shared, so a search,
`$everything` and a bulk export can never disagree about what a resource looks like.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Greatest

from carecore.accounts.access import Purpose
from carecore.accounts.models import Role, User
from carecore.accounts.selectors import clinician_list, patient_list, patients_for_export
from careplans.selectors import (
    care_plan_goal_list,
    care_plan_goals_for_export,
    care_plan_list,
    care_plans_for_export,
)
from intake.selectors import questionnaire_current_list, response_list, responses_for_export
from messaging.selectors import (
    public_message_list,
    public_messages_for_export,
    public_thread_places,
)
from portal.access import can_see_reason
from portal.selectors import appointment_list, appointments_for_export

from . import resources
from .resources import Resource

Key = tuple[str, ...]


@dataclass(frozen=True)
class Entry:
    """One resource with its place in the stable order and what the audit trail records."""

    key: Key
    resource: Resource
    audit_type: str | None  # None: not patient data (Practitioner, Questionnaire)
    patient_id: Any


# Roles that may read each type, exactly as the REST endpoints for the same data admit them:
# schedulers see demographics and appointments, never answers, scores, plans or messages.
EVERYONE = frozenset(Role)
CLINICAL_READERS = frozenset({Role.PATIENT, Role.CLINICIAN, Role.COORDINATOR, Role.ADMIN})


@dataclass(frozen=True)
class TypeSpec:
    name: str
    readers: frozenset[str]
    key_field: str = "pk"
    patient_field: str | None = "patient_id"
    updated_field: str | None = "updated_at"
    status_field: str | None = None
    statuses: dict[str, str] = field(default_factory=dict)  # FHIR status -> CareCore value
    audit_type: str | None = None
    search_params: frozenset[str] = frozenset()
    in_patient_compartment: bool = True


def _invert(mapping: dict[str, str]) -> dict[str, str]:
    return {fhir: ours for ours, fhir in mapping.items()}


_COMMON = frozenset({"_id", "_lastUpdated"})
_SUBJECT = _COMMON | {"patient", "subject"}

SPECS: dict[str, TypeSpec] = {
    spec.name: spec
    for spec in (
        TypeSpec(
            "Patient",
            EVERYONE,
            patient_field="pk",
            updated_field="fhir_last_updated",
            audit_type="patient",
            search_params=_COMMON,
        ),
        TypeSpec(
            "Practitioner",
            EVERYONE,
            patient_field=None,
            updated_field=None,
            search_params=frozenset({"_id"}),
            in_patient_compartment=False,
        ),
        TypeSpec(
            "Questionnaire",
            EVERYONE,
            key_field="questionnaire__slug",
            patient_field=None,
            updated_field="published_at",
            search_params=frozenset({"_id", "_lastUpdated"}),
            in_patient_compartment=False,
        ),
        TypeSpec(
            "CareTeam",
            EVERYONE,
            key_field="care_team__id",
            patient_field="pk",
            updated_field="care_team__updated_at",
            audit_type="care_team",
            search_params=_SUBJECT | {"status"},
            statuses={"active": "active"},
        ),
        TypeSpec(
            "Appointment",
            EVERYONE,
            status_field="status",
            statuses=_invert(resources.APPOINTMENT_STATUS),
            audit_type="appointment",
            search_params=_COMMON | {"patient", "status", "date"},
        ),
        TypeSpec(
            "QuestionnaireResponse",
            CLINICAL_READERS,
            status_field="status",
            statuses=_invert(resources.RESPONSE_STATUS),
            audit_type="questionnaire_response",
            search_params=_SUBJECT | {"status"},
        ),
        TypeSpec(
            "Observation",
            CLINICAL_READERS,
            updated_field="completed_at",
            audit_type="observation",
            search_params=_SUBJECT | {"status", "category", "code"},
            statuses={"final": "completed"},
        ),
        TypeSpec(
            "CarePlan",
            CLINICAL_READERS,
            updated_field="fhir_last_updated",
            status_field="status",
            statuses=_invert(resources.CARE_PLAN_STATUS),
            audit_type="care_plan",
            search_params=_SUBJECT | {"status"},
        ),
        TypeSpec(
            "Goal",
            CLINICAL_READERS,
            patient_field="plan__patient_id",
            updated_field="fhir_last_updated",
            status_field="plan__status",
            statuses=_invert(resources.GOAL_STATUS),
            audit_type="care_plan_goal",
            search_params=_SUBJECT | {"lifecycle-status", "status"},
        ),
        TypeSpec(
            "Communication",
            CLINICAL_READERS,
            patient_field="thread__patient_id",
            updated_field="created_at",
            audit_type="message",
            search_params=_SUBJECT | {"status"},
            statuses={"completed": "completed"},
        ),
    )
}

# $everything and bulk export walk the types in this order (the Patient first).
COMPARTMENT_TYPES = [name for name, spec in SPECS.items() if spec.in_patient_compartment]


class Scope(abc.ABC):
    """The base querysets of each type, as some reader may see them."""

    @abc.abstractmethod
    def with_reason(self) -> bool: ...

    @abc.abstractmethod
    def patients(self) -> QuerySet[Any]: ...

    @abc.abstractmethod
    def appointments(self) -> QuerySet[Any]: ...

    @abc.abstractmethod
    def responses(self) -> QuerySet[Any]: ...

    @abc.abstractmethod
    def care_plans(self) -> QuerySet[Any]: ...

    @abc.abstractmethod
    def goals(self) -> QuerySet[Any]: ...

    @abc.abstractmethod
    def messages(self) -> QuerySet[Any]: ...

    def queryset(self, type_name: str) -> QuerySet[Any]:
        """The rows of `type_name` this scope may see, before any search filter."""
        if type_name == "Practitioner":
            return clinician_list()
        if type_name == "Questionnaire":
            return questionnaire_current_list()
        if type_name == "Patient":
            # As `resources.patient_updated`: GREATEST skips a missing care team's NULL.
            return self.patients().annotate(
                fhir_last_updated=Greatest(F("updated_at"), F("care_team__updated_at"))
            )
        if type_name == "CareTeam":
            return self.patients().filter(care_team__isnull=False)
        if type_name == "Appointment":
            return self.appointments()
        if type_name == "QuestionnaireResponse":
            return self.responses()
        if type_name == "Observation":
            return self.responses().filter(status="completed").exclude(scores={})
        if type_name == "CarePlan":
            return self.care_plans().annotate(
                fhir_last_updated=Greatest(F("updated_at"), F("superseded_at"))
            )
        if type_name == "Goal":
            return self.goals().annotate(
                fhir_last_updated=Greatest(F("plan__updated_at"), F("plan__superseded_at"))
            )
        if type_name == "Communication":
            return self.messages()
        raise KeyError(type_name)


class ViewerScope(Scope):
    """What `user` may see: the other apps' access-filtered selectors (as their REST lists)."""

    def __init__(self, user: User) -> None:
        self.user = user

    def with_reason(self) -> bool:
        return can_see_reason(self.user)

    def patients(self) -> QuerySet[Any]:
        return patient_list(user=self.user, purpose=Purpose.DEMOGRAPHICS)

    def appointments(self) -> QuerySet[Any]:
        return appointment_list(user=self.user)

    def responses(self) -> QuerySet[Any]:
        return response_list(user=self.user)

    def care_plans(self) -> QuerySet[Any]:
        return care_plan_list(user=self.user)

    def goals(self) -> QuerySet[Any]:
        return care_plan_goal_list(user=self.user)

    def messages(self) -> QuerySet[Any]:
        return public_message_list(user=self.user)


class ExportScope(Scope):
    """Every patient's records, for a bulk export that has passed the admin-only export gate.
    Still never an internal note (PRODUCT.md: internal notes are never exported)."""

    def with_reason(self) -> bool:
        return True

    def patients(self) -> QuerySet[Any]:
        return patients_for_export()

    def appointments(self) -> QuerySet[Any]:
        return appointments_for_export()

    def responses(self) -> QuerySet[Any]:
        return responses_for_export()

    def care_plans(self) -> QuerySet[Any]:
        return care_plans_for_export()

    def goals(self) -> QuerySet[Any]:
        return care_plan_goals_for_export()

    def messages(self) -> QuerySet[Any]:
        return public_messages_for_export()


# --- filters ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """Parsed search parameters (see search.py), applied the same way to every scope."""

    ids: list[str] | None = None
    patient_ids: list[str] | None = None
    updated: Q | None = None  # built on the placeholder field "updated" (see `_on`)
    statuses: list[str] | None = None
    date: Q | None = None  # Appointment start, placeholder field "date"
    instrument: str | None = None  # Observation code
    no_match: bool = False  # a parameter that can match nothing (an unknown category, ...)


def _on(condition: Q, field_name: str) -> Q:
    """`condition` (written on a placeholder field) moved onto `field_name`."""
    moved = Q()
    moved.connector, moved.negated = condition.connector, condition.negated
    for child in condition.children:
        if isinstance(child, Q):
            moved.children.append(_on(child, field_name))
        else:
            lookup, value = cast(tuple[str, Any], child)
            _, _, rest = lookup.partition("__")
            moved.children.append((f"{field_name}__{rest}" if rest else field_name, value))
    return moved


def filtered(spec: TypeSpec, rows: QuerySet[Any], filters: Filters) -> QuerySet[Any]:
    if filters.no_match:
        return rows.none()
    if filters.ids is not None:
        rows = _by_ids(spec, rows, filters.ids)
    if filters.patient_ids is not None:
        if spec.patient_field is None:
            return rows.none()
        rows = rows.filter(**{f"{spec.patient_field}__in": filters.patient_ids})
    if filters.updated is not None and spec.updated_field:
        rows = rows.filter(_on(filters.updated, spec.updated_field))
    if filters.statuses is not None:
        rows = _by_status(spec, rows, filters.statuses)
    if filters.date is not None:
        rows = rows.filter(_on(filters.date, "start_at"))
    if filters.instrument is not None:
        rows = rows.filter(scores__has_key=filters.instrument)
    return rows


def _by_ids(spec: TypeSpec, rows: QuerySet[Any], ids: list[str]) -> QuerySet[Any]:
    if spec.name == "Observation":
        pairs = [resources.split_observation_id(one) for one in ids]
        return rows.filter(pk__in=[pair[0] for pair in pairs if pair])
    if spec.key_field == "questionnaire__slug":
        return rows.filter(questionnaire__slug__in=ids)
    return rows.filter(**{f"{spec.key_field}__in": [one for one in ids if _is_uuid(one)]})


def _by_status(spec: TypeSpec, rows: QuerySet[Any], statuses: list[str]) -> QuerySet[Any]:
    ours = [spec.statuses[status] for status in statuses if status in spec.statuses]
    if not ours:
        return rows.none()
    if spec.status_field is None:
        return rows  # a constant status (CareTeam active, Observation final, ...) that matched
    return rows.filter(**{f"{spec.status_field}__in": ours})


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


# --- building pages -----------------------------------------------------------------------------


BATCH = 200


def entries_after(
    spec: TypeSpec,
    scope: Scope,
    rows: QuerySet[Any],
    *,
    after: Key | None,
    limit: int,
    filters: Filters,
) -> list[Entry]:
    """Up to `limit` entries of one type after `after`, in the type's stable order."""
    if spec.name == "Observation":
        return list(_observations_after(scope, rows, after=after, limit=limit, filters=filters))
    ordered = rows.order_by(spec.key_field)
    if after is not None:
        ordered = ordered.filter(**{f"{spec.key_field}__gt": after[0]})
    batch = list(ordered[:limit])
    return _build(spec, scope, batch)


def _observations_after(
    scope: Scope, rows: QuerySet[Any], *, after: Key | None, limit: int, filters: Filters
) -> Iterator[Entry]:
    """Observations are (response, instrument) pairs: walk responses in id order and expand."""
    wanted_ids = None
    if filters.ids is not None:
        wanted_ids = set(filters.ids)
    ordered = rows.order_by("pk")
    cursor = after
    produced = 0
    while produced < limit:
        batch_rows = ordered
        if cursor is not None:
            batch_rows = batch_rows.filter(pk__gte=cursor[0])
        batch = list(batch_rows[:BATCH])
        for response in batch:
            for instrument in resources.scored_instruments(response):
                key = (str(response.id), instrument)
                if cursor is not None and key <= cursor:
                    continue
                if filters.instrument is not None and instrument != filters.instrument:
                    continue
                observation_id = resources.observation_id(response.id, instrument)
                if wanted_ids is not None and observation_id not in wanted_ids:
                    continue
                yield Entry(
                    key,
                    resources.observation_resource(response, instrument),
                    "observation",
                    response.patient_id,
                )
                produced += 1
                if produced >= limit:
                    return
        if len(batch) < BATCH:
            return
        cursor = (str(batch[-1].id), "\uffff")  # past every instrument of the last response


def _build(spec: TypeSpec, scope: Scope, rows: list[Any]) -> list[Entry]:
    build = _builder(spec.name, scope, rows)
    entries = []
    for row in rows:
        key_value = row.care_team.id if spec.name == "CareTeam" else _key_of(spec, row)
        entries.append(
            Entry((str(key_value),), build(row), spec.audit_type, _patient_of(spec, row))
        )
    return entries


def _key_of(spec: TypeSpec, row: Any) -> object:
    if spec.key_field == "questionnaire__slug":
        return row.questionnaire.slug
    return row.pk


def _patient_of(spec: TypeSpec, row: Any) -> Any:
    if spec.name in ("Patient", "CareTeam"):
        return row.pk
    if spec.name == "Goal":
        return row.plan.patient_id
    if spec.name == "Communication":
        return row.thread.patient_id
    return getattr(row, "patient_id", None)


def _builder(type_name: str, scope: Scope, rows: list[Any]) -> Callable[[Any], Resource]:
    if type_name == "Patient":
        return resources.patient_resource
    if type_name == "Practitioner":
        return resources.practitioner_resource
    if type_name == "Questionnaire":
        return resources.questionnaire_resource
    if type_name == "CareTeam":
        return lambda patient: resources.care_team_resource(patient.care_team)
    if type_name == "Appointment":
        with_reason = scope.with_reason()
        return lambda row: resources.appointment_resource(row, with_reason=with_reason)
    if type_name == "QuestionnaireResponse":
        return resources.questionnaire_response_resource
    if type_name == "CarePlan":
        return resources.care_plan_resource
    if type_name == "Goal":
        return resources.goal_resource
    if type_name == "Communication":
        places = public_thread_places(rows)
        return lambda message: communication_of(message, places[message.id])
    raise KeyError(type_name)


def communication_of(message: Any, place: Any) -> Resource:
    care_team = getattr(message.thread.patient, "care_team", None)
    return resources.communication_resource(
        message, place, care_team_id=care_team.id if care_team else None
    )


def last_updated_of(entry: Entry) -> datetime | None:
    meta = entry.resource.get("meta") or {}
    value = meta.get("lastUpdated")
    return datetime.fromisoformat(value) if value else None
