"""DRF input fields for shop-facing bodies: amounts as decimal text or JSON numbers
(never float), and text fields that refuse numbers and booleans."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

AMOUNT_TEXT = re.compile(r"[0-9]*\.?[0-9]*")
AMOUNT_MAX_CHARS = 20


def _number_text(value: int | Decimal) -> str:
    """A JSON number as plain decimal text, without ever spelling out a huge
    exponent (1e999999 would be a million digits)."""
    if isinstance(value, int):
        return str(value)
    if not value.is_finite():
        raise serializers.ValidationError("must be a finite decimal number")
    exponent = value.as_tuple().exponent
    if value.adjusted() >= AMOUNT_MAX_CHARS or exponent < -AMOUNT_MAX_CHARS:
        raise serializers.ValidationError(
            f"{value} is out of range (at most {AMOUNT_MAX_CHARS} digits)"
        )
    return format(value, "f")


@extend_schema_field(
    {
        "oneOf": [
            {
                "type": "string",
                "pattern": r"^[0-9]*\.?[0-9]*$",
                "minLength": 1,
                "maxLength": AMOUNT_MAX_CHARS,
                "example": "5.00",
            },
            {"type": "number", "minimum": 0, "example": 5.0},
        ],
        "nullable": True,
        "description": "Omitted, null or 0: a static (reusable) code. KHR in whole "
        "riel, USD with at most 2 decimal places.",
    }
)
class AmountInputField(serializers.Field):
    """A non-negative amount as decimal text or a JSON number (which the parser
    reads as int or Decimal); anything past 20 characters is refused, not
    handed to the money code."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, (str, int, Decimal)):
            raise serializers.ValidationError("must be a decimal number or string")
        text = data if isinstance(data, str) else _number_text(data)
        if not text or not AMOUNT_TEXT.fullmatch(text):
            raise serializers.ValidationError(
                f"{text[:30]!r} is not a plain decimal amount (digits and one '.')"
            )
        if len(text) > AMOUNT_MAX_CHARS:
            raise serializers.ValidationError(
                f"{text[:24]}… is out of range (at most {AMOUNT_MAX_CHARS} characters)"
            )
        return data

    def to_representation(self, value: Any) -> Any:
        return str(value)


class StrictCharField(serializers.CharField):
    """Text only: a number or a boolean where text is expected is refused (DRF's
    CharField would quietly turn 0 into "0")."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("must be a string")
        return super().to_internal_value(data)


class StrictRegexField(serializers.RegexField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("must be a string")
        return super().to_internal_value(data)
