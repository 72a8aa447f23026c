"""Query filters, uniformly: an empty value (`?urgent=`, `?after=`, `?cursor=`) is a 400 naming
the parameter, never "no filter"; leaving the parameter out keeps its meaning. Every list's
FilterSerializer is walked, so a new filter is held to it too; true/false and whole-number
filters use the shared query fields (carecore/common/fields.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import serializers

from carecore.common.fields import QueryBooleanField, QueryIntegerField

ROOT = Path(__file__).resolve().parents[2]


def _views(patterns) -> Iterator[type]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _views(entry.url_patterns)
        elif isinstance(entry, URLPattern) and hasattr(entry.callback, "cls"):
            yield entry.callback.cls


def _filters() -> list[tuple[str, type[serializers.Serializer]]]:
    found = {}
    for view in _views(get_resolver().url_patterns):
        filters = getattr(view, "FilterSerializer", None)
        if filters is not None:
            found[f"{view.__module__}.{view.__qualname__}"] = filters
    return sorted(found.items())


FILTERS = _filters()
FILTER_FIELDS = [
    (f"{view}.{name}", filters, name)
    for view, filters in FILTERS
    for name, field in filters().fields.items()
    if not field.read_only
]


def test_the_walk_finds_the_lists_filters():
    names = {label for label, _filters, _name in FILTER_FIELDS}

    assert "messaging.apis.ThreadListApi.urgent" in names
    assert "portal.apis.AppointmentListApi.upcoming" in names
    assert "carecore.notifications.apis.NotificationListApi.unread" in names
    assert "carecore.realtime.apis.EventListApi.after" in names


@pytest.mark.parametrize(
    ("filters", "name"),
    [(filters, name) for _label, filters, name in FILTER_FIELDS],
    ids=[label for label, _filters, _name in FILTER_FIELDS],
)
def test_an_empty_value_of_any_filter_is_refused_naming_it(filters, name):
    given = filters(data={name: ""})

    assert not given.is_valid()
    assert name in given.errors


def test_true_false_and_number_filters_use_the_query_fields():
    plain = [
        label
        for label, filters, name in FILTER_FIELDS
        if (
            isinstance(filters().fields[name], serializers.BooleanField)
            and not isinstance(filters().fields[name], QueryBooleanField)
        )
        or (
            isinstance(filters().fields[name], serializers.IntegerField)
            and not isinstance(filters().fields[name], QueryIntegerField)
        )
    ]

    assert plain == []


def test_every_filter_reads_the_query_as_a_plain_dict():
    # A QueryDict is read as an HTML form, where "" is "not sent": `?after=` listed everything.
    as_a_form = re.compile(r"Serializer\(data=request\.query_params\)")
    offenders = [
        str(path.relative_to(ROOT))
        for app in ("carecore", "messaging", "intake", "portal", "careplans", "interop")
        for path in (ROOT / app).rglob("*.py")
        if as_a_form.search(path.read_text())
    ]

    assert offenders == []


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["null", "NULL", "", "maybe", "2"])
def test_a_true_false_filter_says_true_or_false(value):
    field = QueryBooleanField(required=False, default=None)

    with pytest.raises(serializers.ValidationError) as refused:
        field.run_validation(value)

    assert refused.value.detail == ["Use true or false."]


@pytest.mark.parametrize(("value", "meant"), [("true", True), ("false", False), ("1", True)])
def test_a_true_false_filter_reads_drfs_spellings(value, meant):
    assert QueryBooleanField(required=False).run_validation(value) is meant


# --- cursors ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "actor"),
    [("/api/v1/notifications/", "patient"), ("/api/v1/intake-reviews/", "clinician")],
    ids=["cursor pagination", "keyset pagination"],
)
def test_an_empty_cursor_is_a_400_not_the_first_page(actors, client_for, path, actor):
    response = client_for(actors[actor]).get(path, {"cursor": ""})

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"cursor"}
