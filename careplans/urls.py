from django.urls import path

from . import apis

urlpatterns = [
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
    path(
        "patients/<uuid:patient_id>/measures/",
        apis.MeasuresApi.as_view(),
        name="patient-measures",
    ),
    path(
        "appointments/<uuid:appointment_id>/previsit-summary/",
        apis.PrevisitSummaryApi.as_view(),
        name="appointment-previsit-summary",
    ),
]
