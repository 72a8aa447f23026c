"""Views that answer a file (an attachment): a client may ask for the file's own type, errors
stay JSON in the contract's shape, and an Accept header that admits only other types is a 406
(docs/api.md, "Sending files")."""

from __future__ import annotations

from django.utils.http import parse_header_parameters
from rest_framework.exceptions import NotAcceptable
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.mediatypes import media_type_matches
from rest_framework.views import APIView

from .renderers import OrjsonRenderer


class FileDownloadApi(APIView):
    """A view that answers a file: its errors leave as JSON in the contract's shape whatever the
    client asked for (a 404 to `Accept: image/png` is not an image), and
    `refuse_unless_accepted` answers 406 when the Accept header admits other types but not the
    file's own. Subclasses list JSON first, then a FileRenderer for each type they serve."""

    def handle_exception(self, exc: Exception) -> Response:
        self.request.accepted_renderer = OrjsonRenderer()
        self.request.accepted_media_type = OrjsonRenderer.media_type
        return super().handle_exception(exc)

    def refuse_unless_accepted(self, media_type: str) -> None:
        """406 unless the client takes `media_type`: by `?format=` when given (DRF's negotiation
        has then chosen that format's renderer), else by the Accept header."""
        if self.request.query_params.get(api_settings.URL_FORMAT_OVERRIDE) is not None:
            taken = self.request.accepted_renderer.media_type == media_type
        else:
            taken = accepts(self.request, media_type)
        if not taken:
            raise NotAcceptable(
                f"This file is {media_type}: ask for it with Accept: {media_type} (or */*)."
            )


def accepts(request: Request, media_type: str) -> bool:
    """Whether the request's Accept header admits `media_type`: no header (or an empty one)
    admits anything; otherwise one of its ranges must match it (`*/*`, `image/*`, the type
    itself) as DRF's negotiation matches them, and a range weighted `q=0` admits nothing."""
    header = request.META.get("HTTP_ACCEPT", "").strip()
    if not header:
        return True
    for token in header.split(","):
        _range, params = parse_header_parameters(token.strip())
        if _is_zero(params.get("q")):
            continue
        if media_type_matches(media_type, token.strip()):
            return True
    return False


def _is_zero(weight: str | None) -> bool:
    try:
        return weight is not None and float(weight) == 0
    except ValueError:
        return False
