"""HTTP for intake: definitions, responses and the review queue."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from carecore.accounts.models import CLINICAL_READER_ROLES, CLINICAL_STAFF_ROLES, Role
from carecore.accounts.requests import AuthenticatedRequest
from carecore.audit.lists import audited_list_response
from carecore.common.errors import NotFound
from carecore.common.fields import (
    AllErrorsSerializer,
    ChoiceField,
    RedFlagOutput,
    StrictInput,
)
from carecore.common.pagination import CursorPagination, KeysetPagination
from carecore.common.permissions import has_role

from . import selectors, services
from .models import SEVERITY_CHOICES, QuestionnaireResponse, ResponseStatus, ReviewStatus
from .red_flags import worst_severity

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
    def get(self, request: AuthenticatedRequest) -> Response:
        paginator = QuestionnairePagination()
        page = paginator.paginate_queryset(
            selectors.questionnaire_current_list(), request, view=self
        )
        return paginator.get_paginated_response(QuestionnaireSummaryOutput(page, many=True).data)


class QuestionnaireDetailApi(APIView):
    class OutputSerializer(QuestionnaireSummaryOutput):
        definition = serializers.JSONField(
            help_text="Items, options, enableWhen, citation, licence."
        )

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request: AuthenticatedRequest, slug: str) -> Response:
        """The current published version of one questionnaire: items (`linkId`, type, options,
        `enableWhen`), citation and licence."""
        version = selectors.questionnaire_current(slug=slug)
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
    red_flags = RedFlagOutput(many=True)
    severity = serializers.SerializerMethodField(
        help_text="The worst red flag's severity: emergency, crisis, urgent, soon; null if none."
    )
    guidance = serializers.SerializerMethodField(
        help_text="What the patient should do now, for the worst red flag (e.g. call 911, or "
        "call or text 988); null without red flags. Show it at once. While in progress, also "
        "for answers not submitted yet (then it asks the patient to submit)."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)

    def get_severity(self, response: QuestionnaireResponse) -> str | None:
        severity = worst_severity(response.red_flags)
        return severity.value if severity else None

    def get_guidance(self, response: QuestionnaireResponse) -> str | None:
        return selectors.response_guidance(response)


class ResponsePagination(CursorPagination):
    ordering = ("-created_at", "-id")


class ResponseListApi(APIView):
    """GET: responses the caller may see (a patient their own, the care team their patients'),
    newest first. POST: a patient starts or submits a response."""

    permission_classes = [has_role(*CLINICAL_READER_ROLES)]

    class FilterSerializer(AllErrorsSerializer):
        questionnaire = serializers.SlugField(max_length=64, required=False)
        patient = serializers.UUIDField(required=False, help_text="Care team: one patient's.")
        status = ChoiceField(choices=ResponseStatus.choices, required=False)

    class InputSerializer(StrictInput):
        questionnaire = serializers.SlugField(max_length=64)
        answers = serializers.DictField(child=serializers.JSONField(), allow_empty=True)
        status = ChoiceField(choices=ResponseStatus.choices)

    @extend_schema(parameters=[FilterSerializer], responses={200: ResponseOutput(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        query = filters.validated_data
        return audited_list_response(
            request=request,
            view=self,
            rows=selectors.response_list(
                user=request.user,
                questionnaire=query.get("questionnaire"),
                patient_id=query.get("patient"),
                status=query.get("status"),
            ),
            pagination_class=ResponsePagination,
            serializer_class=ResponseOutput,
            object_type="questionnaire_response",
        )

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
    def post(self, request: AuthenticatedRequest) -> Response:
        """A patient starts or submits a response (anyone else: 403, from the service)."""
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
    permission_classes = [has_role(*CLINICAL_READER_ROLES)]

    class PatchSerializer(StrictInput):
        answers = serializers.DictField(child=serializers.JSONField(), required=False)
        status = ChoiceField(choices=ResponseStatus.choices, required=False)

    @extend_schema(responses={200: ResponseOutput})
    def get(self, request: AuthenticatedRequest, response_id: str) -> Response:
        """One questionnaire response with answers, scores and red flags: its patient and the
        care team; anyone else 404."""
        response = selectors.response_get(user=request.user, response_id=response_id)
        return Response(ResponseOutput(response).data)

    @extend_schema(request=PatchSerializer, responses={200: ResponseOutput})
    def patch(self, request: AuthenticatedRequest, response_id: str) -> Response:
        """Only the patient who owns it, only while in progress (409 once completed)."""
        data = self.PatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        response = services.response_update(
            user=request.user,
            response_id=response_id,
            answers=data.validated_data.get("answers"),
            status=data.validated_data.get("status"),
        )
        return Response(ResponseOutput(response).data)


# --- review queue --------------------------------------------------------------------------


def _score_changes(scores: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """Per instrument: the total's change since the patient's previous response (or null)."""
    changes: dict[str, Any] = {}
    for slug, score in scores.items():
        before = (previous or {}).get(slug) or {}
        total, earlier = score.get("total"), before.get("total")
        changes[slug] = None if total is None or earlier is None else round(total - earlier, 2)
    return changes


class ReviewPagination(KeysetPagination):
    # Urgent first, expedited next, then oldest first. Most reviews are neither urgent nor
    # expedited: the cursor holds the whole order, not only `urgent` (KeysetPagination).
    ordering = ("-urgent", "-expedited", "created_at", "id")


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
    response_status = serializers.CharField(
        source="response.status",
        help_text="in_progress when the flags were raised from an abandoned, unsubmitted intake.",
    )
    urgent = serializers.BooleanField()
    expedited = serializers.BooleanField()
    severity = serializers.SerializerMethodField(
        help_text="The worst red flag's severity; null without red flags."
    )
    paged_at = serializers.DateTimeField(allow_null=True)
    escalation_step = serializers.IntegerField()
    red_flags = RedFlagOutput(source="response.red_flags", many=True)
    status = ChoiceField(choices=ReviewStatus.choices)
    scores = serializers.JSONField(source="response.scores")
    changes_since_last = serializers.SerializerMethodField()
    answers = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField()

    @extend_schema_field(serializers.ChoiceField(choices=SEVERITY_CHOICES, allow_null=True))
    def get_severity(self, review: Any) -> str | None:
        return review.severity or None

    @extend_schema_field(serializers.DictField(child=serializers.FloatField(allow_null=True)))
    def get_changes_since_last(self, review: Any) -> dict[str, Any]:
        return _score_changes(review.response.scores, review.previous_scores)

    @extend_schema_field(AnsweredQuestionOutput(many=True))
    def get_answers(self, review: Any) -> Any:
        return AnsweredQuestionOutput(
            selectors.answers_with_questions(review.response), many=True
        ).data


class AnswerGivenOutput(serializers.Serializer):
    answer = serializers.JSONField()
    answer_display = serializers.CharField(
        allow_null=True, help_text="The chosen options' words; null for items without options."
    )


class AnswerChangeOutput(serializers.Serializer):
    link_id = serializers.CharField()
    question = serializers.CharField(
        help_text="The wording this response was asked (the previous one's for a question this "
        "version no longer asks)."
    )
    kind = ChoiceField(
        choices=selectors.ANSWER_CHANGE_KINDS,
        help_text="changed: answered both times, differently; new: answered now only; "
        "no_longer_given: answered last time only.",
    )
    before = AnswerGivenOutput(allow_null=True, help_text="Null for a new answer.")
    after = AnswerGivenOutput(allow_null=True, help_text="Null for an answer no longer given.")
    question_is_new = serializers.BooleanField(
        help_text="The previous response's questionnaire version did not ask this question."
    )
    question_is_gone = serializers.BooleanField(
        help_text="This response's questionnaire version no longer asks this question."
    )


class ScoreChangeOutput(serializers.Serializer):
    instrument = serializers.CharField()
    total = serializers.FloatField(allow_null=True)
    band = serializers.CharField(allow_null=True)
    previous_total = serializers.FloatField(allow_null=True)
    previous_band = serializers.CharField(allow_null=True)
    change = serializers.FloatField(allow_null=True, help_text="total - previous_total.")


class ResponseChangesOutput(serializers.Serializer):
    first_response = serializers.BooleanField(
        help_text="No earlier completed response to this questionnaire: nothing to compare "
        "(answers empty; each score's previous values and change null)."
    )
    previous_response_id = serializers.UUIDField(allow_null=True)
    previous_completed_at = serializers.DateTimeField(allow_null=True)
    previous_questionnaire_version = serializers.CharField(allow_null=True)
    answers = AnswerChangeOutput(
        many=True,
        help_text="Each answer that differs, matched by linkId across questionnaire versions.",
    )
    scores = ScoreChangeOutput(many=True, help_text="Every instrument scored in either response.")


class ReviewDetailOutput(ReviewOutput):
    changes_since_previous = ResponseChangesOutput(
        help_text="What changed since the patient's previous completed response to the same "
        "questionnaire (any version)."
    )


class ReviewQueueApi(APIView):
    """Pending reviews of the caller's patients, urgent first, expedited next
    (`?status=completed` for done ones), each with the patient's name, scores, changes and every
    answer with its question."""

    permission_classes = [has_role(*CLINICAL_STAFF_ROLES)]

    class FilterSerializer(AllErrorsSerializer):
        status = ChoiceField(choices=ReviewStatus.choices, required=False)

    @extend_schema(parameters=[FilterSerializer], responses={200: ReviewOutput(many=True)})
    def get(self, request: AuthenticatedRequest) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        reviews = selectors.review_queue(
            user=request.user, status=filters.validated_data.get("status", ReviewStatus.PENDING)
        )
        return audited_list_response(
            request=request,
            view=self,
            rows=reviews,
            pagination_class=ReviewPagination,
            serializer_class=ReviewOutput,
            object_type="intake_review",
        )


class ReviewDetailApi(APIView):
    """One review: the patient, every answer with its question, scores, red flags and what
    changed since the patient's previous response to the questionnaire."""

    permission_classes = [has_role(*CLINICAL_STAFF_ROLES)]

    @extend_schema(responses={200: ReviewDetailOutput})
    def get(self, request: AuthenticatedRequest, review_id: str) -> Response:
        review = selectors.review_get(user=request.user, review_id=review_id)
        return Response(ReviewDetailOutput(review).data)


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
    def post(self, request: AuthenticatedRequest, review_id: str) -> Response:
        """Mark a review done (clinicians on the care team), with an optional `note`. Completing an
        urgent review clears the care-plan publish gate. Already completed: 409."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.review_complete(
            user=request.user, review_id=review_id, note=data.validated_data["note"]
        )
        review = selectors.review_with_previous_scores(review=review)
        return Response(ReviewOutput(review).data)
