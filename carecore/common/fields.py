"""Serializer pieces every API shares: choices that name their valid values, and input
serializers that report every invalid field in one response."""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField, empty

from carecore.clinical.severity import Severity

SEVERITY_VALUES = [severity.value for severity in Severity]

# A number in a query string is ASCII digits and nothing else. Python's int() also reads "٣"
# (an Arabic-Indic three), "+5", " 5" and "5_0", and `str.isdigit()` says yes to "²", which
# int() then refuses (a 500). `[0-9]`, not `\d`: `\d` matches every Unicode digit.
ASCII_DIGITS = re.compile(r"[0-9]+")
BIGINT_MAX = 2**63 - 1


class QueryIntegerField(serializers.IntegerField):
    """A whole number from 0 in a query string (`?after=12`), written with the digits 0-9 only.
    DRF's IntegerField reads with int() (see ASCII_DIGITS) and also takes "5.0"; at most a
    PostgreSQL bigint unless told otherwise."""

    default_error_messages = {"invalid": "Use a whole number written with the digits 0-9."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, str) or not ASCII_DIGITS.fullmatch(data):
            self.fail("invalid")
        # DRF's own reading from here: its cap on the string's length keeps int() from ever
        # seeing more digits than it reads (4300).
        return int(super().to_internal_value(data))


