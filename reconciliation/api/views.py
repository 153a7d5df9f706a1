"""Reconciliation over the API: runs, matches and exceptions to read (paged by
id, newest first), and invoices to send, one at a time (idempotent on the
invoice number)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import QueryDict
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api.schema import COMMON_ERRORS, RATE_LIMIT_HEADERS, error
from core.api.serializers import StrictInputSerializer
from core.exceptions import InvalidInput
from core.money import format_number
from merchants.api.base import MerchantApiView
from merchants.models import ApiScope
from reconciliation import selectors
from reconciliation.models import ExceptionReason, ExceptionStatus, MatchStatus
from reconciliation.selectors import item_ref
from reconciliation.services.invoices import OPTIONAL, REQUIRED, invoice_create

LIMIT_DEFAULT = 100
LIMIT_MAX = 500
PAGING = [
    OpenApiParameter("after", int, description="next_after of the previous page"),
    OpenApiParameter("limit", int, description=f"1..{LIMIT_MAX}"),
    *RATE_LIMIT_HEADERS,
]


def _amount(value, currency: str) -> str:
    return format_number(value, currency).replace(",", "")


def _page(request, queryset: QuerySet, render) -> Response:
    """Newest first, `limit` rows after the id `after`; `next_after` names the
    next page (null on the last)."""
    params: QueryDict = request.query_params
    try:
        limit = int(params.get("limit", LIMIT_DEFAULT))
    except ValueError:
        raise InvalidInput("limit: a whole number", field="limit") from None
    if not 1 <= limit <= LIMIT_MAX:
        raise InvalidInput(f"limit: between 1 and {LIMIT_MAX}", field="limit")
    after = params.get("after")
    if after:
        try:
            queryset = queryset.filter(pk__lt=int(after))
        except ValueError:
            raise InvalidInput("after: an id", field="after") from None
    rows = list(queryset.order_by("-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return Response(
        {
            "results": [render(row) for row in rows],
            "next_after": rows[-1].pk if more else None,
        }
    )


def _choice(request, name: str, choices) -> str | None:
    value = request.query_params.get(name)
    if value and value not in choices:
        raise InvalidInput(
            f"{name}: {value!r} is not one of {', '.join(choices)}", field=name
        )
    return value or None


class RunListApi(MerchantApiView):
    required_scope = ApiScope.RECONCILIATION_READ

    @extend_schema_serializer(component_name="ReconciliationRunOutput")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        period_from = serializers.DateField()
        period_to = serializers.DateField()
        status = serializers.CharField()
        dry_run = serializers.BooleanField()
        trigger = serializers.CharField()
        expected = serializers.IntegerField()
        posted = serializers.IntegerField()
        counts = serializers.DictField(child=serializers.IntegerField())
        parameters = serializers.JSONField()
        started_at = serializers.DateTimeField()
        finished_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(
        operation_id="reconciliation_runs_list",
        summary="Reconciliation runs, newest first",
        tags=["reconciliation"],
        parameters=PAGING,
        responses={
            200: inline_serializer(
                "RunList",
                {
                    "results": OutputSerializer(many=True),
                    "next_after": serializers.IntegerField(allow_null=True),
                },
            ),
            **COMMON_ERRORS,
        },
    )
    def get(self, request):
        return _page(request, selectors.run_list(merchant=self.merchant), _run)


def _run(run) -> dict:
    return {
        "id": run.pk,
        "period_from": run.period_from,
        "period_to": run.period_to,
        "status": run.status,
        "dry_run": run.dry_run,
        "trigger": run.trigger,
        "expected": run.expected_count,
        "posted": run.posted_count,
        "counts": run.counts,
        "parameters": run.parameters,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    }


class MatchListApi(MerchantApiView):
    required_scope = ApiScope.RECONCILIATION_READ

    @extend_schema_serializer(component_name="ReconciliationMatchItem")
    class ItemSerializer(serializers.Serializer):
        kind = serializers.CharField()
        ref = serializers.CharField()
        amount = serializers.CharField()
        currency = serializers.CharField()

    @extend_schema_serializer(component_name="ReconciliationMatchOutput")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        run_id = serializers.IntegerField(allow_null=True)
        status = serializers.CharField()
        tier = serializers.IntegerField()
        rule = serializers.CharField()
        score = serializers.IntegerField()
        reason = serializers.CharField()
        difference = serializers.CharField()
        currency = serializers.CharField()
        day = serializers.DateField()
        expected = serializers.ListField()
        posted = serializers.ListField()
        decided_by = serializers.CharField(allow_null=True)
        decided_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(
        operation_id="reconciliation_matches_list",
        summary="Matches with both sides, newest first",
        tags=["reconciliation"],
        parameters=[
            OpenApiParameter("status", str, enum=MatchStatus.values),
            *PAGING,
        ],
        responses={
            200: inline_serializer(
                "MatchList",
                {
                    "results": OutputSerializer(many=True),
                    "next_after": serializers.IntegerField(allow_null=True),
                },
            ),
            400: error("`invalid_input`: an unknown status or a bad page"),
            **COMMON_ERRORS,
        },
    )
    def get(self, request):
        wanted = _choice(request, "status", MatchStatus.values)
        matches = selectors.match_list(merchant=self.merchant, status=wanted)
        return _page(request, matches, _match)


def _match(match) -> dict:
    items = list(match.items.all())
    side = [
        {
            "kind": i.kind,
            "ref": item_ref(i),
            "amount": _amount(i.amount, i.currency),
            "currency": i.currency,
        }
        for i in items
    ]
    return {
        "id": match.pk,
        "run_id": match.run_id,
        "status": match.status,
        "tier": match.tier,
        "rule": match.rule,
        "score": match.score,
        "reason": match.reason,
        "difference": _amount(match.difference, match.currency),
        "currency": match.currency,
        "day": match.day,
        "expected": [s for s, i in zip(side, items, strict=True) if i.is_expected],
        "posted": [s for s, i in zip(side, items, strict=True) if not i.is_expected],
        "decided_by": match.decided_by.get_username() if match.decided_by else None,
        "decided_at": match.decided_at,
    }


class ExceptionListApi(MerchantApiView):
    required_scope = ApiScope.RECONCILIATION_READ

    @extend_schema_serializer(component_name="ReconciliationExceptionOutput")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        reason = serializers.CharField()
        status = serializers.CharField()
        amount = serializers.CharField()
        currency = serializers.CharField()
        detail = serializers.CharField()
        day = serializers.DateField()
        expected_ids = serializers.ListField()
        posted_ids = serializers.ListField()
        nearest = serializers.ListField()
        resolution = serializers.CharField(allow_blank=True)
        resolution_note = serializers.CharField(allow_blank=True)
        resolved_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(
        operation_id="reconciliation_exceptions_list",
        summary="Exceptions with their reasons, newest first",
        tags=["reconciliation"],
        parameters=[
            OpenApiParameter("reason", str, enum=ExceptionReason.values),
            OpenApiParameter("status", str, enum=ExceptionStatus.values),
            *PAGING,
        ],
        responses={
            200: inline_serializer(
                "ExceptionList",
                {
                    "results": OutputSerializer(many=True),
                    "next_after": serializers.IntegerField(allow_null=True),
                },
            ),
            400: error("`invalid_input`: an unknown reason or status, or a bad page"),
            **COMMON_ERRORS,
        },
    )
    def get(self, request):
        found = selectors.exception_list(
            merchant=self.merchant,
            reason=_choice(request, "reason", ExceptionReason.values),
            status=_choice(request, "status", ExceptionStatus.values),
        )
        return _page(request, found, _exception)


def _exception(row) -> dict:
    return {
        "id": row.pk,
        "reason": row.reason,
        "status": row.status,
        "amount": _amount(row.amount, row.currency),
        "currency": row.currency,
        "detail": row.detail,
        "day": row.day,
        "expected_ids": row.expected_ids,
        "posted_ids": row.posted_ids,
        "nearest": row.nearest,
        "resolution": row.resolution,
        "resolution_note": row.resolution_note,
        "resolved_at": row.resolved_at,
    }


class InvoiceCreateApi(MerchantApiView):
    required_scope = ApiScope.INVOICES_WRITE

    @extend_schema_serializer(component_name="InvoiceInput")
    class InputSerializer(StrictInputSerializer):
        invoice_number = serializers.CharField()
        customer = serializers.CharField()
        amount = serializers.CharField(help_text="a decimal string, e.g. 120.50")
        currency = serializers.CharField()
        issue_date = serializers.CharField(help_text="YYYY-MM-DD")
        due_date = serializers.CharField(help_text="YYYY-MM-DD")
        customer_account = serializers.CharField(required=False)
        reference = serializers.CharField(required=False)

    @extend_schema_serializer(component_name="InvoiceOutput")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        invoice_number = serializers.CharField()
        customer = serializers.CharField()
        customer_account = serializers.CharField()
        reference = serializers.CharField()
        amount = serializers.CharField()
        currency = serializers.CharField()
        issue_date = serializers.DateField()
        due_date = serializers.DateField()
        idempotent_replay = serializers.BooleanField()

    @extend_schema(
        operation_id="invoices_create",
        summary="Send one invoice; the same number again is a replay",
        tags=["reconciliation"],
        request=InputSerializer,
        parameters=RATE_LIMIT_HEADERS,
        responses={
            201: OutputSerializer,
            200: OutputSerializer,
            400: error("`invalid_input`: a field is missing or malformed"),
            409: error("`conflict`: this invoice number exists with other fields"),
            **COMMON_ERRORS,
        },
    )
    def post(self, request):
        body = request.data
        if not isinstance(body, dict):
            raise InvalidInput("body: must be a JSON object", field="body")
        fields = dict(body.items())
        allowed = set(REQUIRED) | set(OPTIONAL)
        unknown = sorted(set(fields) - allowed)
        if unknown:
            raise InvalidInput(
                f"unknown fields: {', '.join(unknown)}", field=unknown[0]
            )
        invoice, replay = invoice_create(merchant=self.merchant, fields=fields)
        answer = {
            "id": invoice.pk,
            "invoice_number": invoice.invoice_number,
            "customer": invoice.customer,
            "customer_account": invoice.customer_account,
            "reference": invoice.reference,
            "amount": _amount(invoice.amount, invoice.currency),
            "currency": invoice.currency,
            "issue_date": invoice.issue_date,
            "due_date": invoice.due_date,
            "idempotent_replay": replay,
        }
        return Response(
            answer, status=status.HTTP_200_OK if replay else status.HTTP_201_CREATED
        )
