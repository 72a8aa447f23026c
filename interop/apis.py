"""HTTP for FHIR R4 at /fhir/R4/: reads, searches, $everything, metadata and bulk export.

Views parse, check the caller's role for the type (the same roles as the REST endpoints for the
same data: 403 otherwise), call reads/bundles, and render application/fhir+json. Errors are
OperationOutcomes; anything but GET answers 405 before authentication is even looked at.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django.http import FileResponse, HttpRequest, JsonResponse
from django.urls import reverse
from rest_framework import exceptions, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from carecore.accounts.access import Purpose, access_patient
from carecore.accounts.models import Role, User
from carecore.common.errors import Forbidden
from carecore.common.permissions import has_role

from . import bundles, export, reads, search
from .capability import capability_statement
from .errors import FhirBadRequest, exception_handler, operation_outcome
from .record import COMPARTMENT_TYPES, SPECS, Filters, ViewerScope
from .search import Cursor
from .validation import validate_if_enabled

FHIR_JSON = "application/fhir+json"
NDJSON = "application/fhir+ndjson"


class FhirJsonRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "json"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if isinstance(data, dict) and "resourceType" in data:
            validate_if_enabled(data)
        return super().render(data, accepted_media_type, renderer_context)


class AlwaysFhirJson(BaseContentNegotiation):
    """One representation: FHIR JSON (the Accept header and `_format` cannot change it)."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class FhirApi(APIView):
    renderer_classes = [FhirJsonRenderer]
    content_negotiation_class = AlwaysFhirJson
    read_methods: tuple[str, ...] = ("GET", "HEAD")
    # FHIR is described by its CapabilityStatement (/fhir/R4/metadata), not the OpenAPI schema.
    schema = None

    def get_exception_handler(self) -> Any:
        return exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if request.method not in self.read_methods:
            # Read-only: a write is refused as such, whoever sends it (no body is parsed).
            raise exceptions.MethodNotAllowed(request.method or "")
        super().initial(request, *args, **kwargs)

    def base_url(self, request: Request) -> str:
        return request.build_absolute_uri(reverse("fhir-metadata")).removesuffix("/metadata")


def _caller(request: Request) -> User:
    """The signed-in user (every view but metadata requires authentication first)."""
    return cast(User, request.user)


def _require_type_role(user: User, type_name: str) -> None:
    if user.role not in SPECS[type_name].readers:
        raise Forbidden("Your role does not give access to this resource type.")


def _unknown_type(type_name: str) -> None:
    if type_name not in SPECS:
        raise exceptions.NotFound()


class MetadataApi(FhirApi):
    """The CapabilityStatement: public, as FHIR clients read it before they authenticate."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response(capability_statement(base_url=self.base_url(request)))


class ReadApi(FhirApi):
    def get(self, request: Request, type_name: str, resource_id: str) -> Response:
        _unknown_type(type_name)
        user = _caller(request)
        _require_type_role(user, type_name)
        resource = reads.read(user=user, type_name=type_name, resource_id=resource_id)
        return Response(resource)


class SearchApi(FhirApi):
    def get(self, request: Request, type_name: str) -> Response:
        _unknown_type(type_name)
        user = _caller(request)
        _require_type_role(user, type_name)
        params, cursor = _params_and_cursor(request)
        filters = search.search_filters(SPECS[type_name], params)
        page = bundles.collect(
            ViewerScope(user),
            [type_name],
            filters={type_name: filters},
            cursor=cursor,
            limit=search.page_size(params),
        )
        bundles.audit_page(user, page.entries)
        url = request.build_absolute_uri(request.path)
        return Response(self.bundle(request, url, params, page))

    def bundle(
        self, request: Request, url: str, params: dict[str, list[str]], page: bundles.Page
    ) -> dict[str, Any]:
        next_url = None
        if page.next_cursor is not None:
            next_url = f"{url}?_page={search.encode_page(params, page.next_cursor)}"
        return bundles.searchset(
            base_url=self.base_url(request),
            self_url=request.build_absolute_uri(),
            next_url=next_url,
            page=page,
        )


def _params_and_cursor(request: Request) -> tuple[dict[str, list[str]], Cursor]:
    token = request.query_params.get("_page")
    if token:
        return search.decode_page(token)
    return search.query_params(request.query_params), Cursor(0, None)


_EVERYTHING_PARAMS = frozenset({"_since", "_type", "_count", "_format", "_page"})


class EverythingApi(SearchApi):
    """Patient/<id>/$everything: the patient's compartment, as far as the caller may see it."""

    permission_classes = [has_role(*SPECS["Patient"].readers)]

    def get(self, request: Request, resource_id: str) -> Response:  # type: ignore[override]
        user = _caller(request)
        params, cursor = _params_and_cursor(request)
        unknown = sorted(set(params) - _EVERYTHING_PARAMS)
        if unknown:
            raise FhirBadRequest(f"Unsupported $everything parameter(s): {', '.join(unknown)}.")
        search.check_format(params)
        patient = access_patient(
            user=user, patient_id=reads.uuid_or_404(resource_id), purpose=Purpose.DEMOGRAPHICS
        )
        readable = [name for name in COMPARTMENT_TYPES if user.role in SPECS[name].readers]
        type_names = search.types(params, readable)
        since = search.since(params)
        filters = {
            name: Filters(
                patient_ids=[str(patient.id)],
                # The Patient itself is always included: it anchors the bundle.
                updated=None if name == "Patient" else search.updated_since(since),
            )
            for name in type_names
        }
        page = bundles.collect(
            ViewerScope(user),
            type_names,
            filters=filters,
            cursor=cursor,
            limit=search.page_size(params),
        )
        bundles.audit_page(user, page.entries)
        url = request.build_absolute_uri(request.path)
        return Response(self.bundle(request, url, params, page))


