"""Read API for accounting tools: accounts, ledger lines (cursor-paged, the same
filters as the Transactions page) and a period's statement balances. Amounts are
decimal strings in the currency's places, never floats."""

from __future__ import annotations

import datetime as dt

from django.http import QueryDict
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response

from core.api.schema import COMMON_ERRORS, RATE_LIMIT_HEADERS, error
from core.exceptions import InvalidInput, NotFound
from core.money import amount_to_wire, rate_to_wire
from core.periods import date_parse, zone_for_currency
from merchants.api.base import MerchantApiView
from merchants.models import Account, ApiScope
from merchants.selectors import account_list
from statements import selectors
from statements.documents import MAX_PERIOD_DAYS
from statements.filters import DIRECTIONS, TransactionFilter
from statements.models import Channel, Source
from statements.services.balances import balance_jumps, period_balance

LIMIT_DEFAULT = 100
JUMP_CHECK_MAX_LINES = 200_000
LIMIT_MAX = 500
BAD_INPUT = {400: error("`invalid_input`: a parameter is missing or malformed")}
NOT_FOUND = {404: error("`not_found`: no such account for this merchant")}


def _account(merchant, value: str | None, *, required: bool) -> Account | None:
    if not value:
        if required:
            raise InvalidInput("account: required", field="account")
        return None
    try:
        pk = int(value)
    except ValueError:
        raise InvalidInput("account: an account id", field="account") from None
    account = account_list(merchant=merchant).filter(pk=pk).first()
    if account is None:
        raise NotFound(f"account {pk} does not exist")
    return account


class AccountListApi(MerchantApiView):
    required_scope = ApiScope.STATEMENTS_READ

    @extend_schema_serializer(component_name="AccountOutput")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        provider = serializers.CharField()
        kind = serializers.CharField()
        currency = serializers.CharField()
        name = serializers.CharField(allow_blank=True)
        masked_number = serializers.CharField()
        current_balance = serializers.CharField(allow_null=True)
        available_balance = serializers.CharField(allow_null=True)
        balance_as_of = serializers.DateTimeField(allow_null=True)

    @extend_schema(
        operation_id="accounts_list",
        summary="The merchant's accounts with their balances",
        tags=["statements"],
        parameters=RATE_LIMIT_HEADERS,
        responses={
            200: inline_serializer(
                "AccountList", {"results": OutputSerializer(many=True)}
            ),
            **COMMON_ERRORS,
        },
    )
    def get(self, request):
        rows = [
            {
                "id": a.pk,
                "provider": a.provider,
                "kind": a.kind,
                "currency": a.currency,
                "name": a.name,
                "masked_number": a.masked_number,
                "current_balance": amount_to_wire(a.current_balance, a.currency),
                "available_balance": amount_to_wire(a.available_balance, a.currency),
                "balance_as_of": a.balance_as_of,
            }
            for a in account_list(merchant=self.merchant)
        ]
        return Response({"results": self.OutputSerializer(rows, many=True).data})


