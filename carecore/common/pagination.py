"""Cursor pagination: `{"results": [...], "next": url|null, "previous": url|null}`.

Cursors are stable under concurrent inserts (keyset, not offset) and `page_size` is accepted on
every list, capped at CARECORE_MAX_PAGE_SIZE. A `page_size` that is not a positive whole number
is a 400 (DRF would quietly ignore it); a cursor that is not one of ours is DRF's 404.
"""

from __future__ import annotations

import datetime
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import router
from django.db.models import Field, Model, QuerySet
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from .errors import ValidationFailed
from .queries import CompiledOnce, planned_on_every_run

_Result = TypeVar("_Result")


class CursorPagination(pagination.CursorPagination):
    page_size_query_param = "page_size"
    # Views set `ordering`; a unique tail keeps cursors stable when timestamps tie.
    ordering: tuple[str, ...] = ("-created_at", "-id")
    cursor_query_description = (
        "Opaque; copy it from `next` or `previous`. An unknown cursor answers 404."
    )

    @property
    def max_page_size(self) -> int:  # type: ignore[override]
        return int(settings.CARECORE_MAX_PAGE_SIZE)

    def paginate_queryset(
        self, queryset: Any, request: Request, view: Any = None
    ) -> list[Any] | None:
        self._refuse_a_foreign_position(queryset, request, view)
        return super().paginate_queryset(queryset, request, view)

    def _refuse_a_foreign_position(self, queryset: Any, request: Request, view: Any) -> None:
        """A cursor is base64 anyone can write: one whose position is not a value of the ordering's
        column (a time that is no time, say) is as unknown as one that does not decode, a 404.
        Django would raise on it when filtering (a 500)."""
        cursor = self.decode_cursor(request)  # DRF's 404 for one that does not decode
        if cursor is None or cursor.position is None:
            return
        column = queryset.model._meta.get_field(
            self.get_ordering(request, queryset, view)[0].lstrip("-")
        )
        try:
            column.get_prep_value(cursor.position)
        except (ValidationError, TypeError, ValueError):
            raise NotFound(self.invalid_cursor_message) from None

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


@dataclass(frozen=True)
class PageShape:
    """What CursorPagination adds to a list query: its order, a bound on the ordering's first
    column (`last_message_at__lt`, say, and the kind of its value: the value is bound, not part
    of the shape), and the slice, which Django writes into the SQL as numbers."""

    ordering: tuple[str, ...] = ()
    position_lookup: str | None = None
    position_kind: type | None = None
    offset: int = 0
    limit: int | None = None


class CompiledPages(Generic[_Result]):
    """A list query for DRF's CursorPagination whose SQL depends on a few choices besides its
    values (which filters apply, the viewer's kind): one CompiledOnce per choice of those (the
    list's `shape`, any hashable) and page shape, made when first asked for.

    `build(shape, **values)` makes the list's queryset of `model`, unordered and unsliced;
    `kinds(shape)` names the values that shape takes. `rows(shape, **values)` answers a
    `PagedRows` for the paginator. At most MAX_SHAPES compiled queries are kept per list, the
    least recently used forgotten: the slice's numbers are part of the SQL, and a client
    choosing page sizes and offsets must not grow a process's memory without bound.

    Pages are planned for their parameters on every run (`planned_on_every_run`) unless
    `planned_per_run` is False: then psycopg prepares a page's statement as any other, and
    PostgreSQL may run it on a generic plan. Only for a list whose every plan reads the same
    rows, its groups all short (a patient's threads): planning an inbox page cost PostgreSQL
    more than running it (docs/benchmarks.md).

    Why: building and compiling a staff member's inbox query (its filters, the read-state join
    and unread arithmetic, the people's names) cost about a quarter of the inbox's web CPU
    (docs/benchmarks.md)."""

    MAX_SHAPES = 128

    def __init__(
        self,
        model: type[Model],
        build: Callable[..., QuerySet[Any, _Result]],
        kinds: Callable[[Any], dict[str, type]],
        *,
        planned_per_run: bool = True,
    ) -> None:
        self.model = model
        self._build = build
        self._kinds = kinds
        self.planned_per_run = planned_per_run
        self._compiled: OrderedDict[tuple[Any, PageShape], CompiledOnce[_Result]] = OrderedDict()
        self._lock = threading.Lock()

    def rows(self, shape: Hashable, **values: Any) -> PagedRows[_Result]:
        return PagedRows(self, shape, PageShape(), values)

    def compiled_once(self, shape: Hashable, page: PageShape) -> CompiledOnce[_Result]:
        key = (shape, page)
        with self._lock:
            found = self._compiled.get(key)
            if found is None:
                build = partial(self._paged, shape, page)
                found = CompiledOnce(build, **self._page_kinds(shape, page))
                self._compiled[key] = found
                if len(self._compiled) > self.MAX_SHAPES:
                    self._compiled.popitem(last=False)
            else:
                self._compiled.move_to_end(key)
            return found

    def _page_kinds(self, shape: Hashable, page: PageShape) -> dict[str, type]:
        kinds = dict(self._kinds(shape))
        if _POSITION in kinds:
            raise ValueError(f"A CompiledPages list cannot name a value {_POSITION!r}.")
        if page.position_kind is not None:
            kinds[_POSITION] = page.position_kind
        return kinds

    def _paged(self, shape: Hashable, page: PageShape, **values: Any) -> QuerySet[Any, _Result]:
        position = values.pop(_POSITION, None)
        rows = self._build(shape, **values).order_by(*page.ordering)
        if page.position_lookup is not None:
            rows = rows.filter(**{page.position_lookup: position})
        end = None if page.limit is None else page.offset + page.limit
        return rows[page.offset : end]


