"""HTTP for care plans: drafting, editing, publishing and comparing plans, the measures
timeline with the active plan's goal, and the pre-visit summary."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from carecore.accounts.models import CLINICAL_READER_ROLES, CLINICAL_STAFF_ROLES, Role
from carecore.accounts.requests import AuthenticatedRequest
from carecore.audit.lists import audited_list_response
from carecore.common.fields import (
    SEVERITY_VALUES,
    AllErrorsSerializer,
    ChoiceField,
    RedFlagOutput,
    StrictInput,
)
from carecore.common.pagination import CursorPagination
from carecore.common.permissions import has_role
from intake.instruments import INSTRUMENTS
from portal.models import AppointmentStatus

from . import selectors, services
from .models import CarePlan, CarePlanStatus
from .selectors import care_plan_with_items

# --- care plans ----------------------------------------------------------------------------


class GoalOutput(serializers.Serializer):
    id = serializers.UUIDField()
    code = serializers.CharField()
    title = serializers.CharField()
    instrument = serializers.CharField()
    baseline = serializers.FloatField(allow_null=True)
    target_change = serializers.FloatField()
    target_value = serializers.FloatField(allow_null=True)
    due_date = serializers.DateField(allow_null=True)
    repeat_every_weeks = serializers.IntegerField(allow_null=True)


class ActivityOutput(serializers.Serializer):
    id = serializers.UUIDField()
    code = serializers.CharField()
    rule_version = serializers.IntegerField(allow_null=True)
    category = serializers.CharField()
    title = serializers.CharField()
    instructions = serializers.CharField()
    rationale = serializers.CharField()
    evidence = serializers.ListField(child=serializers.CharField())


class CarePlanOutput(serializers.Serializer):
    id = serializers.UUIDField()
    patient_id = serializers.UUIDField()
    number = serializers.IntegerField()
    status = serializers.CharField()
    summary = serializers.CharField()
    goals = GoalOutput(many=True, source="goals.all")
    activities = ActivityOutput(many=True, source="activities.all")
    supersedes = serializers.UUIDField(source="supersedes_id", allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    published_at = serializers.DateTimeField(allow_null=True)
    superseded_at = serializers.DateTimeField(allow_null=True)


def _plan_body(plan: CarePlan) -> Any:
    return CarePlanOutput(care_plan_with_items(plan=plan)).data


def _require_for_new_item(attrs: dict[str, Any], required: tuple[str, ...]) -> dict[str, Any]:
    """A kept item (with `id`) changes only the fields sent; a new one needs these."""
    if attrs.get("id") is None:
        missing = {name: ["Required for a new item."] for name in required if name not in attrs}
        if missing:
            raise serializers.ValidationError(missing)
    return attrs


class CarePlanDraftApi(APIView):
    permission_classes = [has_role(Role.CLINICIAN)]

    class InputSerializer(StrictInput):
        """No fields: the rule set drafts from the latest intake."""

    @extend_schema(
        # An empty serializer would leave the body out of the schema; say what is sent.
        request={
            "application/json": {
                "type": "object",
                "description": "Empty (`{}`) or no body: the rule set decides what is drafted.",
            }
        },
        responses={201: CarePlanOutput},
        examples=[OpenApiExample("No choices to make", value={}, request_only=True)],
    )
    def post(self, request: AuthenticatedRequest, patient_id: str) -> Response:
        """Draft a care plan from the patient's latest completed gut-skin intake and latest
        instrument scores (clinicians on the care team). The body is an empty object (or none):
        nothing to choose, the rule set drafts. 409 `draft_exists` while a draft is open, with
        its id in `fields.draft_id` (edit it, or DELETE it to draft afresh); 409
        `intake_missing` without a completed intake."""
        self.InputSerializer(data=request.data).is_valid(raise_exception=True)
        plan = services.care_plan_draft(user=request.user, patient_id=patient_id)
        return Response(_plan_body(plan), status=status.HTTP_201_CREATED)


class CarePlanPagination(CursorPagination):
    ordering = ("-created_at", "-id")


class CarePlanListApi(APIView):
    """Care team: every plan of their patients; patients: their own published plans."""

    permission_classes = [has_role(*CLINICAL_READER_ROLES)]

    class FilterSerializer(AllErrorsSerializer):
        patient = serializers.UUIDField(required=False)
        status = ChoiceField(choices=CarePlanStatus.choices, required=False)

    @extend_schema(parameters=[FilterSerializer], responses={200: CarePlanOutput(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        plans = selectors.care_plan_list(
            user=request.user,
            patient_id=filters.validated_data.get("patient"),
            status=filters.validated_data.get("status"),
        )
        return audited_list_response(
            request=request,
            view=self,
            rows=plans,
            pagination_class=CarePlanPagination,
            serializer_class=CarePlanOutput,
            object_type="care_plan",
        )


class CarePlanDetailApi(APIView):
    permission_classes = [has_role(*CLINICAL_READER_ROLES)]

    class PatchSerializer(StrictInput):
        class GoalInput(StrictInput):
            id = serializers.UUIDField(required=False, help_text="Omit for a new goal.")
            title = serializers.CharField(max_length=200, required=False)
            instrument = serializers.SlugField(max_length=64, required=False)
            baseline = serializers.FloatField(required=False, allow_null=True)
            target_change = serializers.FloatField(min_value=0, required=False)
            due_date = serializers.DateField(required=False, allow_null=True)
            repeat_every_weeks = serializers.IntegerField(
                required=False, allow_null=True, min_value=1, max_value=52
            )

            NEW_ITEM_NEEDS = ("title", "instrument", "target_change")
            schema_required_any_of = (("id",), NEW_ITEM_NEEDS)

            def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
                return _require_for_new_item(attrs, self.NEW_ITEM_NEEDS)

        class ActivityInput(StrictInput):
            id = serializers.UUIDField(required=False, help_text="Omit for a new activity.")
            category = serializers.CharField(
                max_length=32,
                required=False,
                help_text="The rule set's categories (nutrition, sleep, ...) or the clinician's "
                "own word; a new activity without one is `custom`, a kept one keeps its own.",
            )
            title = serializers.CharField(max_length=200, required=False)
            instructions = serializers.CharField(max_length=5000, required=False)
            rationale = serializers.CharField(max_length=2000, required=False, allow_blank=True)
            evidence = serializers.ListField(
                child=serializers.CharField(max_length=500), required=False, max_length=50
            )

            NEW_ITEM_NEEDS = ("title", "instructions")
            schema_required_any_of = (("id",), NEW_ITEM_NEEDS)

            def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
                return _require_for_new_item(attrs, self.NEW_ITEM_NEEDS)

        summary = serializers.CharField(max_length=5000, required=False, allow_blank=True)
        goals = GoalInput(many=True, required=False)
        activities = ActivityInput(many=True, required=False)

    @extend_schema(responses={200: CarePlanOutput})
    def get(self, request: AuthenticatedRequest, plan_id: str) -> Response:
        """One care plan with goals and activities. The care team sees drafts too; a patient
        only their own published plans (anything else 404)."""
        plan = selectors.care_plan_get(user=request.user, plan_id=plan_id)
        return Response(CarePlanOutput(plan).data)

    @extend_schema(
        request=PatchSerializer,
        responses={200: CarePlanOutput},
        examples=[
            OpenApiExample(
                "Keep one activity, add one",
                value={
                    "summary": "Start with fibre and water.",
                    "activities": [
                        {"id": "2a3b4c5d-6e7f-4801-9a2b-3c4d5e6f7a8b", "title": "Raise fibre"},
                        {
                            "title": "Moisturise",
                            "instructions": "After bathing.",
                            "category": "skin",
                        },
                    ],
                },
                request_only=True,
            )
        ],
    )
    def patch(self, request: AuthenticatedRequest, plan_id: str) -> Response:
        """Edit a draft (clinicians on the care team): `summary`, and the full new lists of
        `goals` and `activities`. An item with `id` is kept and only the fields sent change (an
        omitted `category` keeps its value); an item without `id` is new; a kept item missing
        from the list is removed. A published plan: 409 `plan_not_draft`."""
        data = self.PatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        plan = services.care_plan_edit(
            user=request.user,
            plan_id=plan_id,
            summary=data.validated_data.get("summary"),
            goals=data.validated_data.get("goals"),
            activities=data.validated_data.get("activities"),
        )
        return Response(_plan_body(plan))

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: AuthenticatedRequest, plan_id: str) -> Response:
        """Discard a draft (clinicians on the care team). A published plan is part of the
        patient's record and stays: 409 `plan_not_draft`."""
        services.care_plan_discard(user=request.user, plan_id=plan_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CarePlanPublishApi(APIView):
    permission_classes = [has_role(*CLINICAL_READER_ROLES)]

    @extend_schema(request=None, responses={200: CarePlanOutput})
    def post(self, request: AuthenticatedRequest, plan_id: str) -> Response:
        """Publish a draft: it becomes the patient's active plan, supersedes the previous one and
        schedules the goals' check-ins. 409 `unreviewed_red_flag` while an urgent intake review
        of the patient is pending; 409 `plan_not_draft` when already published."""
        plan = services.care_plan_publish(user=request.user, plan_id=plan_id)
        return Response(_plan_body(plan))


class PlanItemChangesOutput(serializers.Serializer):
    class FieldChange(serializers.Serializer):
        code = serializers.CharField()
        field = serializers.CharField()
        before = serializers.JSONField(allow_null=True)
        after = serializers.JSONField(allow_null=True)

    added = serializers.ListField(child=serializers.CharField())
    removed = serializers.ListField(child=serializers.CharField())
    changed = FieldChange(many=True)


# `from` is a Python keyword, so this serializer's fields are given as a mapping.
CarePlanDiffOutput: Any = type(
    "CarePlanDiff",
    (serializers.Serializer,),
    {
        "from": serializers.UUIDField(),
        "to": serializers.UUIDField(),
        "summary_changed": serializers.BooleanField(),
        "activities": PlanItemChangesOutput(),
        "goals": PlanItemChangesOutput(),
    },
)


class CarePlanDiffApi(APIView):
    """What changed between this plan and another version of the same patient's plan."""

    permission_classes = [has_role(*CLINICAL_READER_ROLES)]

    class FilterSerializer(AllErrorsSerializer):
        against = serializers.UUIDField()

    @extend_schema(parameters=[FilterSerializer], responses={200: CarePlanDiffOutput})
    def get(self, request: AuthenticatedRequest, plan_id: str) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        diff = selectors.care_plan_diff(
            user=request.user, plan_id=plan_id, against_id=filters.validated_data["against"]
        )
        return Response(CarePlanDiffOutput(diff).data)


# --- measures ------------------------------------------------------------------------------


class MeasurePointOutput(serializers.Serializer):
    response_id = serializers.UUIDField()
    completed_at = serializers.DateTimeField()
    total = serializers.FloatField(allow_null=True)
    band = serializers.CharField(allow_null=True)
    subscales = serializers.JSONField()
    change_since_first = serializers.FloatField(allow_null=True)
    change_since_previous = serializers.FloatField(allow_null=True)


class MeasuresApi(APIView):
    """A patient's scores on one instrument over time, with change since first and previous."""

    permission_classes = [has_role(*CLINICAL_READER_ROLES)]

    class FilterSerializer(AllErrorsSerializer):
        instrument = ChoiceField(choices=sorted(INSTRUMENTS))

    class OutputSerializer(serializers.Serializer):
        instrument = serializers.CharField()
        goal = GoalOutput(
            allow_null=True, help_text="The active plan's goal on this instrument, if any."
        )
        results = MeasurePointOutput(many=True, help_text="Oldest first; the whole timeline.")
        # The timeline is one page; the list envelope keeps the contract's shape.
        next = serializers.URLField(allow_null=True, help_text="Always null: one page.")
        previous = serializers.URLField(allow_null=True, help_text="Always null: one page.")

    @extend_schema(parameters=[FilterSerializer], responses={200: OutputSerializer})
    def get(self, request: AuthenticatedRequest, patient_id: str) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        progress = selectors.measures_progress(
            user=request.user,
            patient_id=patient_id,
            instrument=filters.validated_data["instrument"],
        )
        return Response(self.OutputSerializer(progress).data)


# --- pre-visit summary ---------------------------------------------------------------------------


class PrevisitVisitOutput(serializers.Serializer):
    id = serializers.UUIDField()
    patient = serializers.UUIDField(source="patient_id")
    patient_name = serializers.CharField(source="patient.user.full_name")
    clinician = serializers.UUIDField(source="clinician_id")
    visit_type = serializers.CharField()
    status = ChoiceField(choices=AppointmentStatus.choices)
    start = serializers.DateTimeField(source="start_at")
    end = serializers.DateTimeField(source="end_at")


class PrevisitLastVisitOutput(serializers.Serializer):
    id = serializers.UUIDField()
    start = serializers.DateTimeField(source="start_at")
    end = serializers.DateTimeField(source="end_at")


class PrevisitScoreOutput(serializers.Serializer):
    instrument = serializers.CharField()
    response_id = serializers.UUIDField()
    completed_at = serializers.DateTimeField()
    total = serializers.FloatField(allow_null=True)
    band = serializers.CharField(allow_null=True)
    previous_total = serializers.FloatField(allow_null=True)
    change_since_previous = serializers.FloatField(allow_null=True)
    total_at_last_visit = serializers.FloatField(
        allow_null=True, help_text="The last score completed by the end of the last visit."
    )
    change_since_last_visit = serializers.FloatField(allow_null=True)


class PrevisitRedFlagOutput(serializers.Serializer):
    review_id = serializers.UUIDField(source="id")
    response_id = serializers.UUIDField()
    questionnaire = serializers.CharField(source="response.version.questionnaire.slug")
    severity = serializers.SerializerMethodField(
        help_text="The worst of the review's red flags, as in the intake review queue."
    )
    red_flags = RedFlagOutput(source="response.red_flags", many=True)
    created_at = serializers.DateTimeField()

    @extend_schema_field(serializers.ChoiceField(choices=SEVERITY_VALUES, allow_null=True))
    def get_severity(self, review: Any) -> str | None:
        return review.severity or None


class PrevisitCarePlanOutput(serializers.Serializer):
    id = serializers.UUIDField()
    number = serializers.IntegerField()
    summary = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True)
    # The same goal shape as the care-plan API.
    goals = GoalOutput(many=True, source="goals.all")


