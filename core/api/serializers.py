"""The base of every API input serializer: a field the route does not know is an
error naming it, never silently dropped (a typo like `ammount` would otherwise make a
static code)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers
from rest_framework.settings import api_settings


class StrictInputSerializer(serializers.Serializer):
    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(name) for name in set(data) - set(self.fields))
            if unknown:
                named = ", ".join(repr(name[:40]) for name in unknown[:10])
                more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
                known = ", ".join(self.fields)
                raise serializers.ValidationError(
                    {
                        api_settings.NON_FIELD_ERRORS_KEY: [
                            f"unknown field(s) {named}{more}; expected some of {known}"
                        ]
                    }
                )
        return super().to_internal_value(data)


class StrictInputSchema(OpenApiSerializerExtension):
    """The OpenAPI document says so too: `additionalProperties: false`."""

    target_class = StrictInputSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(
            self.target, direction, bypass_extensions=True
        )
        return {**schema, "additionalProperties": False}
