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
