from django.urls import path

from . import apis

urlpatterns = [
    path("questionnaires/", apis.QuestionnaireListApi.as_view(), name="questionnaire-list"),
    path(
        "questionnaires/<slug:slug>/",
        apis.QuestionnaireDetailApi.as_view(),
        name="questionnaire-detail",
    ),
    path(
        "questionnaire-responses/",
        apis.ResponseListApi.as_view(),
        name="questionnaire-response-create",
    ),
    path(
        "questionnaire-responses/<uuid:response_id>/",
        apis.ResponseDetailApi.as_view(),
        name="questionnaire-response-detail",
    ),
    path(
        "patients/<uuid:patient_id>/measures/",
        apis.MeasuresApi.as_view(),
        name="patient-measures",
    ),
    path(
        "patients/<uuid:patient_id>/care-plans/",
        apis.CarePlanDraftApi.as_view(),
        name="patient-care-plan-draft",
    ),
    path("care-plans/", apis.CarePlanListApi.as_view(), name="care-plan-list"),
    path("care-plans/<uuid:plan_id>/", apis.CarePlanDetailApi.as_view(), name="care-plan-detail"),
    path(
        "care-plans/<uuid:plan_id>/publish/",
        apis.CarePlanPublishApi.as_view(),
        name="care-plan-publish",
    ),
    path(
        "care-plans/<uuid:plan_id>/diff/",
        apis.CarePlanDiffApi.as_view(),
        name="care-plan-diff",
    ),
    path("intake-reviews/", apis.ReviewQueueApi.as_view(), name="intake-review-list"),
    path(
        "intake-reviews/<uuid:review_id>/",
        apis.ReviewDetailApi.as_view(),
        name="intake-review-detail",
    ),
    path(
        "intake-reviews/<uuid:review_id>/complete/",
        apis.ReviewCompleteApi.as_view(),
        name="intake-review-complete",
    ),
]
