"""Model fields for exact money, exact rates and encrypted secrets."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from core.crypto import decrypt_text, encrypt_text
from core.money import MoneyError, from_minor, to_minor


class AmountField(models.BigIntegerField):
    """An amount kept as integer minor units (exponent 2) and handed to Python as a
    Decimal, so values and `Sum()` are exact on SQLite and PostgreSQL alike."""

    description = "Exact amount (integer minor units in the database)"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return from_minor(value)

    def to_python(self, value: Any) -> Decimal | None:
        if value is None or isinstance(value, Decimal):
            return value
        if isinstance(value, float):
            raise ValidationError("amounts are never floats", code="invalid")
        try:
            return Decimal(str(value).strip())
        except InvalidOperation:
            raise ValidationError(f"{value!r} is not an amount", code="invalid")

    def get_prep_value(self, value: Any) -> int | None:
        value = models.Field.get_prep_value(self, value)
        if value is None:
            return None
        if hasattr(value, "resolve_expression"):
            return value
        try:
            return to_minor(self.to_python(value))
        except MoneyError as exc:
            raise ValidationError(str(exc), code="invalid") from None

    def formfield(self, **kwargs: Any) -> forms.Field:
        defaults = {"form_class": forms.DecimalField, "decimal_places": 2}
        defaults.update(kwargs)
        return models.Field.formfield(self, **defaults)

    def value_to_string(self, obj: models.Model) -> str:
        value = self.value_from_object(obj)
        return "" if value is None else str(value)


class ExactDecimalField(models.CharField):
    """A decimal (an FX rate) kept as its exact text, never as a float or a rounded
    NUMERIC; handed to Python as a Decimal."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 40)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value in (None, ""):
            return None
        return Decimal(value)

    def to_python(self, value: Any) -> Decimal | None:
        if value in (None, ""):
            return None
        if isinstance(value, Decimal):
            return value
        if isinstance(value, float):
            raise ValidationError("rates are never floats", code="invalid")
        try:
            parsed = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValidationError(f"{value!r} is not a decimal number", code="invalid")
        if not parsed.is_finite():
            raise ValidationError("a rate must be a finite number", code="invalid")
        return parsed

    def get_prep_value(self, value: Any) -> str | None:
        value = self.to_python(value)
        return None if value is None else format(value, "f")

    def formfield(self, **kwargs: Any) -> forms.Field:
        return models.Field.formfield(self, form_class=forms.DecimalField, **kwargs)


class EncryptedJSONField(models.TextField):
    """A JSON object encrypted at rest (MultiFernet). Loading with a wrong key raises;
    the ciphertext is never handed out as if it were the value."""

    description = "Encrypted JSON"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default", dict)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value in (None, ""):
            return {}
        return json.loads(decrypt_text(value))

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value) if value else {}
            except json.JSONDecodeError:
                raise ValidationError("credentials must be a JSON object")
        return value

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return encrypt_text(json.dumps(value, sort_keys=True))

    def value_to_string(self, obj: models.Model) -> str:
        return "<encrypted>"


def whole_riel(amount_field: str, currency_field: str = "currency") -> models.Q:
    """A CheckConstraint condition: a KHR amount is a whole number of riel."""
    from django.db.models.functions import Mod
    from django.db.models.lookups import Exact

    remainder = Mod(
        models.F(amount_field),
        models.Value(100),
        output_field=models.BigIntegerField(),
    )
    return ~models.Q(**{currency_field: "KHR"}) | models.Q(
        Exact(remainder, models.Value(0))
    )


# For a ModelAdmin's formfield_overrides: a URL typed without a scheme is taken as
# https (Django 6's default; 5.2 still assumes http and warns)
URLS_ASSUME_HTTPS = {models.URLField: {"assume_scheme": "https"}}
