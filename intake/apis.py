"""HTTP for intake: definitions, responses, the measures timeline and the review queue."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Subquery
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from carecore.accounts.access import Purpose, access_patient
from carecore.accounts.models import Role
from carecore.audit.services import AuditTarget, audit_record_many
from carecore.common.errors import Forbidden, NotFound
from carecore.common.fields import AllErrorsSerializer, ChoiceField, StrictInput
from carecore.common.pagination import CursorPagination
from carecore.common.permissions import has_role

from . import careplans, services
from .access import access_care_plan, access_response, access_review
from .instruments import INSTRUMENTS
from .models import CarePlanStatus, QuestionnaireResponse, ResponseStatus, ReviewStatus
from .selectors import (
    active_goal,
    answers_with_questions,
    care_plan_list,
    care_plan_with_items,
    measures_timeline,
    previous_completed_response,
    questionnaire_current,
    questionnaire_current_list,
    response_list,
)
from .selectors import review_queue as review_queue_selector

# Schedulers never see answers, scores or reviews (minimum necessary): 403 by role.
CLINICAL_READERS = (Role.PATIENT, Role.CLINICIAN, Role.COORDINATOR, Role.ADMIN)
CARE_TEAM = (Role.CLINICIAN, Role.COORDINATOR, Role.ADMIN)


# --- questionnaires ------------------------------------------------------------------------


class QuestionnaireSummaryOutput(serializers.Serializer):
    slug = serializers.CharField(source="questionnaire.slug")
    title = serializers.CharField(source="questionnaire.title")
    version = serializers.CharField()
    url = serializers.URLField()
    published_at = serializers.DateTimeField()


class QuestionnairePagination(CursorPagination):
    ordering = ("questionnaire_id",)


class QuestionnaireListApi(APIView):
    """The current published version of every questionnaire (definitions are not patient data)."""

    @extend_schema(responses={200: QuestionnaireSummaryOutput(many=True)})
    def get(self, request: Request) -> Response:
        paginator = QuestionnairePagination()
        page = paginator.paginate_queryset(questionnaire_current_list(), request, view=self)
        return paginator.get_paginated_response(QuestionnaireSummaryOutput(page, many=True).data)


class QuestionnaireDetailApi(APIView):
    class OutputSerializer(QuestionnaireSummaryOutput):
        definition = serializers.JSONField(
            help_text="Items, options, enableWhen, citation, licence."
        )

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request: Request, slug: str) -> Response:
        """The current published version of one questionnaire: items (`linkId`, type, options,
        `enableWhen`), citation and licence."""
        version = questionnaire_current(slug=slug)
        if version is None:
            raise NotFound()
        return Response(self.OutputSerializer(version).data)


# --- responses ---------------------------------------------------------------------------


class ResponseOutput(serializers.Serializer):
    id = serializers.UUIDField()
    patient_id = serializers.UUIDField()
    questionnaire = serializers.CharField(source="version.questionnaire.slug")
    questionnaire_version = serializers.CharField(source="version.version")
    questionnaire_canonical = serializers.CharField(source="version.canonical")
    status = serializers.CharField()
    answers = serializers.JSONField()
    scores = serializers.JSONField()
    red_flags = serializers.JSONField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)


class ResponsePagination(CursorPagination):
    ordering = ("-created_at", "-id")


class ResponseListApi(APIView):
    """GET: responses the caller may see (a patient their own, the care team their patients'),
    newest first. POST: a patient starts or submits a response."""

    permission_classes = [has_role(*CLINICAL_READERS)]

    class FilterSerializer(AllErrorsSerializer):
        questionnaire = serializers.SlugField(max_length=64, required=False)
        patient = serializers.UUIDField(required=False, help_text="Care team: one patient's.")
        status = ChoiceField(choices=ResponseStatus.choices, required=False)

    class InputSerializer(StrictInput):
        questionnaire = serializers.SlugField(max_length=64)
        answers = serializers.DictField(child=serializers.JSONField(), allow_empty=True)
        status = ChoiceField(choices=ResponseStatus.choices)

    @extend_schema(parameters=[FilterSerializer], responses={200: ResponseOutput(many=True)})
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        query = filters.validated_data
        paginator = ResponsePagination()
        page = paginator.paginate_queryset(
            response_list(
                user=request.user,
                questionnaire=query.get("questionnaire"),
                patient_id=query.get("patient"),
                status=query.get("status"),
            ),
            request,
            view=self,
        )
        audit_record_many(
            actor=request.user,
            targets=[AuditTarget("questionnaire_response", str(r.id), r.patient_id) for r in page],
        )
        return paginator.get_paginated_response(ResponseOutput(page, many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={201: ResponseOutput},
        examples=[
            OpenApiExample(
                "Submit a POEM",
                value={
                    "questionnaire": "poem",
                    "status": "completed",
                    "answers": {
                        "poem-1": 2,
                        "poem-2": 1,
                        "poem-3": 0,
                        "poem-4": 3,
                        "poem-5": 1,
                        "poem-6": 0,
                        "poem-7": 2,
                    },
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        if request.user.role != Role.PATIENT:
            raise Forbidden("Only patients answer questionnaires.")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        response = services.response_create(
            user=request.user,
            slug=data.validated_data["questionnaire"],
            answers=data.validated_data["answers"],
            status=data.validated_data["status"],
        )
        return Response(ResponseOutput(response).data, status=status.HTTP_201_CREATED)


class ResponseDetailApi(APIView):
    permission_classes = [has_role(*CLINICAL_READERS)]

    class PatchSerializer(StrictInput):
        answers = serializers.DictField(child=serializers.JSONField(), required=False)
        status = ChoiceField(choices=ResponseStatus.choices, required=False)

    @extend_schema(responses={200: ResponseOutput})
    def get(self, request: Request, response_id: str) -> Response:
        """One questionnaire response with answers, scores and red flags: its patient and the
        care team; anyone else 404."""
        response = access_response(user=request.user, response_id=response_id)
        return Response(ResponseOutput(response).data)

    @extend_schema(request=PatchSerializer, responses={200: ResponseOutput})
    def patch(self, request: Request, response_id: str) -> Response:
        """Only the patient who owns it, only while in progress (409 once completed)."""
        if request.user.role != Role.PATIENT:
            # Staff may read a response but never change what the patient answered.
            access_response(user=request.user, response_id=response_id)
            raise Forbidden("Only the patient can change their answers.")
        data = self.PatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        response = services.response_update(
            user=request.user,
            response_id=response_id,
            answers=data.validated_data.get("answers"),
            status=data.validated_data.get("status"),
        )
        return Response(ResponseOutput(response).data)


# --- measures ------------------------------------------------------------------------------


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

    permission_classes = [has_role(*CLINICAL_READERS)]

    class FilterSerializer(AllErrorsSerializer):
        instrument = ChoiceField(choices=sorted(INSTRUMENTS))

    class OutputSerializer(serializers.Serializer):
        instrument = serializers.CharField()
        goal = GoalOutput(
            allow_null=True, help_text="The active plan's goal for this instrument, if any."
        )
        results = MeasurePointOutput(many=True, help_text="Oldest first; the whole timeline.")
        next = serializers.URLField(allow_null=True, help_text="Always null: one page.")
        previous = serializers.URLField(allow_null=True, help_text="Always null: one page.")

    @extend_schema(parameters=[FilterSerializer], responses={200: OutputSerializer})
    def get(self, request: Request, patient_id: str) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        patient = access_patient(
            user=request.user,
            patient_id=patient_id,
            purpose=Purpose.CLINICAL,
            object_type="measures",
        )
        instrument = filters.validated_data["instrument"]
        points = measures_timeline(patient=patient, instrument=instrument)
        goal = active_goal(patient=patient, instrument=instrument)
        return Response(
            {
                "instrument": instrument,
                # Progress is read against the active plan's goal: target_value by due_date.
                "goal": GoalOutput(goal).data if goal else None,
                "results": MeasurePointOutput(points, many=True).data,
                "next": None,
                "previous": None,
            }
        )


# --- review queue --------------------------------------------------------------------------


def _score_changes(scores: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """Per instrument: the total's change since the patient's previous response (or null)."""
    changes: dict[str, Any] = {}
    for slug, score in scores.items():
        before = (previous or {}).get(slug) or {}
        total, earlier = score.get("total"), before.get("total")
        changes[slug] = None if total is None or earlier is None else round(total - earlier, 2)
    return changes


class ReviewPagination(CursorPagination):
    # Urgent first, then oldest first; the cursor keeps the order stable across pages.
    ordering = ("-urgent", "created_at", "id")


class AnsweredQuestionOutput(serializers.Serializer):
    link_id = serializers.CharField()
    question = serializers.CharField(help_text="The question as the patient saw it.")
    answer = serializers.JSONField()
    answer_display = serializers.CharField(
        allow_null=True, help_text="The chosen options' words; null for items without options."
    )


class ReviewOutput(serializers.Serializer):
    id = serializers.UUIDField()
    patient_id = serializers.UUIDField()
    patient_name = serializers.CharField(source="patient.user.full_name")
    response_id = serializers.UUIDField()
    questionnaire = serializers.CharField(source="response.version.questionnaire.slug")
    questionnaire_title = serializers.CharField(source="response.version.questionnaire.title")
    urgent = serializers.BooleanField()
    red_flags = serializers.JSONField(source="response.red_flags")
    status = ChoiceField(choices=ReviewStatus.choices)
    scores = serializers.JSONField(source="response.scores")
    changes_since_last = serializers.SerializerMethodField()
    answers = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField()

    @extend_schema_field(serializers.DictField(child=serializers.FloatField(allow_null=True)))
    def get_changes_since_last(self, review: Any) -> dict[str, Any]:
        return _score_changes(review.response.scores, review.previous_scores)

    @extend_schema_field(AnsweredQuestionOutput(many=True))
    def get_answers(self, review: Any) -> Any:
        return AnsweredQuestionOutput(answers_with_questions(review.response), many=True).data


def _previous_scores_subquery() -> Subquery:
    previous = QuestionnaireResponse.objects.filter(
        patient_id=OuterRef("patient_id"),
        version__questionnaire_id=OuterRef("response__version__questionnaire_id"),
        status=ResponseStatus.COMPLETED,
        completed_at__lt=OuterRef("response__completed_at"),
    ).order_by("-completed_at")
    return Subquery(previous.values("scores")[:1])


def _with_previous_scores(review: Any) -> Any:
    previous = previous_completed_response(review.response)
    review.previous_scores = previous.scores if previous else None
    return review


class ReviewQueueApi(APIView):
    """Pending reviews of the caller's patients, urgent first (`?status=completed` for done),
    each with the patient's name, scores, changes and every answer with its question."""

    permission_classes = [has_role(*CARE_TEAM)]

    class FilterSerializer(AllErrorsSerializer):
        status = ChoiceField(choices=ReviewStatus.choices, required=False)

    @extend_schema(parameters=[FilterSerializer], responses={200: ReviewOutput(many=True)})
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        reviews = review_queue_selector(
            user=request.user, status=filters.validated_data.get("status", ReviewStatus.PENDING)
        ).annotate(previous_scores=_previous_scores_subquery())
        paginator = ReviewPagination()
        page = paginator.paginate_queryset(reviews, request, view=self)
        audit_record_many(
            actor=request.user,
            targets=[AuditTarget("intake_review", str(r.id), r.patient_id) for r in page],
        )
        return paginator.get_paginated_response(ReviewOutput(page, many=True).data)


class ReviewDetailApi(APIView):
    """One review: the patient, every answer with its question, scores and red flags."""

    permission_classes = [has_role(*CARE_TEAM)]

    @extend_schema(responses={200: ReviewOutput})
    def get(self, request: Request, review_id: str) -> Response:
        review = access_review(user=request.user, review_id=review_id)
        return Response(ReviewOutput(_with_previous_scores(review)).data)


class ReviewCompleteApi(APIView):
    permission_classes = [has_role(Role.CLINICIAN)]

    class InputSerializer(StrictInput):
        note = serializers.CharField(
            max_length=5000, required=False, allow_blank=True, default="", help_text="Optional."
        )

    @extend_schema(
        request=InputSerializer,
        responses={200: ReviewOutput},
        examples=[
            OpenApiExample(
                "With a note",
                value={"note": "Discussed at visit; no referral needed."},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, review_id: str) -> Response:
        """Mark a review done (clinicians on the care team), with an optional `note`. Completing an
        urgent review clears the care-plan publish gate. Already completed: 409."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.review_complete(
            user=request.user, review_id=review_id, note=data.validated_data["note"]
        )
        return Response(ReviewOutput(_with_previous_scores(review)).data)


# --- care plans ----------------------------------------------------------------------------


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


def _plan_payload(plan: Any) -> dict[str, Any]:
    return CarePlanOutput(care_plan_with_items(plan_id=plan.id)).data


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
    def post(self, request: Request, patient_id: str) -> Response:
        """Draft a care plan from the patient's latest completed gut-skin intake and latest
        instrument scores (clinicians on the care team). The body is an empty object (or none):
        nothing to choose, the rule set drafts. 409 `draft_exists` while a draft is open, with
        its id in `fields.draft_id` (edit it, or DELETE it to draft afresh); 409
        `intake_missing` without a completed intake."""
        self.InputSerializer(data=request.data).is_valid(raise_exception=True)
        plan = careplans.care_plan_draft(user=request.user, patient_id=patient_id)
        return Response(_plan_payload(plan), status=status.HTTP_201_CREATED)


class CarePlanPagination(CursorPagination):
    ordering = ("-created_at", "-id")


class CarePlanListApi(APIView):
    """Care team: every plan of their patients; patients: their own published plans."""

    permission_classes = [has_role(*CLINICAL_READERS)]

    class FilterSerializer(AllErrorsSerializer):
        patient = serializers.UUIDField(required=False)
        status = ChoiceField(choices=CarePlanStatus.choices, required=False)

    @extend_schema(parameters=[FilterSerializer], responses={200: CarePlanOutput(many=True)})
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        plans = care_plan_list(
            user=request.user,
            patient_id=filters.validated_data.get("patient"),
            status=filters.validated_data.get("status"),
        )
        paginator = CarePlanPagination()
        page = paginator.paginate_queryset(plans, request, view=self)
        audit_record_many(
            actor=request.user,
            targets=[AuditTarget("care_plan", str(p.id), p.patient_id) for p in page],
        )
        return paginator.get_paginated_response(CarePlanOutput(page, many=True).data)


class CarePlanDetailApi(APIView):
    permission_classes = [has_role(*CLINICAL_READERS)]

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
    def get(self, request: Request, plan_id: str) -> Response:
        """One care plan with goals and activities. The care team sees drafts too; a patient only
        their own published plans (anything else 404)."""
        plan = access_care_plan(user=request.user, plan_id=plan_id)
        return Response(_plan_payload(plan))

    @extend_schema(
        request=PatchSerializer,
        responses={200: CarePlanOutput},
        examples=[
            OpenApiExample(
                "Keep one activity, add one",
                value={
                    "summary": "Start with fibre and water.",
                    "activities": [
                        {
                            "id": "2a3b4c5d-6e7f-4801-9a2b-3c4d5e6f7a8b",
                            "title": "Raise fibre slowly",
                        },
                        {
                            "title": "Moisturise twice daily",
                            "instructions": "After bathing.",
                            "category": "skin",
                        },
                    ],
                },
                request_only=True,
            )
        ],
    )
    def patch(self, request: Request, plan_id: str) -> Response:
        """Edit a draft (clinicians on the care team): `summary`, and the full new lists of
        `goals` and `activities`. An item with `id` is kept and only the fields sent change (an
        omitted `category` keeps its value); an item without `id` is new; a kept item missing
        from the list is removed. A published plan: 409 `plan_not_draft`."""
        access_care_plan(user=request.user, plan_id=plan_id)  # 404 before 403 for outsiders
        data = self.PatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        plan = careplans.care_plan_edit(
            user=request.user,
            plan_id=plan_id,
            summary=data.validated_data.get("summary"),
            goals=data.validated_data.get("goals"),
            activities=data.validated_data.get("activities"),
        )
        return Response(_plan_payload(plan))

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, plan_id: str) -> Response:
        """Discard a draft (clinicians on the care team). A published plan is part of the
        patient's record and stays: 409 `plan_not_draft`."""
        access_care_plan(user=request.user, plan_id=plan_id)  # 404 before 403 for outsiders
        careplans.care_plan_discard(user=request.user, plan_id=plan_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CarePlanPublishApi(APIView):
    permission_classes = [has_role(*CLINICAL_READERS)]

    @extend_schema(request=None, responses={200: CarePlanOutput})
    def post(self, request: Request, plan_id: str) -> Response:
        """Publish a draft: it becomes the patient's active plan, supersedes the previous one and
        schedules the goals' check-ins. 409 `unreviewed_red_flag` while an urgent intake review
        of the patient is pending; 409 `plan_not_draft` when already published."""
        access_care_plan(user=request.user, plan_id=plan_id)
        plan = careplans.care_plan_publish(user=request.user, plan_id=plan_id)
        return Response(_plan_payload(plan))


class CarePlanDiffApi(APIView):
    """What changed between this plan and another version of the same patient's plan."""

    permission_classes = [has_role(*CLINICAL_READERS)]

    class FilterSerializer(AllErrorsSerializer):
        against = serializers.UUIDField()

    class ChangesOutput(serializers.Serializer):
        class FieldChange(serializers.Serializer):
            code = serializers.CharField()
            field = serializers.CharField()
            before = serializers.JSONField(allow_null=True)
            after = serializers.JSONField(allow_null=True)

        added = serializers.ListField(child=serializers.CharField())
        removed = serializers.ListField(child=serializers.CharField())
        changed = FieldChange(many=True)

    @extend_schema(
        parameters=[FilterSerializer],
        responses={
            200: inline_serializer(
                name="CarePlanDiff",
                fields={
                    "from": serializers.UUIDField(),
                    "to": serializers.UUIDField(),
                    "summary_changed": serializers.BooleanField(),
                    "activities": ChangesOutput(),
                    "goals": ChangesOutput(),
                },
            )
        },
    )
    def get(self, request: Request, plan_id: str) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        newer = access_care_plan(user=request.user, plan_id=plan_id)
        older = access_care_plan(user=request.user, plan_id=filters.validated_data["against"])
        if older.number > newer.number:
            older, newer = newer, older
        return Response(careplans.care_plan_diff(older=older, newer=newer))
