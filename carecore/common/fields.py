"""Serializer pieces every API shares: choices that name their valid values, and input
serializers that report every invalid field in one response."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import SkipField, empty


class ChoiceField(serializers.ChoiceField):
    """A choice whose error lists the valid values, so a client can correct itself at once."""

    default_error_messages = {"invalid_choice": '"{input}" is not valid. Use one of: {valid}.'}

    def to_internal_value(self, data: Any) -> Any:
        if data == "" and self.allow_blank:
            return ""
        try:
            return self.choice_strings_to_values[str(data)]
        except KeyError:
            self.fail("invalid_choice", input=data, valid=", ".join(map(str, self.choices)))


class AllErrorsSerializer(serializers.Serializer):
    """An input serializer whose checks across fields run even when another field is invalid,
    so one response names every problem (DRF skips `validate()` after any field error).

    Subclasses put their cross-field rules in `errors_between_fields`, which sees only the
    fields that are individually valid and returns `{field: [message, ...]}`.
    """

    def errors_between_fields(self, values: dict[str, Any]) -> dict[str, list[str]]:
        return {}

    def to_internal_value(self, data: Any) -> Any:
        field_errors: dict[str, Any] = {}
        try:
            values = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if not isinstance(error.detail, dict):
                raise
            field_errors = dict(error.detail)
            values = self._individually_valid(data, skip=field_errors)
        errors = {**self.errors_between_fields(values), **field_errors}
        if errors:
            raise serializers.ValidationError(errors)
        return values

    def _individually_valid(self, data: Any, *, skip: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field in self._writable_fields:
            if field.field_name in skip:
                continue
            try:
                value = field.run_validation(field.get_value(data))
            except (serializers.ValidationError, DjangoValidationError, SkipField):
                continue
            if value is not empty:
                values[field.field_name] = value
        return values
