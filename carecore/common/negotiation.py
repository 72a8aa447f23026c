"""Content negotiation: DRF's, with `?format=` (the format asked for by name) taken at its word,
and its answer for an `Accept` header remembered."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.http import Http404
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

# DRF's answers by (Accept header, the view's renderer classes): (index of the renderer chosen,
# media type). The header is the client's to write, so only short ones are remembered, and at
# most so many (emptied when full): a few hundred KB at worst.
_CHOICES: dict[tuple[str, tuple[type[BaseRenderer], ...]], tuple[int, str]] = {}
_MOST_CHOICES = 1024
_LONGEST_REMEMBERED = 256


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, except that an empty `?format=` is refused like any unknown format
    (404, DRF's answer to `?format=xml`) instead of being ignored. The schema lists the formats
    an operation offers (`?format=ics` for a visit's calendar file); a client that names none of
    them has a bug to be told about, not a JSON answer it did not ask for.

    Without `?format=` or a format suffix, DRF's answer depends only on the Accept header and
    the renderers' classes (a renderer's media type and format are class attributes), and a
    client sends the same header on every request: DRF parses it and matches it against each
    renderer every time, about 1 % of an inbox request's CPU. The answer is remembered for each
    header (up to 256 characters; a longer one is DRF's every time) and set of renderer
    classes. A header no renderer serves is DRF's to refuse (`NotAcceptable`), every time."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        format_asked = request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        if not format_suffix and format_asked == "":
            raise Http404("Unknown format.")
        renderers = list(renderers)
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        if format_suffix or format_asked is not None or len(accept) > _LONGEST_REMEMBERED:
            return self._drf_choice(request, renderers, format_suffix)
        asked = (accept, tuple(map(type, renderers)))
        remembered = _CHOICES.get(asked)
        if remembered is None:
            renderer, media_type = self._drf_choice(request, renderers)
            if len(_CHOICES) >= _MOST_CHOICES:
                _CHOICES.clear()
            remembered = _CHOICES[asked] = (renderers.index(renderer), media_type)
        index, media_type = remembered
        return renderers[index], media_type

    def _drf_choice(
        self,
        request: Request,
        renderers: Sequence[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        chosen: tuple[BaseRenderer, str] = super().select_renderer(
            request, renderers, format_suffix
        )
        return chosen
