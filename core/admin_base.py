"""The base of every project admin. MoneyAdmin shows each AmountField as people read
it, in a list or on a read-only page: in its currency's places and grouped
(2,375,600 for riel, 12.50 for dollars), never the raw 2375600.00; an amount whose
currency is not the row's `currency` names it in `money_currency` (another field, a
path through relations, or a fixed code). ReadOnlyAdmin is for records that must not
change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from core.fields import AmountField
from core.money import CURRENCIES, MoneyError, format_number

DEFAULT_CURRENCY_FIELD = "currency"


def amount_shown(value: Any, currency: str) -> str:
    """The amount in its currency's places, grouped; its plain text when the
    currency is not one Tonle knows."""
    if value is None:
        return "—"
    try:
        return format_number(value, currency)
    except MoneyError:
        return str(value)


def _resolve(obj: models.Model, path: str) -> Any:
    value: Any = obj
    for part in path.split("__"):
        if value is None:
            return None
        value = getattr(value, part, None)
    return value


class MoneyAdmin(admin.ModelAdmin):
    """A ModelAdmin whose AmountFields show in their currency's places."""

    # amount field -> its currency: a field name, a path (connection__currency), or
    # a currency code; absent: the row's `currency`
    money_currency: dict[str, str] = {}

    def _amount_names(self) -> set[str]:
        return {
            field.name
            for field in self.model._meta.concrete_fields
            if isinstance(field, AmountField)
        }

    def currency_of(self, obj: models.Model, name: str) -> str:
        spec = self.money_currency.get(name, DEFAULT_CURRENCY_FIELD)
        if spec in CURRENCIES:
            return spec
        for path in (spec, DEFAULT_CURRENCY_FIELD):
            currency = _resolve(obj, path)
            if currency:
                return str(currency)
        return ""

    def money_column(self, name: str) -> Callable[[models.Model], str]:
        """The column for one amount (one function per field, so the admin sees the
        same one in its fields and its read-only fields)."""
        columns = self.__dict__.setdefault("_money_columns", {})
        if name not in columns:
            columns[name] = self._make_money_column(name)
        return columns[name]

    def _make_money_column(self, name: str) -> Callable[[models.Model], str]:
        field = self.model._meta.get_field(name)

        def column(obj: models.Model) -> str:
            return amount_shown(getattr(obj, name), self.currency_of(obj, name))

        column.__name__ = f"{name}_shown"
        column.short_description = field.verbose_name  # type: ignore[attr-defined]
        column.admin_order_field = name  # type: ignore[attr-defined]
        return column

    def get_list_display(self, request: HttpRequest):
        amounts = self._amount_names()
        return [
            self.money_column(item)
            if isinstance(item, str) and item in amounts
            else item
            for item in super().get_list_display(request)
        ]

    # A page the user may only look at shows amounts formatted too: the raw fields
    # leave the form and come back as read-only columns, in the same place.
    def _view_only(self, request: HttpRequest, obj: models.Model | None) -> bool:
        return obj is not None and not self.has_change_permission(request, obj)

    def get_fields(self, request: HttpRequest, obj: models.Model | None = None):
        fields = super().get_fields(request, obj)
        if not self._view_only(request, obj):
            return fields
        amounts = self._amount_names()
        return [
            self.money_column(item)
            if isinstance(item, str) and item in amounts
            else item
            for item in fields
        ]

    def get_readonly_fields(
        self, request: HttpRequest, obj: models.Model | None = None
    ):
        readonly = list(super().get_readonly_fields(request, obj))
        if self._view_only(request, obj):
            readonly += [
                self.money_column(name) for name in sorted(self._amount_names())
            ]
        return readonly

    def get_exclude(self, request: HttpRequest, obj: models.Model | None = None):
        exclude = list(super().get_exclude(request, obj) or [])
        if self._view_only(request, obj):
            exclude += sorted(self._amount_names())
        return exclude or None


class ReadOnlyAdmin(MoneyAdmin):
    """For records that must not change once written (ledger lines, payments,
    refunds, Bakong's answers): the admin lists and shows them, never adds, edits
    or deletes (a correction goes through the services, which audit it)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
