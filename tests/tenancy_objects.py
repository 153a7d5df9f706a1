"""For tests/test_tenancy.py: URL argument name -> a maker of merchant A's object of
that kind (returns the value that goes in the URL). Each app adds its own."""

from __future__ import annotations

from collections.abc import Callable

from merchants.models import Merchant
from tests import factories


def _account(merchant: Merchant) -> int:
    return factories.AccountFactory(merchant=merchant).pk


def _api_key(merchant: Merchant) -> int:
    from merchants.services import api_key_create

    return api_key_create(merchant=merchant)[0].pk


def _connection(merchant: Merchant) -> int:
    account = factories.AccountFactory(merchant=merchant)
    return factories.ConnectionFactory(account=account, merchant=merchant).pk


def _payment_request(merchant: Merchant):
    from tests.payments.makers import payment_request_make

    return payment_request_make(merchant=merchant, amount="5.00", currency="USD")


def _payment_id(merchant: Merchant) -> int:
    return _payment_request(merchant).pk


def _md5(merchant: Merchant) -> str:
    return _payment_request(merchant).md5


def _endpoint_id(merchant: Merchant) -> int:
    from tests.payments.makers import webhook_endpoint_make

    return webhook_endpoint_make(merchant=merchant).pk


def _delivery_id(merchant: Merchant) -> int:
    from tests.payments.makers import webhook_delivery_make

    return webhook_delivery_make(merchant=merchant).pk


def _pack_id(merchant: Merchant) -> int:
    import datetime as dt

    from django.core.files.base import ContentFile

    from statements.models import StatementPack

    pack = StatementPack(
        merchant=merchant,
        period_start=dt.date(2026, 11, 1),
        period_end=dt.date(2026, 11, 30),
        status="ready",
        progress=100,
    )
    pack.file.save("a.zip", ContentFile(b"Merchant-A-secret-marker"), save=True)
    return pack.pk


def _import_batch(merchant: Merchant) -> int:
    from statements.services.imports import import_batch_stage

    account = factories.AccountFactory(merchant=merchant, currency="USD")
    data = (
        b"txn_id,posted_at,amount,currency,counterparty\n"
        b"A-SECRET-1,2026-04-03T09:21:04+07:00,12.50,USD,Merchant-A-secret-marker\n"
    )
    return import_batch_stage(account=account, file_bytes=data, filename="a.csv").pk


def _invoice_id(merchant: Merchant) -> int:
    import datetime as dt
    from decimal import Decimal

    from reconciliation.models import Invoice

    return Invoice.objects.create(
        merchant=merchant,
        invoice_number="A-INV-1",
        customer="Merchant-A-secret-marker",
        amount=Decimal("12.50"),
        currency="USD",
        issue_date=dt.date(2026, 11, 1),
        due_date=dt.date(2026, 11, 15),
        source="api",
    ).pk


def _recon_match_id(merchant: Merchant) -> int:
    """A proposal of merchant A holding A's invoice and line."""
    import datetime as dt
    from decimal import Decimal

    from reconciliation.models import Invoice, Match, MatchItem

    account = factories.AccountFactory(merchant=merchant, currency="USD")
    line = factories.TransactionFactory(
        merchant=merchant, account=account, amount=Decimal("9.00"), currency="USD"
    )
    invoice = Invoice.objects.create(
        merchant=merchant,
        invoice_number="A-SECRET-INV",
        customer="Merchant-A-secret-marker",
        amount=Decimal("9.00"),
        currency="USD",
        issue_date=dt.date(2026, 11, 1),
        due_date=dt.date(2026, 11, 9),
        source="api",
    )
    match = Match.objects.create(
        merchant=merchant,
        tier=4,
        rule="amount_date.name",
        score=80,
        reason="Merchant-A-secret-marker",
        status="proposed",
        currency="USD",
        day=line.value_date,
    )
    MatchItem.objects.create(
        match=match, kind="invoice", invoice=invoice, amount=invoice.amount,
        currency="USD",
    )  # fmt: skip
    MatchItem.objects.create(
        match=match, kind="line", transaction=line, amount=line.amount, currency="USD"
    )
    return match.pk


def _recon_exception_id(merchant: Merchant) -> int:
    import datetime as dt
    from decimal import Decimal

    from reconciliation.models import ReconciliationException, ReconciliationRun

    run = ReconciliationRun.objects.create(
        merchant=merchant,
        period_from=dt.date(2026, 11, 1),
        period_to=dt.date(2026, 11, 30),
    )
    return ReconciliationException.objects.create(
        merchant=merchant,
        run=run,
        reason="unmatched_line",
        key="unmatched_line:|ln:999999",
        amount=Decimal("9.00"),
        currency="USD",
        detail="Merchant-A-secret-marker",
        day=dt.date(2026, 11, 3),
    ).pk


def _recon_item_id(merchant: Merchant) -> int:
    """A ledger line of A (the item URLs take kind "line")."""
    from decimal import Decimal

    account = factories.AccountFactory(merchant=merchant, currency="USD")
    return factories.TransactionFactory(
        merchant=merchant,
        account=account,
        amount=Decimal("9.00"),
        currency="USD",
        counterparty_name="Merchant-A-secret-marker",
    ).pk


OBJECT_OF_A: dict[str, Callable[[Merchant], object]] = {
    "account_id": _account,
    "api_key_id": _api_key,
    "connection_id": _connection,
    "import_id": _import_batch,
    "payment_id": _payment_id,
    "md5": _md5,
    "endpoint_id": _endpoint_id,
    "delivery_id": _delivery_id,
    "pack_id": _pack_id,
    "invoice_id": _invoice_id,
    "match_id": _recon_match_id,
    "exception_id": _recon_exception_id,
    "kind": lambda merchant: "line",
    "item_id": _recon_item_id,
}
