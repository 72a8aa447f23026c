"""Mounted at /fhir/ (carecore/urls.py): the R4 API under R4/, where `$` operations come before
the `<Type>/<id>` reads; any other path under /fhir/ answers as an OperationOutcome 404."""

from django.urls import include, path, re_path

from . import apis

_TYPE = r"(?P<type_name>[A-Z][A-Za-z]+)"
_ID = r"(?P<resource_id>[A-Za-z0-9\-\.]{1,64})"

r4_patterns = [
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

urlpatterns = [
    path("R4/", include(r4_patterns)),
    # Unknown FHIR paths answer as an OperationOutcome, even with DEBUG on. Mounted here rather
    # than in carecore/urls.py, which may not import an app above it.
    re_path(r"^", apis.not_found),
]