class TransactionListApi(MerchantApiView):
    required_scope = ApiScope.STATEMENTS_READ

    @extend_schema_serializer(component_name="TransactionOutput")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        account = serializers.IntegerField()
        txn_id = serializers.CharField()
        posted_at = serializers.CharField(help_text="ISO 8601 in the account's zone")
        value_date = serializers.DateField()
        amount = serializers.CharField(help_text="Signed: credit +, debit −")
        currency = serializers.CharField()
        channel = serializers.ChoiceField(choices=Channel.choices)
        counterparty = serializers.CharField(allow_blank=True)
        counterparty_account = serializers.CharField(allow_blank=True)
        reference = serializers.CharField(allow_blank=True)
        bakong_hash = serializers.CharField(allow_blank=True)
        description = serializers.CharField(allow_blank=True)
        balance_after = serializers.CharField(allow_null=True)
        original_amount = serializers.CharField(allow_null=True)
        original_currency = serializers.CharField(allow_blank=True)
        fx_rate = serializers.CharField(allow_null=True)
        fee = serializers.CharField(allow_null=True)
        biller_category = serializers.CharField(
            allow_blank=True, help_text="BILL and TOPUP lines: the bank's category"
        )
        fx_mismatch = serializers.BooleanField(
            help_text="original × rate differs from |amount| + fee beyond the "
            "bank's rounding"
        )
        source = serializers.ChoiceField(choices=Source.choices)

    PageSerializer = inline_serializer(
        "TransactionPage",
        {
            "results": OutputSerializer(many=True),
            "next_cursor": serializers.CharField(allow_null=True),
            "next": serializers.CharField(allow_null=True),
            "count": serializers.IntegerField(help_text="Capped; see count_capped"),
            "count_capped": serializers.BooleanField(),
        },
    )

    @extend_schema(
        operation_id="transactions_list",
        summary="Ledger lines, newest first, cursor-paged",
        tags=["statements"],
        parameters=[
            OpenApiParameter("account", int, description="Account id"),
            OpenApiParameter("from", dt.date, description="First local day"),
            OpenApiParameter("to", dt.date, description="Last local day"),
            OpenApiParameter("channel", str, enum=Channel.values),
            OpenApiParameter("direction", str, enum=[d[0] for d in DIRECTIONS]),
            OpenApiParameter("min_amount", str, description="Size at least"),
            OpenApiParameter("max_amount", str, description="Size at most"),
            OpenApiParameter("source", str, enum=Source.values),
            OpenApiParameter("q", str, description="Counterparty, reference, text"),
            OpenApiParameter("sort", str, enum=list(selectors.SORTS)),
            OpenApiParameter("cursor", str, description="next_cursor of a page"),
            OpenApiParameter("limit", int, description=f"1..{LIMIT_MAX}"),
            *RATE_LIMIT_HEADERS,
        ],
        responses={200: PageSerializer, **BAD_INPUT, **COMMON_ERRORS},
    )
    def get(self, request):
        params = request.query_params
        _account(self.merchant, params.get("account"), required=False)
        data = QueryDict(mutable=True)
        for name, target in (
            ("account", "account"),
            ("from", "date_from"),
            ("to", "date_to"),
            ("channel", "channel"),
            ("direction", "direction"),
            ("min_amount", "min_amount"),
            ("max_amount", "max_amount"),
            ("source", "source"),
            ("q", "q"),
        ):
            if params.get(name):
                data[target] = params[name]
        filterset = TransactionFilter(
            data,
            queryset=selectors.transaction_list(merchant=self.merchant),
            merchant=self.merchant,
            iso_only=True,
        )
        if not filterset.is_valid():
            name, messages = next(iter(filterset.errors.items()))
            public = {"date_from": "from", "date_to": "to"}.get(name, name)
            raise InvalidInput(f"{public}: {' '.join(messages)}", field=public)
        sort = params.get("sort", selectors.DEFAULT_SORT)
        if sort not in selectors.SORTS:
            raise InvalidInput(
                f"sort: use one of {', '.join(selectors.SORTS)}", field="sort"
            )
        try:
            limit = int(params.get("limit", LIMIT_DEFAULT))
        except ValueError:
            raise InvalidInput("limit: a whole number", field="limit") from None
        if not 1 <= limit <= LIMIT_MAX:
            raise InvalidInput(f"limit: between 1 and {LIMIT_MAX}", field="limit")
        cursor = params.get("cursor", "")
        if cursor and selectors.cursor_decode(cursor, sort) is None:
            raise InvalidInput("cursor: not a cursor of this sort", field="cursor")
        page = selectors.transaction_page(
            queryset=filterset.qs, sort=sort, after=cursor, size=limit
        )
        next_url = None
        if page.has_next:
            query = params.copy()
            query["cursor"] = page.next_cursor
            next_url = request.build_absolute_uri(
                reverse("api-transactions") + "?" + query.urlencode()
            )
        return Response(
            {
                "results": [_line(t) for t in page.lines],
                "next_cursor": page.next_cursor or None,
                "next": next_url,
                "count": page.count,
                "count_capped": page.count_capped,
            }
        )


