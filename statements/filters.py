"""The Transactions page's filters (django-filter) over the merchant's ledger; the
read API uses the same set, so the page and the API agree line for line."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from core.dates import DayFilter
from core.filters import filter_problems
from core.periods import PHNOM_PENH, period_bounds, zone_for_currency
from merchants.models import Account
from statements.models import Channel, Source, Transaction

DIRECTIONS = [("credit", _("Money in")), ("debit", _("Money out"))]


class TransactionFilter(django_filters.FilterSet):
    account = django_filters.ModelChoiceFilter(
        queryset=Account.objects.none(), empty_label=_("All accounts")
    )
    # day first (03/04/2026 is 3 April) or ISO as links and the API send them
    date_from = DayFilter(method="posted_from", label=_("From"))
    date_to = DayFilter(method="posted_to", label=_("To"))
    channel = django_filters.ChoiceFilter(choices=Channel.choices, empty_label=_("Any"))
    direction = django_filters.ChoiceFilter(
        choices=DIRECTIONS, method="by_direction", empty_label=_("Both")
    )
    min_amount = django_filters.NumberFilter(
        method="amount_at_least",
        label=_("Amount ≥"),
        decimal_places=2,
        max_digits=18,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 8}),
    )
    max_amount = django_filters.NumberFilter(
        method="amount_at_most",
        label=_("Amount ≤"),
        decimal_places=2,
        max_digits=18,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 8}),
    )
    source = django_filters.ChoiceFilter(
        choices=Source.choices, empty_label=_("Any"), label=_("Source")
    )
    q = django_filters.CharFilter(
        method="search",
        label=_("Search"),
        widget=forms.TextInput(
            attrs={"placeholder": _("counterparty, reference, description")}
        ),
    )

    class Meta:
        model = Transaction
        fields = ["account", "channel", "source"]

    def __init__(self, *args, merchant, iso_only: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.merchant = merchant
        if iso_only:
            # the API documents ISO days: a machine's 03/04/2026 is refused, not read
            for name in ("date_from", "date_to"):
                self.filters[name].extra.update(
                    input_formats=["%Y-%m-%d"],
                    error_messages={
                        "invalid": forms.DateField.default_error_messages["invalid"]
                    },
                )
        self.filters["account"].queryset = Account.objects.for_merchant(merchant)

    def problems(self) -> list[dict[str, str]]:
        """Each filter that was not understood: its label, the text given, why."""
        return filter_problems(self)

    def _zone(self):
        """Days are the chosen account's local days (Bangkok for THB)."""
        account = self.form.cleaned_data.get("account") if self.form.is_bound else None
        return zone_for_currency(account.currency) if account else PHNOM_PENH

    def posted_from(self, queryset: QuerySet, name: str, value: dt.date):
        start, _ = period_bounds(value, value, self._zone())
        return queryset.filter(posted_at__gte=start)

    def posted_to(self, queryset: QuerySet, name: str, value: dt.date):
        _, end = period_bounds(value, value, self._zone())
        return queryset.filter(posted_at__lt=end)

    def by_direction(self, queryset: QuerySet, name: str, value: str):
        if value == "credit":
            return queryset.filter(amount__gt=0)
        if value == "debit":
            return queryset.filter(amount__lt=0)
        return queryset

    def amount_at_least(self, queryset: QuerySet, name: str, value: Decimal):
        """Size of the amount, in or out: 10 finds +12.00 and -15.00."""
        amount = abs(value)
        return queryset.filter(Q(amount__gte=amount) | Q(amount__lte=-amount))

    def amount_at_most(self, queryset: QuerySet, name: str, value: Decimal):
        amount = abs(value)
        return queryset.filter(amount__lte=amount, amount__gte=-amount)

    def search(self, queryset: QuerySet, name: str, value: str):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(counterparty_name__icontains=value)
            | Q(reference__icontains=value)
            | Q(description__icontains=value)
            | Q(external_id=value)
            | Q(counterparty_account=value)
        )