# --- bulk export ---------------------------------------------------------------------------------

_EXPORT_PARAMS = frozenset({"_outputFormat", "_since", "_type"})
_OUTPUT_FORMATS = frozenset({NDJSON, "application/ndjson", "ndjson"})


class ExportKickOffApi(FhirApi):
    """GET Patient/$export (FHIR Bulk Data): 202 with Content-Location to poll."""

    permission_classes = [has_role(Role.ADMIN)]

    def get(self, request: Request) -> Response:
        if "respond-async" not in request.headers.get("Prefer", ""):
            raise FhirBadRequest("Bulk export is asynchronous: send 'Prefer: respond-async'.")
        params = search.query_params(request.query_params)
        unknown = sorted(set(params) - _EXPORT_PARAMS)
        if unknown:
            raise FhirBadRequest(f"Unsupported $export parameter(s): {', '.join(unknown)}.")
        if any(value not in _OUTPUT_FORMATS for value in params.get("_outputFormat", [])):
            raise FhirBadRequest("_outputFormat must be application/fhir+ndjson.")
        job = export.export_start(
            user=_caller(request),
            types=search.types(params, export.EXPORT_TYPES),
            since=search.since(params),
            request_url=request.build_absolute_uri(),
        )
        status_url = request.build_absolute_uri(reverse("fhir-export-status", args=[job.id]))
        return Response(
            operation_outcome(
                202, "Export accepted; poll the Content-Location.", severity="information"
            ),
            status=status.HTTP_202_ACCEPTED,
            headers={"Content-Location": status_url},
        )


class ExportStatusApi(FhirApi):
    """Poll (GET): 202 while running, 200 with the manifest when done. DELETE cancels."""

    permission_classes = [has_role(Role.ADMIN)]
    read_methods = ("GET", "HEAD", "DELETE")

    def get(self, request: Request, job_id: str) -> Response:
        job = export.access_export_job(user=_caller(request), job_id=reads.uuid_or_404(job_id))
        if job.status in (export.ExportStatus.ACCEPTED, export.ExportStatus.IN_PROGRESS):
            return Response(
                status=status.HTTP_202_ACCEPTED,
                headers={
                    "X-Progress": f"{job.status}: {job.resources_done} resources",
                    "Retry-After": "5",
                },
            )
        if job.status == export.ExportStatus.FAILED:
            return Response(operation_outcome(500, f"The export failed ({job.error})."), status=500)
        body = export.manifest(job=job, base_url=self.base_url(request))
        # The manifest is plain JSON, not a FHIR resource (Bulk Data spec).
        return Response(body, content_type="application/json")

    def delete(self, request: Request, job_id: str) -> Response:
        export.export_cancel(user=_caller(request), job_id=reads.uuid_or_404(job_id))
        return Response(status=status.HTTP_202_ACCEPTED)


class ExportFileApi(FhirApi):
    permission_classes = [has_role(Role.ADMIN)]

    def get(self, request: Request, job_id: str, name: str) -> FileResponse:  # type: ignore[override]
        found = export.export_file(
            user=_caller(request), job_id=reads.uuid_or_404(job_id), name=name
        )
        return FileResponse(found.path.open("rb"), content_type=NDJSON, as_attachment=False)


def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown paths under /fhir/: an OperationOutcome, not the REST error shape."""
    return JsonResponse(
        operation_outcome(404, "Unknown FHIR path or resource type."),
        status=404,
        content_type=FHIR_JSON,
    )
