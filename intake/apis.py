"""HTTP for intake: definitions, responses and the review queue."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Subquery
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from carecore.accounts.models import CLINICAL_READER_ROLES, CLINICAL_STAFF_ROLES, Role
from carecore.audit.services import AuditTarget, audit_record_many
from carecore.common.errors import Forbidden, NotFound
from carecore.common.pagination import CursorPagination
from carecore.common.permissions import has_role

from . import services
from .access import access_response
from .models import QuestionnaireResponse, ResponseStatus, ReviewStatus
from .selectors import (
    previous_completed_response,
    questionnaire_current,
    questionnaire_current_list,
)
from .selectors import review_queue as review_queue_selector

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


class ResponseCreateApi(APIView):
    permission_classes = [has_role(Role.PATIENT)]

    class InputSerializer(serializers.Serializer):
        questionnaire = serializers.SlugField(max_length=64)
        answers = serializers.DictField(child=serializers.JSONField(), allow_empty=True)
        status = serializers.ChoiceField(choices=ResponseStatus.choices)

    @extend_schema(request=InputSerializer, responses={201: ResponseOutput})
    def post(self, request: Request) -> Response:
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

    class PatchSerializer(serializers.Serializer):
        answers = serializers.DictField(child=serializers.JSONField(), required=False)
        status = serializers.ChoiceField(choices=ResponseStatus.choices, required=False)

    @extend_schema(responses={200: ResponseOutput})
    def get(self, request: Request, response_id: str) -> Response:
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


class ReviewQueueApi(APIView):
    """Pending reviews of the caller's patients, urgent first (`?status=completed` for done)."""

    permission_classes = [has_role(*CLINICAL_STAFF_ROLES)]

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=ReviewStatus.choices, required=False)

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        patient_id = serializers.UUIDField()
        response_id = serializers.UUIDField()
        questionnaire = serializers.CharField(source="response.version.questionnaire.slug")
        urgent = serializers.BooleanField()
        red_flags = serializers.JSONField(source="response.red_flags")
        status = serializers.CharField()
        scores = serializers.JSONField(source="response.scores")
        changes_since_last = serializers.SerializerMethodField()
        created_at = serializers.DateTimeField()
        completed_at = serializers.DateTimeField(allow_null=True)
        note = serializers.CharField()

        def get_changes_since_last(self, review: Any) -> dict[str, Any]:
            return _score_changes(review.response.scores, review.previous_scores)

    @extend_schema(parameters=[FilterSerializer], responses={200: OutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        previous = QuestionnaireResponse.objects.filter(
            patient_id=OuterRef("patient_id"),
            version__questionnaire_id=OuterRef("response__version__questionnaire_id"),
            status=ResponseStatus.COMPLETED,
            completed_at__lt=OuterRef("response__completed_at"),
        ).order_by("-completed_at")
        reviews = review_queue_selector(
            user=request.user, status=filters.validated_data.get("status", ReviewStatus.PENDING)
        ).annotate(previous_scores=Subquery(previous.values("scores")[:1]))
        paginator = ReviewPagination()
        page = paginator.paginate_queryset(reviews, request, view=self)
        audit_record_many(
            actor=request.user,
            targets=[AuditTarget("intake_review", str(r.id), r.patient_id) for r in page],
        )
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class ReviewCompleteApi(APIView):
    permission_classes = [has_role(Role.CLINICIAN)]

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(max_length=5000, allow_blank=True)

    @extend_schema(request=InputSerializer, responses={200: ReviewQueueApi.OutputSerializer})
    def post(self, request: Request, review_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.review_complete(
            user=request.user, review_id=review_id, note=data.validated_data["note"]
        )
        previous = previous_completed_response(review.response)
        review.previous_scores = previous.scores if previous else None  # type: ignore[attr-defined]
        return Response(ReviewQueueApi.OutputSerializer(review).data)
