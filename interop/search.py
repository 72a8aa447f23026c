"""Search parameters and page tokens.

Unknown parameters are refused (400 OperationOutcome) rather than ignored: a client that thinks
it filtered must not silently get everything. `next` links carry one opaque, signed `_page` token
holding the parsed query and the place reached, so later pages can neither drift nor be edited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core import signing
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from carecore.common.fields import ASCII_DIGITS

from . import codes
from .errors import FhirBadRequest
from .record import Filters, Key, TypeSpec

DEFAULT_COUNT = 50
MAX_COUNT = 200
PAGE_SALT = "interop.page"
PAGE_MAX_AGE = timedelta(hours=1)
# Accepted everywhere and not filters: the format (we only speak JSON) and the page token.
_ALWAYS = frozenset({"_format", "_count", "_page"})
_FORMATS = frozenset({"json", "application/json", "application/fhir+json"})
_PREFIXES = ("ge", "le", "gt", "lt", "eq")


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the index of the type reached ($everything walks several) and the
    last key within it."""

    type_index: int
    after: Key | None


def encode_page(params: dict[str, list[str]], cursor: Cursor) -> str:
    payload = {"p": params, "t": cursor.type_index, "k": list(cursor.after or [])}
    return signing.dumps(payload, salt=PAGE_SALT, compress=True)


def decode_page(token: str) -> tuple[dict[str, list[str]], Cursor]:
    try:
        payload = signing.loads(token, salt=PAGE_SALT, max_age=PAGE_MAX_AGE)
    except signing.BadSignature as exc:  # also SignatureExpired
        raise FhirBadRequest("This page link is not valid or has expired; search again.") from exc
    after = tuple(payload["k"]) or None
    return payload["p"], Cursor(type_index=payload["t"], after=after)


def query_params(raw: Any) -> dict[str, list[str]]:
    """The request's query as {name: [values]} (a QueryDict's lists), `_page` excluded."""
    return {name: raw.getlist(name) for name in sorted(raw) if name != "_page"}


def page_size(params: dict[str, list[str]]) -> int:
    values = params.get("_count")
    if not values:
        return DEFAULT_COUNT
    digits = values[-1].lstrip("0")
    if not ASCII_DIGITS.fullmatch(values[-1]):
        # int() would also read "٣", "+5", " 5" and "5_0" (carecore/common/fields.py).
        raise FhirBadRequest("_count must be a whole number written with the digits 0-9.")
    if not digits:
        raise FhirBadRequest("_count must be at least 1.")
    if len(digits) > len(str(MAX_COUNT)):
        return MAX_COUNT  # over the cap, without int() reading a thousand digits
    return min(int(digits), MAX_COUNT)


def check_format(params: dict[str, list[str]]) -> None:
    for value in params.get("_format", []):
        if value not in _FORMATS:
            raise FhirBadRequest("Only JSON is supported (_format=json).")


def search_filters(spec: TypeSpec, params: dict[str, list[str]]) -> Filters:
    unknown = sorted(set(params) - spec.search_params - _ALWAYS)
    if unknown:
        raise FhirBadRequest(
            f"Unsupported search parameter(s) for {spec.name}: {', '.join(unknown)}."
        )
    check_format(params)
    patients = _patient_ids(params.get("patient", []) + params.get("subject", []))
    statuses = _tokens(params.get("status", []) + params.get("lifecycle-status", []))
    instrument, no_match = None, False
    if params.get("code"):
        instruments = {codes.instrument_for_code(token) for token in _tokens(params["code"])}
        instrument = next(iter(instruments)) if len(instruments) == 1 else None
        no_match = instrument is None
    if params.get("category"):
        categories = _tokens(params["category"])
        no_match = no_match or not any(
            token.rpartition("|")[2] == "survey"
            and token.rpartition("|")[0] in ("", codes.OBSERVATION_CATEGORY)
            for token in categories
        )
    return Filters(
        ids=_tokens(params["_id"]) if "_id" in params else None,
        patient_ids=patients,
        updated=_dates(params.get("_lastUpdated", []), "_lastUpdated"),
        statuses=statuses or None,
        date=_dates(params.get("date", []), "date"),
        instrument=instrument,
        no_match=no_match,
    )


def _tokens(values: list[str]) -> list[str]:
    """Comma-separated values (FHIR's OR) of every repetition of a parameter."""
    return [token.strip() for value in values for token in value.split(",") if token.strip()]


def _patient_ids(values: list[str]) -> list[str] | None:
    if not values:
        return None
    ids = []
    for token in _tokens(values):
        kind, _, patient_id = token.rpartition("/")
        if kind in ("", "Patient"):
            ids.append(patient_id)
    # Repeating `patient` means AND in FHIR; one patient cannot be two, so keep the common ones.
    return [one for one in ids if ids.count(one) == len(values)] if len(values) > 1 else ids


def _dates(values: list[str], name: str) -> Q | None:
    """Each value (AND) as a condition on the placeholder field `updated` (see record._on)."""
    if not values:
        return None
    condition = Q()
    for value in values:
        condition &= _date_condition(value, name)
    return condition


def _date_condition(value: str, name: str) -> Q:
    prefix, rest = ("eq", value)
    if value[:2] in _PREFIXES:
        prefix, rest = value[:2], value[2:]
    start, end = _moment_range(rest, name)
    return {
        "eq": Q(updated__gte=start, updated__lt=end),
        "ge": Q(updated__gte=start),
        "gt": Q(updated__gte=end),
        "le": Q(updated__lt=end),
        "lt": Q(updated__lt=start),
    }[prefix]


def _moment_range(value: str, name: str) -> tuple[datetime, datetime]:
    """The span a FHIR date or dateTime covers: a whole (UTC) day, or one instant."""
    day = parse_date(value) if len(value) == 10 else None
    if day is not None:
        start = datetime.combine(day, time.min, tzinfo=UTC)
        return start, start + timedelta(days=1)
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise FhirBadRequest(
            f"{name} must be a date (2026-03-10) or a date-time with a time zone, "
            "optionally prefixed with eq, ge, gt, le or lt."
        )
    return moment, moment + timedelta(microseconds=1)


def since(params: dict[str, list[str]]) -> datetime | None:
    """$everything's `_since`: an instant (with a zone) or a date (from its start, UTC)."""
    values = params.get("_since")
    if not values:
        return None
    start, _ = _moment_range(values[-1], "_since")
    return start


def updated_since(moment: datetime | None) -> Q | None:
    """A `_since` as a filter on the placeholder field `updated` (see record._on)."""
    return Q(updated__gte=moment) if moment is not None else None


def types(params: dict[str, list[str]], allowed: list[str]) -> list[str]:
    """$everything's `_type`: the requested types (in `allowed`'s order); all when absent."""
    requested = set(_tokens(params.get("_type", [])))
    if not requested:
        return allowed
    unknown = sorted(requested - set(allowed))
    if unknown:
        raise FhirBadRequest(f"Unsupported _type value(s): {', '.join(unknown)}.")
    return [name for name in allowed if name in requested]


def today() -> date:
    return timezone.now().date()
