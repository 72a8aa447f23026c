"""OpenAPI generation tweaks (drf-spectacular)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class AutoSchema(SpectacularAutoSchema):
    """Name nested serializers after their view, so every view's `InputSerializer` gets its own
    component ("RegisterApiInput") instead of colliding with the others."""

    def _get_serializer_name(self, serializer: Any, direction: str, *args: Any) -> str:
        name = super()._get_serializer_name(serializer, direction, *args)
        qualname = type(serializer).__qualname__
        if "." in qualname and not getattr(
            getattr(serializer, "Meta", None), "component_name", None
        ):
            owner = qualname.split(".")[0]
            if not name.startswith(owner):
                name = f"{owner}{name}"
        return name
