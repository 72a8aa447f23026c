"""Small query helpers for the hot paths."""

from __future__ import annotations

import datetime
import secrets
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, TypeVar, cast

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Lookup, Model, QuerySet
from django.db.models.query import (
    BaseIterable,
    FlatValuesListIterable,
    ModelIterable,
    ValuesIterable,
)
from django.db.models.sql.compiler import SQLCompiler

_Row = TypeVar("_Row", bound=Model)
_Result = TypeVar("_Result")


def by_primary_key(queryset: QuerySet[_Row], pk: object) -> _Row | None:
    """The row of `queryset` with primary key `pk`, or None.

    `.first()` would add `ORDER BY pk` to a query that can match one row at most; compiling that
    ordering was a measurable part of a send, whose access check and lock each read one row."""
    rows = list(by_primary_key_query(queryset, pk))
    return rows[0] if rows else None


def by_primary_key_query(queryset: QuerySet[_Row], pk: object) -> QuerySet[_Row]:
    """The query `by_primary_key` runs."""
    return queryset.filter(pk=pk).order_by()[:1]


@contextmanager
def planned_on_every_run(using: str) -> Iterator[None]:
    """Queries on `using`'s connection in this block are planned for their parameters on every
    run: psycopg does not prepare them (settings: `prepare_threshold`).

    A prepared statement soon runs on a generic plan, made for any parameters from average
    statistics. For a key look-up that is the plan anyway. For a page of a list, "one patient's
    or one thread's rows, in order, the first 51", the average group is small, so the generic
    plan reads every row of the group and sorts them: fine for a short thread, a full read of a
    long one on every page (tests/common/test_queries.py). Planned for the parameters, the same
    query reads the page from an index and stops."""
    connection = connections[using]
    connection.ensure_connection()
    driver = connection.connection
    threshold = driver.prepare_threshold
    driver.prepare_threshold = None
    try:
        yield
    finally:
        driver.prepare_threshold = threshold


class AnyOf(Lookup):
    """`column__any=values`: `column = ANY(%s::type[])`, the values as one array parameter;
    or `column__any=ArraySubquery(...)`: `column = ANY(ARRAY(SELECT ...))`.

    `column__in=values` sends one parameter per value, so the statement's text changes with
    their number, and psycopg converts and caches a statement of at most 50 parameters: a staff
    member's inbox filtered by their ~50 patients was re-parsed by psycopg, and each id adapted
    by Django and psycopg apart, on every request (docs/benchmarks.md). PostgreSQL reads
    `= ANY(array)` through the same index as `IN`. Registered on every field (CommonConfig)."""

    lookup_name = "any"

    def get_prep_lookup(self) -> Any:
        if hasattr(self.rhs, "resolve_expression"):
            return self.rhs
        prepare = self.lhs.output_field.get_prep_value
        return [prepare(value) for value in self.rhs]

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        column, params = self.process_lhs(compiler, connection)
        if hasattr(self.rhs, "resolve_expression"):
            # An array the query makes itself (`ArraySubquery`): computed once per run of the
            # query, then read through the column's index as a list sent as a parameter is.
            array, array_params = compiler.compile(self.rhs)
            return f"{column} = ANY({array})", (*params, *array_params)
        # The array's type from the column's: an empty list has no type of its own.
        array_type = self.lhs.output_field.db_type(connection)
        return f"{column} = ANY(%s::{array_type}[])", (*params, list(self.rhs))


