"""Content negotiation: DRF's, with `?format=` (the format asked for by name) taken at its word."""

from __future__ import annotations

from collections.abc import Iterable

from django.http import Http404
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, except that an empty `?format=` is refused like any unknown format
    (404, DRF's answer to `?format=xml`) instead of being ignored. The schema lists the formats
    an operation offers (`?format=ics` for a visit's calendar file); a client that names none of
    them has a bug to be told about, not a JSON answer it did not ask for."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        if not format_suffix and request.query_params.get(self.settings.URL_FORMAT_OVERRIDE) == "":
            raise Http404("Unknown format.")
        chosen: tuple[BaseRenderer, str] = super().select_renderer(
            request, renderers, format_suffix
        )
        return chosen
