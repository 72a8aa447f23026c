"""Mounted at /fhir/R4/ (carecore/urls.py). `$` operations come before the `<Type>/<id>` reads."""

from django.urls import path, re_path

from . import apis

_TYPE = r"(?P<type_name>[A-Z][A-Za-z]+)"
_ID = r"(?P<resource_id>[A-Za-z0-9\-\.]{1,64})"

urlpatterns = [
    path("metadata", apis.MetadataApi.as_view(), name="fhir-metadata"),
    path("Patient/$export", apis.ExportKickOffApi.as_view(), name="fhir-export"),
    path("$export-status/<str:job_id>", apis.ExportStatusApi.as_view(), name="fhir-export-status"),
    path(
        "$export-file/<str:job_id>/<str:name>",
        apis.ExportFileApi.as_view(),
        name="fhir-export-file",
    ),
    re_path(rf"^Patient/{_ID}/\$everything$", apis.EverythingApi.as_view(), name="fhir-everything"),
    re_path(rf"^{_TYPE}$", apis.SearchApi.as_view(), name="fhir-search"),
    re_path(rf"^{_TYPE}/{_ID}$", apis.ReadApi.as_view(), name="fhir-read"),
]