class PrevisitThreadOutput(serializers.Serializer):
    id = serializers.UUIDField()
    unread_count = serializers.IntegerField()
    priority = serializers.CharField()
    status = serializers.CharField()


class PrevisitUnreadOutput(serializers.Serializer):
    total = serializers.IntegerField()
    threads = PrevisitThreadOutput(many=True)


class PrevisitSummaryApi(APIView):
    """What the clinician should know before a visit: whether the gut-skin intake is still
    missing, the latest score per instrument with its change since the previous one and since
    the last completed visit, open red flags (pending flagged intake reviews), the active care
    plan, and the caller's unread messages in the patient's threads (docs/portal.md).

    Clinical: clinicians, coordinators and admins (break-glass) only; patients and schedulers
    get 403 like the other staff-only clinical endpoints. Of those, the patient's care team and
    the visit's own clinician; anyone else 404. Times in the caller's zone."""

    permission_classes = [has_role(*CLINICAL_STAFF_ROLES)]

    class OutputSerializer(serializers.Serializer):
        appointment = PrevisitVisitOutput()
        generated_at = serializers.DateTimeField()
        intake_missing = serializers.BooleanField()
        last_visit = PrevisitLastVisitOutput(allow_null=True)
        scores = PrevisitScoreOutput(many=True)
        red_flags = PrevisitRedFlagOutput(many=True)
        care_plan = PrevisitCarePlanOutput(allow_null=True)
        unread_messages = PrevisitUnreadOutput(
            allow_null=True,
            help_text="Null when the caller is the visit's clinician from outside the care team.",
        )

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request: AuthenticatedRequest, appointment_id: UUID) -> Response:
        summary = selectors.previsit_summary(user=request.user, appointment_id=appointment_id)
        with timezone.override(request.user.zone):
            return Response(self.OutputSerializer(summary).data)