class CompiledOnce(Generic[_Result]):
    """A query whose SQL is the same on every run but for its values, compiled by Django once per
    process and database, then only bound to each run's values; rows come back through Django's
    own iterables, as model instances (`select_related` included), as dicts for `values()` or,
    for `values_list(..., flat=True)`, as values.

    `build` makes the queryset from keyword values; `kinds` names each value's Python type
    (str, int, UUID, datetime, or list for a list of UUIDs sent as one array parameter by
    `__any`). The first run builds it with a unique stand-in for each value and finds where the
    stand-ins land among the compiled parameters. A value that changes the SQL itself (None, a
    list given to `__in`) has no place here: `run` refuses None, a value that does not reach the
    parameters unchanged is refused when compiling, and with
    settings.CARECORE_VERIFY_COMPILED_QUERIES (on in the test suite) every run is also compiled
    afresh and must give the same SQL and parameters.

    Why: Django compiles a queryset on every run, and for the bearer token's look-up (the token,
    its user and the user's patient row, on every API request) compiling cost about as much as
    the rest of the look-up (docs/benchmarks.md).
    """

    def __init__(self, build: Callable[..., QuerySet[Any, _Result]], **kinds: type) -> None:
        unknown = {kind for kind in kinds.values() if kind not in _STAND_IN_OF}
        if unknown:
            raise TypeError(
                f"CompiledOnce takes str, int, UUID, datetime and list values, not {unknown}."
            )
        self._build = build
        self._kinds = kinds
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    @property
    def kinds(self) -> dict[str, type]:
        """The values each run takes, by name, with their types."""
        return self._kinds

    @property
    def model(self) -> type[Model]:
        return self._shape[0]

    @cached_property
    def _shape(self) -> tuple[type[Model], type[BaseIterable]]:
        """The queryset's model and how its rows are read. Not at construction: a module-level
        CompiledOnce may be made before the app registry is ready, and building a queryset
        needs it."""
        queryset = self._build(**_stand_ins(self._kinds))
        if queryset._iterable_class not in _READABLE:
            raise TypeError(
                "CompiledOnce reads model instances, values() or values_list(..., flat=True)."
            )
        return queryset.model, queryset._iterable_class

    def run(self, **values: Any) -> list[_Result]:
        if set(values) != set(self._kinds) or any(value is None for value in values.values()):
            raise ValueError(f"CompiledOnce needs a value for each of {sorted(self._kinds)}.")
        model, iterable_class = self._shape
        # The router picks the database as for any queryset (replicas, pinning after a write).
        queryset: QuerySet[Any, Any] = QuerySet(
            model=model,
            query=_Bound(self, values),  # type: ignore[arg-type]  # all those iterables ask of it
        )
        # The iterables iterate (django-stubs' BaseIterable does not say so).
        return list(cast("Iterable[_Result]", iterable_class(queryset)))

    def compiler(self, using: str, values: dict[str, Any]) -> SQLCompiler:
        compiled = self.compiled(using)
        params = list(compiled.params)
        for index, name, wrap in compiled.slots:
            params[index] = values[name] if wrap is None else wrap(values[name])
        bound = _BoundCompiler(compiled, tuple(params))
        if settings.CARECORE_VERIFY_COMPILED_QUERIES:
            fresh = self._build(**values).query.get_compiler(using=using).as_sql()
            same_types = [type(param) for param in fresh[1]] == [type(param) for param in params]
            if fresh != (compiled.sql, tuple(params)) or not same_types:
                raise AssertionError(f"CompiledOnce: the SQL changed with the values: {fresh[0]}")
        return bound

    def compiled(self, using: str) -> _Compiled:
        return self._compiled.get(using) or self._compile(using)

    def _compile(self, using: str) -> _Compiled:
        with self._lock:
            if using not in self._compiled:
                stand_ins = _stand_ins(self._kinds)
                compiler = self._build(**stand_ins).query.get_compiler(using=using)
                sql, params = compiler.as_sql()
                slots = [
                    (index, name, _wrapper(param, stand_in))
                    for index, param in enumerate(params)
                    for name, stand_in in stand_ins.items()
                    if isinstance(param, type(stand_in)) and param == stand_in
                ]
                if {name for _, name, _ in slots} != set(stand_ins):
                    raise ValueError("CompiledOnce: a value did not reach the SQL unchanged.")
                self._compiled[using] = _Compiled(compiler, sql, tuple(params), tuple(slots))
            return self._compiled[using]


