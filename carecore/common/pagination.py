"""Cursor pagination: `{"results": [...], "next": url|null, "previous": url|null}`.

Cursors are stable under concurrent inserts (keyset, not offset) and `page_size` is accepted on
every list, capped at CARECORE_MAX_PAGE_SIZE. A `page_size` that is not a positive whole number
written with the digits 0-9 is a 400 (DRF would quietly ignore it; int() would also read "٣",
"+5", " 5" or "5_0"); a cursor that is not one of ours is DRF's 404.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import operator
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, replace
from functools import partial, reduce
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, router
from django.db.models import Field, Model, Q, QuerySet
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.utils.urls import remove_query_param, replace_query_param

from .errors import ValidationFailed
from .fields import ASCII_DIGITS
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

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        refuse_an_empty_cursor(request, self.cursor_query_param)
        return super().decode_cursor(request)

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size  # type: ignore[return-value]
        digits = raw.lstrip("0")
        if not ASCII_DIGITS.fullmatch(raw) or not digits:
            raise ValidationFailed(fields={"page_size": ["Use a whole number from 1."]})
        # Longer than the cap is over it: int() never reads a thousand digits (it refuses
        # more than 4300, which was a 500).
        if len(digits) > len(str(self.max_page_size)):
            return self.max_page_size
        return min(int(digits), self.max_page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        cursor, page_size = super().get_schema_operation_parameters(view)
        page_size["description"] = (
            f"Items per page (default {self.page_size}); larger values are capped at "
            f"{self.max_page_size}."
        )
        page_size["schema"] = {"type": "integer", "minimum": 1}
        cursor["schema"] = {"type": "string", "minLength": 1}
        return [cursor, page_size]


def refuse_an_empty_cursor(request: Request, name: str) -> None:
    """`?cursor=` is a 400, as every empty query value is (docs/api.md): DRF's CursorPagination
    read it as no cursor, the first page, and a client that lost its cursor started over."""
    if request.query_params.get(name) == "":
        raise ValidationFailed(
            fields={name: ["Copy the cursor from `next` or `previous`, or leave it out."]}
        )


@dataclass(frozen=True)
class _KeyColumn:
    field: Field[Any, Any]
    descending: bool

    @property
    def name(self) -> str:
        return str(self.field.name)

    def value_of(self, row: Any) -> Any:
        return row[self.name] if isinstance(row, dict) else getattr(row, self.field.attname)

    def written(self, value: Any) -> Any:
        """The value as the cursor's JSON carries it."""
        if isinstance(value, datetime.datetime):
            return value.isoformat()
        if isinstance(value, uuid.UUID):
            return str(value)
        return value

    def read(self, written: Any) -> Any:
        """The value a cursor's JSON carries, or ValueError when it is not one this column holds
        as `written` writes it (a time without an offset could not be compared with the aware
        times the column holds)."""
        field = self.field
        if isinstance(field, models.BooleanField):
            if isinstance(written, bool):
                return written
        elif isinstance(field, models.IntegerField):
            if isinstance(written, int) and not isinstance(written, bool):
                return written
        elif isinstance(field, models.DateTimeField):
            if isinstance(written, str):
                value = datetime.datetime.fromisoformat(written)
                if value.utcoffset() is not None:
                    return value
        elif isinstance(field, models.UUIDField):
            if isinstance(written, str):
                return uuid.UUID(written)
        elif isinstance(field, models.CharField | models.TextField) and isinstance(written, str):
            return written
        raise ValueError(f"Not a value of {self.name}.")


_KEY_FIELD_TYPES = (
    models.BooleanField,
    models.IntegerField,
    models.DateTimeField,
    models.UUIDField,
    models.CharField,
    models.TextField,
)


@dataclass(frozen=True)
class _Keyset:
    """A decoded cursor: the page starts after `position` in the list's order, or with
    `backwards` before it; with no position, from the end (the last page)."""

    position: tuple[Any, ...] | None
    backwards: bool