def _line(t) -> dict:
    currency = t.currency
    zone = zone_for_currency(t.account.currency)
    return {
        "id": t.pk,
        "account": t.account_id,
        "txn_id": t.external_id,
        "posted_at": t.posted_at.astimezone(zone).isoformat(),
        "value_date": t.value_date.isoformat(),
        "amount": amount_to_wire(t.amount, currency),
        "currency": currency,
        "channel": t.channel,
        "counterparty": t.counterparty_name,
        "counterparty_account": t.counterparty_account,
        "reference": t.reference,
        "bakong_hash": t.bakong_hash,
        "description": t.description,
        "balance_after": amount_to_wire(t.balance_after, currency),
        "original_amount": amount_to_wire(
            t.original_amount, t.original_currency or currency
        ),
        "original_currency": t.original_currency,
        "fx_rate": rate_to_wire(t.fx_rate),
        "fee": amount_to_wire(t.fee, currency),
        "biller_category": t.biller_category,
        "fx_mismatch": t.fx_mismatch,
        "source": t.source,
    }


@extend_schema_serializer(component_name="StatementChannelTotal")
class ChannelTotalSerializer(serializers.Serializer):
    channel = serializers.CharField()
    lines = serializers.IntegerField()
    credits = serializers.CharField()
    debits = serializers.CharField()
    net = serializers.CharField()


class StatementApi(MerchantApiView):
    required_scope = ApiScope.STATEMENTS_READ

    @extend_schema_serializer(component_name="StatementOutput")
    class OutputSerializer(serializers.Serializer):
        account = serializers.IntegerField()
        currency = serializers.CharField()
        period_from = serializers.DateField()
        period_to = serializers.DateField()
        opening = serializers.CharField()
        opening_source = serializers.ChoiceField(
            choices=["bank", "history", "computed"]
        )
        closing = serializers.CharField(help_text="opening + Σ lines")
        lines = serializers.IntegerField()
        credits = serializers.CharField()
        debits = serializers.CharField()
        fees = serializers.CharField()
        totals_by_channel = ChannelTotalSerializer(many=True)
        original_totals = serializers.DictField(child=serializers.CharField())
        warnings = serializers.ListField(child=serializers.CharField())

    @extend_schema(
        operation_id="statements_get",
        summary="A period's opening, closing and totals for one account",
        tags=["statements"],
        parameters=[
            OpenApiParameter("account", int, required=True),
            OpenApiParameter("from", dt.date, required=True),
            OpenApiParameter("to", dt.date, required=True),
            *RATE_LIMIT_HEADERS,
        ],
        responses={
            200: OutputSerializer,
            **BAD_INPUT,
            **NOT_FOUND,
            **COMMON_ERRORS,
        },
    )
    def get(self, request):
        params = request.query_params
        account = _account(self.merchant, params.get("account"), required=True)
        date_from = date_parse(params.get("from"), field="from")
        date_to = date_parse(params.get("to"), field="to")
        if date_to < date_from:
            raise InvalidInput("to: the period ends before it starts", field="to")
        if (date_to - date_from).days > MAX_PERIOD_DAYS:
            raise InvalidInput("to: a period covers at most three years", field="to")
        period = period_balance(account=account, date_from=date_from, date_to=date_to)
        currency = account.currency
        listed: list[str] = []
        if period.lines <= JUMP_CHECK_MAX_LINES:  # one pass over the lines
            _, listed = balance_jumps(account=account, period=period)
        body = {
            "account": account.pk,
            "currency": currency,
            "period_from": date_from,
            "period_to": date_to,
            "opening": amount_to_wire(period.opening, currency),
            "opening_source": period.opening_source,
            "closing": amount_to_wire(period.closing, currency),
            "lines": period.lines,
            "credits": amount_to_wire(period.credits, currency),
            "debits": amount_to_wire(period.debits, currency),
            "fees": amount_to_wire(period.fees, currency),
            "totals_by_channel": [
                {
                    "channel": c.channel,
                    "lines": c.count,
                    "credits": amount_to_wire(c.credits, currency),
                    "debits": amount_to_wire(c.debits, currency),
                    "net": amount_to_wire(c.net, currency),
                }
                for c in period.channels
            ],
            "original_totals": {
                code: amount_to_wire(total, code)
                for code, total in period.original_totals.items()
            },
            "warnings": period.warnings + listed,
        }
        return Response(self.OutputSerializer(body).data)
