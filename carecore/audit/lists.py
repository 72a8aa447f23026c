"""The one way an API renders a list of patient data: paginate, audit the rows shown, serialize.

A request that shows rows writes one LIST audit event per patient shown, naming every row of that
patient in `detail["object_ids"]` (`audit_record_list`), all in one INSERT: a thread page of 50
messages is one event, and a list's query count stays flat with the page size (the query-count
pins in the tests rely on it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast
from uuid import UUID

from django.core.paginator import Page
from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from carecore.common.pagination import PagedRows
from carecore.common.queries import planned_on_every_run

# For views whose list is read after an access check (a thread page): both events in one INSERT.
from .services import audit_batch as audit_batch  # re-exported for views
from .services import audit_record_list


def _object_id(row: Any) -> Any:
    # Rows are model instances, or plain rows of `values()` (which name the primary key "id").
    return row["id"] if isinstance(row, dict) else row.pk


def _patient_id(row: Any) -> UUID | None:
    patient_id: UUID | None = row["patient_id"] if isinstance(row, dict) else row.patient_id
    return patient_id


def _read(
    read: Callable[[], list[Any] | None], rows: QuerySet[Any] | Sequence[Any] | PagedRows[Any]
) -> list[Any]:
    """The page `read` returns, its queries planned for their parameters when `rows` is a
    queryset (`planned_on_every_run`: a list's generic plan can read and sort a whole group;
    PagedRows plans its own the same way)."""
    if not isinstance(rows, QuerySet):
        return read() or []
    with planned_on_every_run(rows.db):
        return read() or []


def audited_list_response(
    *,
    request: Request,
    view: APIView,
    rows: QuerySet[Any] | Sequence[Any] | PagedRows[Any],
    pagination_class: type[BasePagination],
    object_type: str,
    serializer_class: type[serializers.BaseSerializer[Any]] | None = None,
    render_page: Callable[[list[Any]], list[dict[str, Any]]] | None = None,
    patient_id_of: Callable[[Any], UUID | None] = _patient_id,
    context: dict[str, Any] | None = None,
) -> Response:
    """The paginated response for `rows` (a queryset, or a compiled list's PagedRows, from a
    selector that already narrowed them to what the caller may see), with the rows shown
    audited (`audit_record_list`).

    The page is rendered by `serializer_class` (many, with `context`), or by `render_page`, for
    a hot list whose rows a serializer would render too slowly (it loads what it needs of the
    page itself, e.g. attachments)."""
    render = render_page or _rendered_by(serializer_class, context or {})
    paginator = pagination_class()
    # PagedRows answers what the paginator asks of a queryset (order_by, filter, a slice).
    queryset = cast("QuerySet[Any] | Sequence[Any]", rows)
    page: list[Any] = _read(lambda: paginator.paginate_queryset(queryset, request, view=view), rows)
    audit_record_list(
        actor=request.user,  # type: ignore[arg-type]
        object_type=object_type,
        rows=[(_object_id(row), patient_id_of(row)) for row in page],
    )
    return paginator.get_paginated_response(render(page))


def _rendered_by(
    serializer_class: type[serializers.BaseSerializer[Any]] | None, context: dict[str, Any]
) -> Callable[[list[Any]], Any]:
    if serializer_class is None:
        raise TypeError("A list is rendered by a serializer_class or a render_page.")
    return lambda page: serializer_class(page, many=True, context=context).data


def audited_rows(
    *,
    user: Any,
    rows: QuerySet[Any] | Sequence[Any],
    object_type: str,
    patient_id_of: Callable[[Any], UUID | None] = _patient_id,
    detail: dict[str, Any] | None = None,
) -> list[Any]:
    """The rows a web page shows (already narrowed by a selector and cut to what is shown),
    audited exactly as `audited_list_response` audits an API page. `detail` goes into each
    event next to `object_ids` (e.g. the basis a read was allowed on)."""
    shown = _read(lambda: list(rows), rows)
    audit_record_list(
        actor=user,
        object_type=object_type,
        rows=[(_object_id(row), patient_id_of(row)) for row in shown],
        detail=detail,
    )
    return shown


def audited_page(*, user: Any, page: Page[Any], object_type: str) -> list[Any]:
    """`audited_rows` for a page of Django's `Paginator`: its rows read from its still unread
    slice of the queryset (so planned for their parameters, as every list page is), audited, and
    kept on the page, which then does not read them again."""
    # A Paginator pages a queryset or a list; its page holds a slice of the same.
    rows = cast("QuerySet[Any] | Sequence[Any]", page.object_list)
    shown = audited_rows(user=user, rows=rows, object_type=object_type)
    page.object_list = shown
    return shown
