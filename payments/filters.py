"""The payments list's filters (django-filter) over the merchant's requests; an
amount or a date that cannot be understood is a form error naming the filter (the
page then shows no payments), never a filter quietly dropped."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from core.dates import DayFilter
from core.filters import filter_problems
from core.money import MoneyError, to_minor
from core.periods import PHNOM_PENH, period_bounds
from merchants.models import Account
from payments.models import PaymentFlag, PaymentRequest, PaymentStatus

AMOUNT_MAX_DIGITS = 15  # as the ledger: past this no payment, and no database int


class AmountInput(forms.CharField):
    """An amount as typed (thousands commas allowed), cleaned to a Decimal."""

    def clean(self, value: str) -> Decimal | None:
        text = super().clean(value)
        if not text:
            return None
        try:
            amount = Decimal(text.replace(",", ""))
            if not amount.is_finite() or amount.adjusted() >= AMOUNT_MAX_DIGITS:
                raise MoneyError("out of range")
            to_minor(amount)  # refuses what cannot be an amount (3 places)
        except (InvalidOperation, MoneyError):
            raise forms.ValidationError(
                _("is not an amount (digits, at most 2 decimal places)"),
                code="invalid",
            ) from None
        return amount


class AmountFilter(django_filters.Filter):
    field_class = AmountInput


class PaymentRequestFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", label=_("Order id, bill number, md5")
    )
    status = django_filters.ChoiceFilter(
        choices=PaymentStatus.choices, label=_("Status")
    )
    flag = django_filters.ChoiceFilter(
        choices=[c for c in PaymentFlag.choices if c[0]],
        label=_("Flag"),
    )
    # day first (or ISO): 03/04/2026 is the 3rd of April, never read month first
    date_from = DayFilter(method="created_from", label=_("From"))
    date_to = DayFilter(method="created_to", label=_("To"))
    account = django_filters.ModelChoiceFilter(
        queryset=Account.objects.none(), label=_("Account")
    )
    store = django_filters.CharFilter(
        field_name="store_label", lookup_expr="iexact", label=_("Store")
    )
    amount_min = AmountFilter(method="amount_at_least", label=_("Amount ≥"))
    amount_max = AmountFilter(method="amount_at_most", label=_("Amount ≤"))

    class Meta:
        model = PaymentRequest
        fields = ["q", "status", "flag", "account", "store"]

    def __init__(self, *args, merchant, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.filters["account"].queryset = Account.objects.for_merchant(merchant)

    def problems(self) -> list[dict[str, str]]:
        """Each filter that was not understood: its label, the text given, why."""
        return filter_problems(self)

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(order_id__icontains=value)
            | Q(bill_number__icontains=value)
            | Q(md5__istartswith=value.lower())
        )

    def created_from(self, queryset: QuerySet, name: str, value: dt.date):
        start, _ = period_bounds(value, value, PHNOM_PENH)
        return queryset.filter(created_at__gte=start)

    def created_to(self, queryset: QuerySet, name: str, value: dt.date):
        _, end = period_bounds(value, value, PHNOM_PENH)
        return queryset.filter(created_at__lt=end)

    def amount_at_least(self, queryset: QuerySet, name: str, value: Decimal):
        return queryset.filter(amount__gte=value)

    def amount_at_most(self, queryset: QuerySet, name: str, value: Decimal):
        return queryset.filter(amount__lte=value)
