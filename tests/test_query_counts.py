"""No N+1: every list page and every API list costs the same number of queries with
30 rows as with 3. A page that grew one query per row would be fine in the demo and
slow for a merchant with a year of lines."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from merchants.models import AuditEvent
from merchants.services import api_key_create
from payments.models import DeliveryStatus, PaymentCheck, PaymentStatus
from reconciliation.models import (
    Match,
    MatchItem,
    ReconciliationException,
    ReconciliationRun,
)
from statements.models import ImportBatch, PackStatus, StatementPack
from tests.factories import AccountFactory, ConnectionFactory, TransactionFactory
from tests.payments.makers import (
    payment_request_make,
    webhook_delivery_make,
    webhook_endpoint_make,
)

FEW, MANY = 3, 30
_n = itertools.count(1)


@dataclass
class Ctx:
    merchant: object
    user: object
    account: object
    endpoint: object
    payment: object
    run: object
    extra: dict = field(default_factory=dict)


def _accounts(ctx: Ctx, n: int) -> None:
    for _ in range(n):
        account = AccountFactory(merchant=ctx.merchant, number=f"ACC{next(_n):06d}")
        ConnectionFactory(account=account)
        TransactionFactory(account=account, merchant=ctx.merchant)


def _connections_of_the_account(ctx: Ctx, n: int) -> None:
    for _ in range(n):
        ConnectionFactory(account=ctx.account)
        TransactionFactory(account=ctx.account, merchant=ctx.merchant)


def _api_keys(ctx: Ctx, n: int) -> None:
    for _ in range(n):
        api_key_create(merchant=ctx.merchant, name=f"key {next(_n)}")


def _audit_events(ctx: Ctx, n: int) -> None:
    for _ in range(n):
        AuditEvent.objects.create(
            merchant=ctx.merchant,
            actor=ctx.user,
            action="payment.created",
            object_type="payment_request",
            object_id=str(next(_n)),
            details={"n": 1},
        )


def _invoices(ctx: Ctx, n: int) -> None:
    from decimal import Decimal

    from reconciliation.models import Invoice

    for _ in range(n):
        invoice = Invoice.objects.create(
            merchant=ctx.merchant,
            invoice_number=f"INV-{next(_n)}",
            customer="Sok Dara",
            amount=Decimal("10.00"),
            currency="USD",
            issue_date=dt.date(2026, 11, 1),
            due_date=dt.date(2026, 11, 15),
            source="file",
        )
        match = Match.objects.create(
            merchant=ctx.merchant,
            run=ctx.run,
            tier=2,
            rule="reference",
            reason="r",
            status="auto",
            currency="USD",
            day=dt.date(2026, 11, 3),
        )
        MatchItem.objects.create(
            match=match,
            kind="invoice",
            invoice=invoice,
            amount=invoice.amount,
            currency="USD",
        )


def _payments(ctx: Ctx, n: int) -> None:
    key = ctx.extra.setdefault(
        "key", api_key_create(merchant=ctx.merchant, name="shop")[0]
    )
    for i in range(n):
        payment = payment_request_make(
            merchant=ctx.merchant, account=ctx.account, api_key=key
        )
        if i % 2:
            payment.status = PaymentStatus.PAID
            payment.save(update_fields=["status"])
        PaymentCheck.objects.create(payment_request=payment, outcome="not_found")


def _payment_history(ctx: Ctx, n: int) -> None:
    for _ in range(n):
        PaymentCheck.objects.create(payment_request=ctx.payment, outcome="not_found")
        webhook_delivery_make(
            merchant=ctx.merchant,
            endpoint=webhook_endpoint_make(merchant=ctx.merchant),
            payment_request=ctx.payment,
            status=DeliveryStatus.FAILED,
        )


def _endpoints(ctx: Ctx, n: int) -> None:
    for _ in range(n):
        endpoint = webhook_endpoint_make(merchant=ctx.merchant)
        webhook_delivery_make(merchant=ctx.merchant, endpoint=endpoint)


def _deliveries(ctx: Ctx, n: int) -> None:
    for _ in range(n):
        webhook_delivery_make(
            merchant=ctx.merchant, endpoint=ctx.endpoint, status=DeliveryStatus.FAILED
        )


def _lines(ctx: Ctx, n: int) -> None:
    for _ in range(n):
        TransactionFactory(account=ctx.account, merchant=ctx.merchant)
        other = AccountFactory(merchant=ctx.merchant, number=f"L{next(_n):06d}")
        TransactionFactory(account=other, merchant=ctx.merchant)


def _packs(ctx: Ctx, n: int) -> None:
    for i in range(n):
        StatementPack.objects.create(
            merchant=ctx.merchant,
            period_start=dt.date(2026, 10, 1),
            period_end=dt.date(2026, 10, 31),
            status=PackStatus.READY if i % 2 else PackStatus.QUEUED,
            created_by=ctx.user,
        )


def _imports(ctx: Ctx, n: int) -> None:
    for _ in range(n):
        account = AccountFactory(merchant=ctx.merchant, number=f"I{next(_n):06d}")
        ImportBatch.objects.create(
            merchant=ctx.merchant,
            account=account,
            filename="statement.csv",
            sha256=f"{next(_n):064x}",
            created_by=ctx.user,
        )
        ConnectionFactory(account=account)


def _runs(ctx: Ctx, n: int) -> None:
    for _ in range(n):
        ReconciliationRun.objects.create(
            merchant=ctx.merchant,
            period_from=dt.date(2026, 11, 1),
            period_to=dt.date(2026, 11, 30),
            started_by=ctx.user,
        )


def _matches(ctx: Ctx, n: int) -> None:
    for _ in range(n):
        match = Match.objects.create(
            merchant=ctx.merchant,
            run=ctx.run,
            tier=1,
            rule="identity",
            reason="same hash",
            status="auto",
            currency="USD",
            day=dt.date(2026, 11, 15),
            decided_by=ctx.user,
        )
        payment = payment_request_make(merchant=ctx.merchant)
        line = TransactionFactory(account=ctx.account, merchant=ctx.merchant)
        MatchItem.objects.create(
            match=match, kind="khqr", payment_request=payment, amount=5, currency="USD"
        )
        MatchItem.objects.create(
            match=match, kind="line", transaction=line, amount=5, currency="USD"
        )


def _exceptions(ctx: Ctx, n: int) -> None:
    for _ in range(n):
        ReconciliationException.objects.create(
            merchant=ctx.merchant,
            run=ctx.run,
            reason="unmatched_line",
            key=f"unmatched_line:{next(_n)}",
            amount=500,
            currency="USD",
            detail="no expected item",
            day=dt.date(2026, 11, 15),
            resolved_by=ctx.user,
        )


@dataclass(frozen=True)
class ListRoute:
    name: str
    url: Callable[[Ctx], str]
    rows: Callable[[Ctx, int], None]
    api: bool = False
    admin: bool = False


ROUTES = [
    ListRoute("dashboard", lambda c: "/", _accounts),
    ListRoute(
        "account detail",
        lambda c: f"/accounts/{c.account.pk}/",
        _connections_of_the_account,
    ),
    ListRoute("api keys", lambda c: "/settings/api-keys/", _api_keys),
    ListRoute("audit log", lambda c: "/settings/audit/", _audit_events),
    ListRoute("payments", lambda c: "/payments/", _payments),
    ListRoute(
        "payment detail", lambda c: f"/payments/{c.payment.pk}/", _payment_history
    ),
    ListRoute("webhooks", lambda c: "/payments/webhooks/", _endpoints),
    ListRoute(
        "webhook detail",
        lambda c: f"/payments/webhooks/{c.endpoint.pk}/",
        _deliveries,
    ),
    ListRoute("transactions", lambda c: "/statements/transactions/", _lines),
    ListRoute("statements", lambda c: "/statements/", _accounts),
    ListRoute("packs", lambda c: "/statements/packs/", _packs),
    ListRoute("imports", lambda c: "/statements/imports/", _imports),
    ListRoute("invoices", lambda c: "/invoices/", _invoices),
    ListRoute("api accounts", lambda c: "/api/v1/accounts", _accounts, api=True),
    ListRoute("api transactions", lambda c: "/api/v1/transactions", _lines, api=True),
    ListRoute(
        "api statements",
        lambda c: (
            f"/api/v1/statements?account={c.account.pk}&from=2026-11-01&to=2026-11-30"
        ),
        _lines,
        api=True,
    ),
    ListRoute("api runs", lambda c: "/api/v1/reconciliation/runs", _runs, api=True),
    ListRoute(
        "api matches", lambda c: "/api/v1/reconciliation/matches", _matches, api=True
    ),
    ListRoute(
        "api exceptions",
        lambda c: "/api/v1/reconciliation/exceptions",
        _exceptions,
        api=True,
    ),
]
# the Django admin's changelists, for the admins
ADMIN_LISTS = {
    "merchants/account": _accounts,
    "merchants/connection": _accounts,
    "merchants/apikey": _api_keys,
    "merchants/auditevent": _audit_events,
    "payments/paymentrequest": _payments,
    "payments/paymentcheck": _payments,
    "payments/webhookendpoint": _endpoints,
    "payments/webhookdelivery": _deliveries,
    "statements/transaction": _lines,
    "statements/statementpack": _packs,
    "statements/importbatch": _imports,
    "reconciliation/reconciliationrun": _runs,
    "reconciliation/match": _matches,
    "reconciliation/reconciliationexception": _exceptions,
    "reconciliation/invoice": _invoices,
}
ROUTES += [
    ListRoute(f"admin {path}", lambda c, path=path: f"/admin/{path}/", rows, admin=True)
    for path, rows in ADMIN_LISTS.items()
]


@pytest.fixture
def ctx(merchant, owner_client, account):
    run = ReconciliationRun.objects.create(
        merchant=merchant,
        period_from=dt.date(2026, 11, 1),
        period_to=dt.date(2026, 11, 30),
        started_by=owner_client.user,
        finished_at=timezone.now(),
    )
    return Ctx(
        merchant=merchant,
        user=owner_client.user,
        account=account,
        endpoint=webhook_endpoint_make(merchant=merchant),
        payment=payment_request_make(merchant=merchant, account=account),
        run=run,
    )


def _queries(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize("route", ROUTES, ids=[route.name for route in ROUTES])
def test_a_list_costs_the_same_queries_with_30_rows_as_with_3(
    route, ctx, owner_client, api_client, django_user_model
):
    # given a list with a few rows, asked once (sessions, keys, caches warmed)
    client = api_client if route.api else owner_client
    if route.admin:
        client = Client()
        client.force_login(
            django_user_model.objects.create_superuser("root", "root@x.test", "pw")
        )
    route.rows(ctx, FEW)
    url = route.url(ctx)
    _queries(client, url)
    few = _queries(client, url)
    # when it has ten times as many
    route.rows(ctx, MANY - FEW)
    many = _queries(client, url)
    # then it asks the database no more often
    extra = "\n".join(many[len(few) :][:5])
    assert len(many) == len(few), f"{len(few)} → {len(many)} queries; extra:\n{extra}"