class QueryBooleanField(serializers.BooleanField):
    """A true/false query filter (`?urgent=true`). Left out, it filters nothing (or takes its
    default); given, it says true or false (DRF's spellings: true/false, 1/0, yes/no, on/off).
    DRF's BooleanField with allow_null reads `?urgent=` and `?urgent=null` as None, which the
    lists took as "no filter": a client that meant to filter got everything, unfiltered."""

    default_error_messages = {"invalid": "Use true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, str):
            if data in self.TRUE_VALUES:
                return True
            if data in self.FALSE_VALUES:
                return False
        self.fail("invalid")


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
    fields that are individually valid and returns `{field: [message, ...]}`. Query filters
    use this class directly, with `request.query_params.dict()` (a plain dict, so `?x=` is an
    empty value to validate, not DRF's "not sent" of an HTML form).
    """

    def errors_between_fields(self, values: dict[str, Any]) -> dict[str, list[str]]:
        return {}

    def is_valid(self, *, raise_exception: bool = False) -> bool:
        if self._sent_none_of_the_fields():
            return True
        try:
            return super().is_valid(raise_exception=raise_exception)
        finally:
            # Each bound field points back at the serializer (`parent`) and the serializer holds
            # them (`fields`, cached): a loop only the cyclic garbage collector frees, once per
            # request (carecore/common/wsgi_handler.py). Validated, the serializer lets go of
            # its fields, so reference counting frees both; `fields` is bound afresh if read.
            vars(self).pop("fields", None)

    def errors_before_fields(self, data: Any) -> dict[str, list[str]]:
        return {}

    def _sent_none_of_the_fields(self) -> bool:
        """Validated at once, as every time before, when the input names none of the fields and
        the class validates "nothing sent" the same way every time (`_NothingSent`). A list
        polled as it is (an inbox's `?page_size=50`) then builds no bound fields: binding them
        (DRF deep-copies each declared field) and running each on "nothing sent" was 4-5% of an
        inbox request's CPU (docs/benchmarks.md)."""
        data = getattr(self, "initial_data", empty)
        if not isinstance(data, Mapping) or self.partial:
            return False
        nothing_sent = _NothingSent.of(type(self))
        if nothing_sent is None or not nothing_sent.field_names.isdisjoint(data):
            return False
        self._validated_data = dict(nothing_sent.values)
        self._errors: dict[str, Any] = {}
        return True

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)  # DRF's "expected a dictionary"
        early = self.errors_before_fields(data)
        field_errors: dict[str, Any] = {}
        try:
            values = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if not isinstance(error.detail, dict):
                raise
            field_errors = dict(error.detail)
            values = self._individually_valid(data, skip={**field_errors, **early})
        errors = {**self.errors_between_fields(values), **field_errors, **early}
        if errors:
            raise serializers.ValidationError(errors)
        return values

    def _individually_valid(self, data: Any, *, skip: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field in self._writable_fields:
            name = field.field_name
            if name is None or name in skip:  # None only for an unbound field
                continue
            try:
                value = field.run_validation(field.get_value(data))
            except (serializers.ValidationError, DjangoValidationError, SkipField):
                continue
            if value is not empty:
                values[name] = value
        return values


@dataclass(frozen=True)
class _NothingSent:
    """What an AllErrorsSerializer class makes of an input that names none of its fields, when
    that is the same every time: each field is optional with no default or a plain one (read
    the way DRF's Field reads "not sent"), and the class adds no checks of its own (no
    `validate`, `validate_<field>`, validators, errors before or between fields, or its own
    validation steps), so nothing it runs could depend on the request or the time."""

    field_names: frozenset[str]
    values: dict[str, Any]

    _of_class: ClassVar[dict[type, _NothingSent | None]] = {}

    @classmethod
    def of(cls, serializer_class: type[AllErrorsSerializer]) -> _NothingSent | None:
        if serializer_class not in cls._of_class:
            # None while it is worked out: the probe below validates the usual way.
            cls._of_class[serializer_class] = None
            cls._of_class[serializer_class] = cls._worked_out(serializer_class)
        return cls._of_class[serializer_class]

    @staticmethod
    def _worked_out(serializer_class: type[AllErrorsSerializer]) -> _NothingSent | None:
        own_checks = any(
            getattr(serializer_class, name) is not getattr(AllErrorsSerializer, name)
            for name in (
                "validate",
                "errors_before_fields",
                "errors_between_fields",
                "to_internal_value",
                "run_validation",
                "is_valid",
            )
        )
        probe = serializer_class(data={})
        fields = list(probe.fields.values())
        if (
            own_checks
            or probe.get_validators()
            or any(hasattr(probe, f"validate_{field.field_name}") for field in fields)
            or any(not _plain_when_not_sent(field) for field in fields)
            or not probe.is_valid()
        ):
            return None
        return _NothingSent(
            field_names=frozenset(field.field_name for field in fields if field.field_name),
            values=dict(probe.validated_data),
        )


def _plain_when_not_sent(field: serializers.Field) -> bool:
    """Not sent, `field` is left out or reads as a plain value, the same every time."""
    if field.read_only:
        return True
    own_reading = (
        type(field).get_default is not serializers.Field.get_default
        or type(field).validate_empty_values is not serializers.Field.validate_empty_values
    )
    if own_reading or field.required or len(field.source_attrs) != 1:
        return False
    default = field.default
    return default is empty or isinstance(default, str | int | float | bool | type(None))


class StrictInput(AllErrorsSerializer):
    """A JSON request body: every invalid field at once, and JSON types as the schema says
    them. DRF would read `"note": 0` as "0" and `"enabled": 0` as false; a client sending
    those has a bug we should tell them about, not guess around."""

    def errors_before_fields(self, data: Any) -> dict[str, list[str]]:
        if not isinstance(data, Mapping):
            return {}
        errors = {}
        for name, field in self.fields.items():
            if field.read_only or data.get(name) is None:
                continue
            wrong_type = _json_type_error(field, data[name])
            if wrong_type:
                errors[name] = [wrong_type]
        return errors


def _json_type_error(field: serializers.Field, value: Any) -> str | None:
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        # Each item as its own field would be checked: DRF reads `[false]` as a list of one
        # UUID (00000000-...), since a bool is an int and an int is a UUID's number.
        for index, item in enumerate(value):
            wrong_type = None if item is None else _json_type_error(field.child, item)
            if wrong_type:
                return f"Item {index}: {wrong_type}"
        return None
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else "Must be true or false."
    if isinstance(field, serializers.IntegerField | serializers.FloatField):
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        return None if is_number else "Must be a number."
    if isinstance(field, serializers.ChoiceField):
        kinds = {type(choice) for choice in field.choices}
        return None if type(value) in kinds else "Must be one of the listed values."
    if isinstance(field, _STRING_FIELDS):
        return None if isinstance(value, str) else "Must be a string."
    return None


_STRING_FIELDS = (
    serializers.CharField,
    serializers.UUIDField,
    serializers.DateField,
    serializers.DateTimeField,
    serializers.TimeField,
)


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
        "example": "08:30",
    }
)
class WallClockTimeField(serializers.TimeField):
    """A time of day on a wall clock ("08:30"), with no offset: the zone comes from context
    (a clinician's rules are in the clinician's own zone). Written as HH:MM."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("format", "%H:%M")
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> Any:
        parsed = super().to_internal_value(value)
        if parsed.tzinfo is not None:
            raise serializers.ValidationError(
                "Give a wall-clock time without an offset, e.g. 08:30."
            )
        return parsed


@functools.cache
def _time_zone_names() -> list[str]:
    """Every IANA zone name, read once per process: `available_timezones()` walks the time zone
    database on disk (some 600 files), and a serializer's fields are made afresh for every
    request that uses them."""
    return sorted(zoneinfo.available_timezones())


class Rfc3339DateTimeField(serializers.DateTimeField):
    """DRF's DateTimeField, in the current zone as before, except where that zone's offset then
    had seconds (local mean time: America/Chicago before 1883 was -05:50:36), which RFC 3339's
    date-time cannot write: such an instant is written in UTC ("Z") instead. Only times a user
    typed can be that old (time off); found by the long schemathesis run."""

    def to_representation(self, value: Any) -> Any:
        text = super().to_representation(value)
        if not isinstance(value, datetime) or not isinstance(text, str):
            return text
        offset = self.enforce_timezone(value).utcoffset()
        if offset is not None and (offset.seconds % 60 or offset.microseconds):
            return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return text


class TimeZoneField(ChoiceField):
    """Any IANA time zone name ("America/New_York"); the schema lists them all."""

    default_error_messages = {
        "invalid_choice": "Unknown time zone; use an IANA name such as America/New_York."
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=_time_zone_names(), **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if str(data) not in self.choice_strings_to_values:
            self.fail("invalid_choice")
        return str(data)


class RedFlagOutput(serializers.Serializer):
    """One red flag as every API shows it: PRODUCT.md's `{"code", "label"}` plus its
    `severity` (emergency, crisis, urgent, soon). Intake responses, intake reviews, the
    pre-visit summary and message triage hits (which add what matched) all use this shape."""

    code = serializers.CharField()
    # DRF takes declared fields off the class, so this does not shadow Field.label at run time.
    label = serializers.CharField()  # type: ignore[assignment]
    severity = serializers.ChoiceField(choices=SEVERITY_VALUES)
