"""The `/api/schema/` view (apart from schema.py, which DRF imports while drf-spectacular's
views module is still loading)."""

from __future__ import annotations

import threading
from typing import Any

from django.utils import translation
from drf_spectacular.views import SpectacularAPIView
from rest_framework.request import Request
from rest_framework.response import Response


class SchemaView(SpectacularAPIView):
    """`/api/schema/`: generated once per process (per API version and language), by one thread.

    - The schema is derived from the code alone, and generating it costs a second or more of CPU:
      on a public endpoint, regenerating it for every request would let anyone keep the web
      processes busy for free.
    - drf-spectacular resolves its extensions' target classes lazily, on the first generation in
      a process, by assigning class attributes; two first requests at once (a threaded server
      just started) raced on them and one answered 500 (found by schemathesis running as five
      roles at once). The lock makes the first generation the only one.
    """

    _generation = threading.Lock()
    _generated: dict[tuple[str | None, str], dict[str, Any]] = {}

    def _get_schema_response(self, request: Request) -> Response:
        version = self.api_version or request.version or self._get_version_parameter(request)
        key = (version, translation.get_language() or "")
        with self._generation:
            if key not in self._generated:
                generator = self.generator_class(
                    urlconf=self.urlconf, api_version=version, patterns=self.patterns
                )
                self._generated[key] = generator.get_schema(
                    request=request, public=self.serve_public
                )
        filename = self._get_filename(request, version)
        return Response(
            data=self._generated[key],
            headers={"Content-Disposition": f'inline; filename="{filename}"'},
        )