@dataclass(frozen=True)
class _Compiled:
    compiler: SQLCompiler  # its select, klass_info, ... describe the rows; never run again
    sql: str
    params: tuple[Any, ...]
    # (parameter index, value name, what wraps the value there, if anything)
    slots: tuple[tuple[int, str, Callable[[Any], Any] | None], ...]
    # What turns each column's value into Python (`SQLCompiler.get_converters`) for the rows'
    # expressions, per thread's connection (a converter may be one of its methods).
    converters: weakref.WeakKeyDictionary[BaseDatabaseWrapper, dict[int, Any]] = field(
        default_factory=weakref.WeakKeyDictionary
    )


def _wrapper(param: Any, stand_in: Any) -> Callable[[Any], Any] | None:
    """What Django wrapped a value in on its way to the parameters: nothing, or a subclass of the
    value's type (psycopg's `Int4` for an integer column's value), which each run's value gets
    too."""
    return None if type(param) is type(stand_in) else type(param)


_READABLE = (ModelIterable, ValuesIterable, FlatValuesListIterable)

# A value no run will pass, for each kind of value a CompiledOnce takes.
_STAND_IN_OF: dict[type, Callable[[], Any]] = {
    str: lambda: f"stand-in-{uuid.uuid4().hex}",
    # Within a 4-byte integer column's range: past it, Django answers a comparison without SQL
    # (it cannot match), and the stand-in never reaches the parameters.
    int: lambda: 2**20 + secrets.randbelow(2**31 - 2**21),
    uuid.UUID: uuid.uuid4,
    list: lambda: [uuid.uuid4()],
    datetime.datetime: lambda: (
        datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
        + datetime.timedelta(microseconds=secrets.randbits(48))
    ),
}


def _stand_ins(kinds: dict[str, type]) -> dict[str, Any]:
    return {name: _STAND_IN_OF[kind]() for name, kind in kinds.items()}


class _Bound:
    """What a QuerySet needs of its query to be read by Django's iterables: a compiler, and for
    ValuesIterable the names of the selected columns, read from the compiled query."""

    def __init__(self, compiled_once: CompiledOnce[Any], values: dict[str, Any]) -> None:
        self._compiled_once = compiled_once
        self._values = values
        self._using: str | None = None

    def get_compiler(self, using: str | None = None, **_: Any) -> SQLCompiler:
        assert using is not None  # the iterables pass the queryset's database
        self._using = using
        return self._compiled_once.compiler(using, self._values)

    def __getattr__(self, name: str) -> Any:
        # Asked after get_compiler (ValuesIterable: `selected`, `values_select`...).
        if self._using is None or name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._compiled_once.compiled(self._using).compiler.query, name)


class _BoundCompiler(SQLCompiler):
    """The compiled query's compiler, answering its SQL with this run's parameters."""

    def __init__(self, compiled: _Compiled, params: tuple[Any, ...]) -> None:
        self.__dict__.update(compiled.compiler.__dict__)
        # Django's connections are per thread: this thread's, not the compiling thread's.
        assert compiled.compiler.using is not None  # compiled for a database alias (`_compile`)
        self.connection = connections[compiled.compiler.using]
        self._bound = (compiled.sql, params)
        self._compiled = compiled

    def as_sql(self, with_limits: bool = True, with_col_aliases: bool = False) -> Any:
        return self._bound

    def get_converters(self, expressions: Any) -> dict[int, Any]:
        """Django's converters for the rows' expressions, the compiled query's own on every run
        (its `select`), so worked out once per connection: that was 2% of an inbox request."""
        known = self._compiled.converters.get(self.connection)
        if known is None or settings.CARECORE_VERIFY_COMPILED_QUERIES:
            fresh = super().get_converters(expressions)
            if known is not None and fresh != known:
                raise AssertionError("CompiledOnce: the rows' converters changed between runs.")
            known = self._compiled.converters.setdefault(self.connection, fresh)
        return known