class KeysetPagination(CursorPagination):
    """Cursor pagination on the list's whole `ordering` (a compound keyset), for a list whose
    first column repeats a value in long runs (a flag): DRF's CursorPagination keeps only the
    first column's value in its cursor and counts through a run of equal values by offset, which
    it caps at `offset_cutoff` (1000), so past a thousand equal values every `next` answered
    the same page and the rest of the list could not be reached.

    Each cursor carries the values of every ordering column of the row it follows (or precedes,
    for `previous`), and a page is the rows strictly after that row in the order: each page is
    one query whatever its depth, and rows added or removed meanwhile make no page skip or repeat
    one. `ordering` names concrete, non-null columns of the model, each ascending or descending
    (mixed directions allowed), the last one unique (the primary key), so every row has its own
    position. A cursor that does not decode, or whose values are not values of those columns
    (a time without an offset, an id that is no id), is an unknown cursor: 404.

    Like DRF's, a page reached by `next` has a `previous` link (and one reached by `previous` a
    `next` link) without a query to check that rows are still there; following it when they are
    not gives an empty page whose link leads to the list's first (or last) page."""

    def paginate_queryset(
        self, queryset: Any, request: Request, view: Any = None
    ) -> list[Any] | None:
        if not isinstance(queryset, QuerySet):
            raise TypeError("KeysetPagination pages a QuerySet.")
        self._base_url = request.build_absolute_uri()
        self.page_size = self.get_page_size(request)
        self._columns = _key_columns(queryset.model, self.ordering)
        keyset = self._read_keyset(request) or _Keyset(position=None, backwards=False)
        backwards = keyset.backwards
        # Backwards: the order reversed, read from the cursor on, and the page turned round.
        rows = queryset.order_by(
            *(
                ("-" if column.descending != backwards else "") + column.name
                for column in self._columns
            )
        )
        if keyset.position is not None:
            rows = rows.filter(_beyond(self._columns, keyset.position, backwards=backwards))
        # One row more than the page says whether the list goes on past it.
        fetched = list(rows[: self.page_size + 1])
        goes_on = len(fetched) > self.page_size
        page = fetched[: self.page_size]
        if backwards:
            page.reverse()
        first = self._position(page[0]) if page else None
        last = self._position(page[-1]) if page else None
        self._next_url: str | None = None
        self._previous_url: str | None = None
        if not backwards:
            if goes_on:
                self._next_url = self._url(_Keyset(last, backwards=False))
            if keyset.position is not None:
                # The rows before the page's first; past the end (an empty page), with no
                # position: the last page, as every row is before.
                self._previous_url = self._url(_Keyset(first, backwards=True))
        else:
            if goes_on:
                self._previous_url = self._url(_Keyset(first, backwards=True))
            if keyset.position is not None:
                # The rows after the page's last; before the start (an empty page): the list
                # from its start, without a cursor.
                self._next_url = self._url(_Keyset(last, backwards=False) if page else None)
        return page

    def get_next_link(self) -> str | None:
        return self._next_url

    def get_previous_link(self) -> str | None:
        return self._previous_url

    def _position(self, row: Any) -> tuple[Any, ...]:
        return tuple(column.value_of(row) for column in self._columns)

    def _url(self, keyset: _Keyset | None) -> str:
        if keyset is None:
            return remove_query_param(self._base_url, self.cursor_query_param)
        position = keyset.position
        cursor = {
            "p": None
            if position is None
            else [
                column.written(value) for column, value in zip(self._columns, position, strict=True)
            ],
            "r": keyset.backwards,
        }
        token = base64.urlsafe_b64encode(json.dumps(cursor, separators=(",", ":")).encode())
        return replace_query_param(self._base_url, self.cursor_query_param, token.decode())

    def _read_keyset(self, request: Request) -> _Keyset | None:
        refuse_an_empty_cursor(request, self.cursor_query_param)
        token = request.query_params.get(self.cursor_query_param)
        if token is None:
            return None
        try:
            cursor = json.loads(base64.urlsafe_b64decode(token.encode()))
            if not isinstance(cursor, dict) or set(cursor) != {"p", "r"}:
                raise ValueError("Not a cursor.")
            written, backwards = cursor["p"], cursor["r"]
            if not isinstance(backwards, bool):
                raise ValueError("Not a direction.")
            if written is None:
                return _Keyset(position=None, backwards=backwards)
            if not isinstance(written, list) or len(written) != len(self._columns):
                raise ValueError("Not a position.")
            position = tuple(
                column.read(value) for column, value in zip(self._columns, written, strict=True)
            )
        # RecursionError: JSON nested deeper than the parser goes.
        except (ValueError, TypeError, binascii.Error, RecursionError):
            raise NotFound(self.invalid_cursor_message) from None
        return _Keyset(position=position, backwards=backwards)


def _key_columns(model: type[Model], ordering: tuple[str, ...]) -> list[_KeyColumn]:
    columns = []
    for term in ordering:
        field = model._meta.get_field(term.lstrip("-"))
        if not isinstance(field, _KEY_FIELD_TYPES) or field.null or field.is_relation:
            raise TypeError(f"KeysetPagination orders by non-null plain columns, not {term!r}.")
        columns.append(_KeyColumn(field=field, descending=term.startswith("-")))
    if not columns or not (columns[-1].field.unique or columns[-1].field.primary_key):
        raise TypeError("KeysetPagination's ordering ends with a unique column.")
    return columns


def _beyond(columns: list[_KeyColumn], position: tuple[Any, ...], *, backwards: bool) -> Q:
    """The rows after `position` in the order of `columns` (before it, `backwards`): each
    column's later values, where every column before it ties. The first column's bound, which
    every such row meets, is repeated on its own so the planner can seek to it in an index."""
    later_rows = []
    ties = Q()
    for column, value in zip(columns, position, strict=True):
        later = "lt" if column.descending != backwards else "gt"
        later_rows.append(ties & Q(**{f"{column.name}__{later}": value}))
        ties &= Q(**{column.name: value})
    first = columns[0]
    bound = "lte" if first.descending != backwards else "gte"
    return Q(**{f"{first.name}__{bound}": position[0]}) & reduce(operator.or_, later_rows)


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
