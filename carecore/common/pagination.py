"""Cursor pagination: `{"results": [...], "next": url|null, "previous": url|null}`.

Cursors are stable under concurrent inserts (keyset, not offset) and `page_size` is accepted on
every list, capped at CARECORE_MAX_PAGE_SIZE.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    page_size_query_param = "page_size"
    # Views set `ordering`; a unique tail keeps cursors stable when timestamps tie.
    ordering: tuple[str, ...] = ("-created_at", "-id")

    @property
    def max_page_size(self) -> int:  # type: ignore[override]
        return int(settings.CARECORE_MAX_PAGE_SIZE)
