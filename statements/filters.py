"""The Transactions page's filters (django-filter) over the merchant's ledger; the
read API uses the same set, so the page and the API agree line for line."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from functools import cached_property

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
        exact = self._exact(value)
        if exact is not None:
            # the hits as ids: given the OR itself, the planner walks the page's
            # sort index expecting many rows, and finds one in a million
            hits = list(queryset.filter(exact).values_list("pk", flat=True)[:_HITS])
            if len(hits) == _HITS:
                return queryset.filter(exact)
            if hits:
                return queryset.filter(pk__in=hits)
        return queryset.filter(
            Q(counterparty_name__icontains=value)
            | Q(reference__icontains=value)
            | Q(description__icontains=value)
            | Q(account__in=self._accounts, external_id=value)
            | Q(counterparty_account=value)
        )

    @cached_property
    def _accounts(self) -> list[int]:
        """The merchant's accounts, as a list: a subquery inside an OR turns the
        whole into a full scan, a list lets each arm use its own index."""
        return list(
            Account.objects.for_merchant(self.merchant).values_list("pk", flat=True)
        )

    def _exact(self, value: str) -> Q | None:
        """A pasted identifier (a Bakong hash, its 8-character short form, a
        bank's transaction id) is looked up through the indexes first: when it
        hits, those lines are the answer, and the page does not read a
        million lines for a substring that almost nothing contains."""
        if not _IDENTIFIER.match(value):
            return None
        # (account, external_id) is the unique index: one seek per account
        exact = Q(account__in=self._accounts, external_id=value)
        lowered = value.lower()
        if _HASH.match(lowered):
            exact |= Q(bakong_hash=lowered)
        elif _SHORT_HASH.match(lowered):
            # a range the hash index can serve (LIKE cannot use it outside the
            # C collation), then the prefix itself
            exact |= Q(
                bakong_hash__gte=lowered,
                bakong_hash__lt=lowered + "g",
                bakong_hash__startswith=lowered,
            )
        return exact


# one token with a digit in it: "Sophea" and "rent" are words, not identifiers
_IDENTIFIER = re.compile(r"^(?=[^\s]*\d)[0-9A-Za-z][0-9A-Za-z._:/#-]{1,127}$")
_HITS = 500
_HASH = re.compile(r"^[0-9a-f]{64}$")
_SHORT_HASH = re.compile(r"^[0-9a-f]{8}$")
