"""JSON answers written by orjson (docs/dependencies.md): what DRF's JSONRenderer writes with our
settings, byte for byte but for how a float is spelled (1e-7 for 1e-07, the same number).

DRF's JSONRenderer writes with the standard library's `json`; for an inbox page (~35 KB, 50
threads) that took 140 us, orjson takes 8 (docs/benchmarks.md). The output is the same: compact
separators, UTF-8 rather than `\\u` escapes (DRF's UNICODE_JSON), keys in their order, U+2028
and U+2029 escaped as DRF escapes them, and every value orjson does not write natively (dates
and times, decimals, lazy translations, ...) handed to DRF's own encoder. What it would write
differently is left to DRF's renderer: an indented answer (`Accept: application/json;
indent=4`), settings other than DRF's defaults, and a value orjson refuses (an integer beyond 64
bits). One difference is kept: a float that is not a number (NaN, infinity), which DRF refused
with an error, is written as `null`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework.renderers import BaseRenderer, JSONRenderer

# Values orjson does not write the way DRF's encoder does go to that encoder: datetimes (DRF
# writes UTC as "Z"), and keys that are not strings are written as strings, as `json` does.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS
_LINE_SEPARATOR = "\u2028".encode()
_PARAGRAPH_SEPARATOR = "\u2029".encode()


class OrjsonRenderer(JSONRenderer):
    """DRF's JSONRenderer, writing with orjson where the bytes are the same."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        if not self._writes_like_drf(accepted_media_type, renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            rendered = orjson.dumps(data, default=self.encoder_class().default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        return rendered.replace(_LINE_SEPARATOR, b"\\u2028").replace(
            _PARAGRAPH_SEPARATOR, b"\\u2029"
        )

    def _writes_like_drf(
        self, accepted_media_type: str | None, renderer_context: Mapping[str, Any]
    ) -> bool:
        plain = self.compact and not self.ensure_ascii
        return plain and self.get_indent(accepted_media_type or "", renderer_context) is None


# --- files ---------------------------------------------------------------------------------------


class FileRenderer(BaseRenderer):
    """A media type a view answers with a file it sends itself (an HttpResponse, which DRF passes
    on unrendered), so that a client may ask for the file in its own type (`Accept: image/png`)
    instead of DRF answering 406 for want of a renderer. Subclasses name the media type. DRF only
    renders Responses, and such a view's only Responses are errors, which it sends as JSON
    (carecore/common/downloads.py); bytes are written as they are in case one ever reaches here."""

    charset = None

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return data if isinstance(data, bytes) else b""
