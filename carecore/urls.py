"""Top-level URLs. Apps mount their API under /api/v1/; anything unknown is a JSON 404."""

from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularSwaggerSplitView

from carecore.common import errors, health
from carecore.common.schema_view import SchemaView

# Messaging first: its paths are the hot ones (the inbox, a thread's page, a send), and for each
# include a path does not match Django records every pattern it tried (for the 404 page), which
# cost a thread request about 4 % of its CPU behind seven other apps. No two apps share a path.
api_v1 = [
    path("", include("messaging.urls")),
    path("", include("carecore.accounts.urls")),
    path("", include("carecore.audit.urls")),
    path("", include("intake.urls")),
    path("", include("careplans.urls")),
    path("", include("portal.urls")),
    path("", include("carecore.notifications.urls")),
    path("", include("carecore.realtime.urls")),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script, so the
    # strict Content-Security-Policy holds on the docs page too.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    # FHIR R4 under /fhir/R4/; interop.urls also answers unknown /fhir/ paths (OperationOutcome).
    path("fhir/", include("interop.urls")),
    # Unknown API paths answer in the contract's JSON shape, even with DEBUG on.
    # (csrf_exempt: an unknown path is a 404 whatever the method, never a CSRF 403.)
    re_path(r"^(api|fhir)/", csrf_exempt(errors.handler404)),
    # The care-team workspace's pages (staff_web/).
    path("staff/", include("staff_web.urls")),
    # Pre-visit notifications linked to /visits/<id>/summary/ before the workspace existed.
    path("", include("staff_web.moved_urls")),
    # The patient portal's pages (patient_web/), at the root: the paths e-mails link to.
    path("", include("patient_web.urls")),
]

handler400 = "carecore.common.errors.handler400"
handler403 = "carecore.common.errors.handler403"
handler404 = "carecore.common.errors.handler404"
handler500 = "carecore.common.errors.handler500"
