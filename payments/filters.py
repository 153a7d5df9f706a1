"""The payments list's filters (django-filter) over the merchant's requests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

import django_filters
from django.db.models import Q, QuerySet

from core.money import MoneyError, to_minor
from core.periods import PHNOM_PENH, period_bounds
from merchants.models import Account
from payments.models import PaymentFlag, PaymentRequest, PaymentStatus


class PaymentRequestFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Order id, bill number, md5")
    status = django_filters.ChoiceFilter(choices=PaymentStatus.choices)
    flag = django_filters.ChoiceFilter(
        choices=[c for c in PaymentFlag.choices if c[0]], label="Flag"
    )
    date_from = django_filters.DateFilter(method="created_from", label="From")
    date_to = django_filters.DateFilter(method="created_to", label="To")
    account = django_filters.ModelChoiceFilter(queryset=Account.objects.none())
    store = django_filters.CharFilter(
        field_name="store_label", lookup_expr="iexact", label="Store"
    )
    amount_min = django_filters.CharFilter(method="amount_at_least", label="Amount ≥")
    amount_max = django_filters.CharFilter(method="amount_at_most", label="Amount ≤")

    class Meta:
        model = PaymentRequest
        fields = ["q", "status", "flag", "account", "store"]

    def __init__(self, *args, merchant, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.filters["account"].queryset = Account.objects.for_merchant(merchant)

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

    def _amount(self, value: str) -> Decimal | None:
        try:
            amount = Decimal(value.strip().replace(",", ""))
            to_minor(amount)  # refuses what cannot be an amount
        except (InvalidOperation, MoneyError):
            return None
        return amount

    def amount_at_least(self, queryset: QuerySet, name: str, value: str):
        amount = self._amount(value)
        return queryset if amount is None else queryset.filter(amount__gte=amount)

    def amount_at_most(self, queryset: QuerySet, name: str, value: str):
        amount = self._amount(value)
        return queryset if amount is None else queryset.filter(amount__lte=amount)
