"""Every text a client sends the API is refused with a 400 when PostgreSQL could not store it:
a NUL (U+0000) or a lone surrogate. DRF's CharField refuses both (its null and surrogate
validators); free-form JSON does not, so each JSON-shaped input is listed here with the place
that checks its text. Walks every API view's input, filter and patch serializers, so a new
field is held to it too. The end-to-end answers are tested beside each app's APIs."""

from __future__ import annotations

from collections.abc import Iterator

from django.core.validators import ProhibitNullCharactersValidator
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator

# JSON-shaped input (a JSONField anywhere in it) -> who keeps NUL and surrogates out of it.
JSON_INPUTS = {
    # Intake answers: intake.engine checks each text answer for NUL (keyed by linkId); lone
    # surrogates never get past carecore.common.parsers.JSONParser.
    "intake.apis.ResponseListApi.InputSerializer.answers": "intake.engine",
    "intake.apis.ResponseDetailApi.PatchSerializer.answers": "intake.engine",
}


def _views(patterns, prefix: str = "") -> Iterator[type]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _views(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and hasattr(entry.callback, "cls"):
            yield entry.callback.cls


def _input_serializers() -> Iterator[tuple[str, serializers.Serializer]]:
    seen = set()
    for view in _views(get_resolver().url_patterns):
        for name in dir(view):
            candidate = getattr(view, name, None)
            if (
                isinstance(candidate, type)
                and issubclass(candidate, serializers.Serializer)
                and "Output" not in name
                and candidate not in seen
            ):
                seen.add(candidate)
                yield f"{view.__module__}.{view.__qualname__}.{name}", candidate()


def _leaves(field: serializers.Field, path: str) -> Iterator[tuple[str, serializers.Field]]:
    if field.read_only:
        return
    if isinstance(field, serializers.ListSerializer):
        assert field.child is not None
        yield from _leaves(field.child, path)
    elif isinstance(field, serializers.Serializer):
        for name, inner in field.fields.items():
            yield from _leaves(inner, f"{path}.{name}")
    elif isinstance(field, serializers.ListField | serializers.DictField):
        yield from _leaves(field.child, path)
    else:
        yield path, field


def _inputs() -> list[tuple[str, serializers.Field]]:
    found: list[tuple[str, serializers.Field]] = []
    for path, serializer in _input_serializers():
        for name, field in serializer.fields.items():
            found.extend(_leaves(field, f"{path}.{name}"))
    return found


def test_the_walk_finds_the_apis_text_inputs():
    paths = {path for path, _field in _inputs()}

    assert "messaging.apis.ThreadListApi.InputSerializer.body" in paths
    assert "portal.apis.AppointmentListApi.InputSerializer.reason" in paths
    assert "careplans.apis.CarePlanDetailApi.PatchSerializer.activities.evidence" in paths


def test_every_text_input_refuses_nul_and_lone_surrogates():
    lenient = [
        path
        for path, field in _inputs()
        if isinstance(field, serializers.CharField)
        and not {ProhibitNullCharactersValidator, ProhibitSurrogateCharactersValidator}
        <= {type(validator) for validator in field.validators}
    ]

    assert lenient == []


def test_every_json_shaped_input_is_listed_with_what_checks_its_text():
    json_shaped = {path for path, field in _inputs() if isinstance(field, serializers.JSONField)}

    assert json_shaped == set(JSON_INPUTS)
