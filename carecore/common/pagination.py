"""Cursor pagination: `{"results": [...], "next": url|null, "previous": url|null}`.

Cursors are stable under concurrent inserts (keyset, not offset) and `page_size` is accepted on
every list, capped at CARECORE_MAX_PAGE_SIZE. A `page_size` that is not a positive whole number
is a 400 (DRF would quietly ignore it); a cursor that is not one of ours is DRF's 404.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import pagination
from rest_framework.request import Request

from .errors import ValidationFailed


class CursorPagination(pagination.CursorPagination):
    page_size_query_param = "page_size"
    # Views set `ordering`; a unique tail keeps cursors stable when timestamps tie.
    ordering = ("-created_at", "-id")
    cursor_query_description = (
        "Opaque; copy it from `next` or `previous`. An unknown cursor answers 404."
    )

    @property
    def max_page_size(self) -> int:  # type: ignore[override]
        return int(settings.CARECORE_MAX_PAGE_SIZE)

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size  # type: ignore[return-value]
        if not raw.isdigit() or int(raw) < 1:
            raise ValidationFailed(fields={"page_size": ["Use a whole number from 1."]})
        return min(int(raw), self.max_page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        cursor, page_size = super().get_schema_operation_parameters(view)
        page_size["description"] = (
            f"Items per page (default {self.page_size}); larger values are capped at "
            f"{self.max_page_size}."
        )
        page_size["schema"] = {"type": "integer", "minimum": 1}
        return [cursor, page_size]