# The name the cursor's position is bound under (PageShape.position_lookup's value), beside the
# list's own values: no list may name one of its values so.
_POSITION = "cursor_position"


class PagedRows(Generic[_Result]):
    """What DRF's CursorPagination asks of a queryset, for a `CompiledPages` list: `order_by`,
    one `filter` on the ordering's first column (a datetime or an integer), a slice, then its
    rows. Each step answers a new PagedRows; reading runs the shape's CompiledOnce, planned for
    its parameters (`planned_on_every_run`, as every list page is: carecore/audit/lists.py)
    unless its CompiledPages says otherwise."""

    def __init__(
        self,
        pages: CompiledPages[_Result],
        shape: Hashable,
        page: PageShape,
        values: dict[str, Any],
    ) -> None:
        self._pages = pages
        self._shape = shape
        self._page = page
        self._values = values

    @property
    def model(self) -> type[Model]:
        return self._pages.model

    def order_by(self, *ordering: str) -> PagedRows[_Result]:
        return self._with(replace(self._page, ordering=ordering))

    def filter(self, **lookup: Any) -> PagedRows[_Result]:
        if len(lookup) != 1 or self._page.position_lookup is not None:
            raise TypeError("PagedRows takes one filter: the cursor's position.")
        ((name, position),) = lookup.items()
        column = self.model._meta.get_field(name.split("__", 1)[0])
        if not isinstance(column, Field):
            raise TypeError("PagedRows pages by a column of its model.")
        try:  # as Django's lookup reads the cursor's text: an ISO 8601 time, a number
            value = column.get_prep_value(position)
        except (ValidationError, TypeError, ValueError):
            raise NotFound(pagination.CursorPagination.invalid_cursor_message) from None
        if type(value) not in (datetime.datetime, int):
            raise TypeError("PagedRows pages by a datetime or an integer column.")
        page = replace(self._page, position_lookup=name, position_kind=type(value))
        return self._with(page, **{_POSITION: value})

    def __getitem__(self, bounds: slice) -> PagedRows[_Result]:
        if not isinstance(bounds, slice) or bounds.step is not None or self._page.limit is not None:
            raise TypeError("PagedRows takes one slice [start:stop].")
        offset = bounds.start or 0
        limit = None if bounds.stop is None else bounds.stop - offset
        return self._with(replace(self._page, offset=offset, limit=limit))

    def __iter__(self) -> Iterator[_Result]:
        compiled = self._pages.compiled_once(self._shape, self._page)
        if not self._pages.planned_per_run:
            return iter(compiled.run(**self._values))
        using = router.db_for_read(self._pages.model)
        with planned_on_every_run(using):
            return iter(compiled.run(**self._values))

    def sql_with_params(self) -> tuple[str, tuple[Any, ...]]:
        """The SQL and parameters reading would run (as a QuerySet's `query.sql_with_params()`;
        for EXPLAIN in benchmarks)."""
        compiled = self._pages.compiled_once(self._shape, self._page)
        using = router.db_for_read(self._pages.model)
        sql, params = compiled.compiler(using, self._values).as_sql()
        return sql, tuple(params)

    def _with(self, page: PageShape, **values: Any) -> PagedRows[_Result]:
        return PagedRows(self._pages, self._shape, page, {**self._values, **values})
