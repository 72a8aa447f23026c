"""An input serializer given none of its fields (carecore/common/fields.py: a list polled with
only `?page_size=`) answers at once with what full validation answers, and only for classes
whose answer to "nothing sent" cannot change from one request to the next."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import get_resolver
from rest_framework import serializers

from carecore.common.fields import AllErrorsSerializer, ChoiceField, StrictInput, _NothingSent
from messaging.apis import ThreadListApi


def every_subclass(root: type) -> list[type]:
    found = []
    for child in root.__subclasses__():
        found += [child, *every_subclass(child)]
    return found


def input_serializers() -> list[type[AllErrorsSerializer]]:
    get_resolver().url_patterns  # imports every view, and with it every serializer  # noqa: B018
    return sorted(set(every_subclass(AllErrorsSerializer)), key=lambda cls: cls.__qualname__)


def fully_validated(serializer_class, data):
    serializer = serializer_class(data=data)
    valid = serializers.Serializer.is_valid(serializer)  # DRF's validation, every field run
    return valid, dict(serializer.validated_data) if valid else serializer.errors


@pytest.mark.parametrize("serializer_class", input_serializers(), ids=lambda cls: cls.__qualname__)
@pytest.mark.parametrize("data", [{}, {"page_size": "50", "cursor": "abc", "format": "json"}])
def test_nothing_sent_reads_as_full_validation_reads_it(serializer_class, data):
    serializer = serializer_class(data=data)

    valid = serializer.is_valid()

    assert (valid, dict(serializer.validated_data) if valid else serializer.errors) == (
        fully_validated(serializer_class, data)
    )


def test_the_inbox_filter_answers_at_once_without_binding_its_fields():
    filters = ThreadListApi.FilterSerializer(data={"page_size": "50"})

    assert filters.is_valid()
    assert filters.validated_data == {"urgent": None, "overdue": None}
    assert "fields" not in vars(filters)  # no field was bound (DRF deep-copies each one)

    filters.validated_data["urgent"] = True  # each answer is the caller's own
    assert ThreadListApi.FilterSerializer(data={}).is_valid()
    assert _NothingSent.of(ThreadListApi.FilterSerializer).values == {  # type: ignore[union-attr]
        "urgent": None,
        "overdue": None,
    }


def test_a_field_sent_is_validated_as_ever():
    valid = ThreadListApi.FilterSerializer(data={"urgent": "true", "page_size": "50"})
    invalid = ThreadListApi.FilterSerializer(data={"urgent": "maybe"})

    assert valid.is_valid() and valid.validated_data["urgent"] is True
    assert not invalid.is_valid() and "urgent" in invalid.errors


class Plain(AllErrorsSerializer):
    kind = ChoiceField(choices=["a", "b"], required=False)
    flag = serializers.BooleanField(required=False, allow_null=True, default=None)


class TimedDefault(AllErrorsSerializer):
    since = serializers.DateTimeField(required=False, default=lambda: datetime.now(UTC))


class Required(AllErrorsSerializer):
    kind = ChoiceField(choices=["a", "b"])


class FieldCheck(AllErrorsSerializer):
    kind = ChoiceField(choices=["a", "b"], required=False)

    def validate_kind(self, value):
        return value


class BetweenFields(AllErrorsSerializer):
    kind = ChoiceField(choices=["a", "b"], required=False)

    def errors_between_fields(self, values):
        return {"kind": ["needed"]} if "kind" not in values else {}


class ContextDefault(AllErrorsSerializer):
    user = serializers.HiddenField(default=serializers.CurrentUserDefault())


class Body(StrictInput):
    kind = ChoiceField(choices=["a", "b"], required=False)


def test_only_classes_whose_answer_cannot_change_answer_at_once():
    assert _NothingSent.of(Plain) == _NothingSent(
        field_names=frozenset({"kind", "flag"}), values={"flag": None}
    )
    for changing in (TimedDefault, Required, FieldCheck, BetweenFields, ContextDefault, Body):
        assert _NothingSent.of(changing) is None, changing.__name__

    # Those still validate the full way: an error stays an error.
    assert not Required(data={}).is_valid()
    assert not BetweenFields(data={}).is_valid()
    timed = TimedDefault(data={})
    assert timed.is_valid() and timed.validated_data["since"] <= datetime.now(UTC)
