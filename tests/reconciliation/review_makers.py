"""Rows for the review, sign-off, evidence and report tests: invoices, ledger
lines and codes of one month, and matches made by the real run service."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from reconciliation.models import Invoice, Match, MatchItem
from reconciliation.services.runs import reconciliation_run_start
from tests.statements.factories import PP, line

NOV_1, NOV_30 = dt.date(2026, 11, 1), dt.date(2026, 11, 30)


def invoice(
    merchant,
    number: str,
    amount: str,
    *,
    customer: str = "Sok Dara Trading",
    currency: str = "USD",
    issued: dt.date = dt.date(2026, 11, 2),
    due: dt.date = dt.date(2026, 11, 16),
    **fields,
) -> Invoice:
    return Invoice.objects.create(
        merchant=merchant,
        invoice_number=number,
        customer=customer,
        amount=Decimal(amount),
        currency=currency,
        issue_date=issued,
        due_date=due,
        source="file",
        **fields,
    )


def paid(account, day: int, amount: str, *, hour: int = 10, **fields):
    """A credit on `account` on that November day (Phnom Penh time)."""
    return line(account, dt.datetime(2026, 11, day, hour, tzinfo=PP), amount, **fields)


def run(merchant, date_from=NOV_1, date_to=NOV_30, **options):
    return reconciliation_run_start(
        merchant=merchant, date_from=date_from, date_to=date_to, **options
    )


def match_of(merchant, *rows) -> Match:
    """The live match that holds all these rows."""
    query = Match.objects.for_merchant(merchant).exclude(status="rejected")
    for row in rows:
        field = "invoice" if isinstance(row, Invoice) else "transaction"
        ids = MatchItem.objects.filter(**{field: row}).values("match_id")
        query = query.filter(pk__in=ids)
    return query.get()


def month_with_proposals(merchant, account):
    """A November with one automatic match, two proposals (one a bank fee short,
    one from a payer known by account only) and one unmatched line.

    Returns (invoices, lines) by name."""
    invoices = {
        "exact": invoice(merchant, "INV-1001", "120.00"),
        "fee": invoice(merchant, "INV-1002", "300.00", customer="Chan Sophea"),
        "payer": invoice(
            merchant,
            "INV-1003",
            "45.00",
            customer="Lim Heng Co., Ltd.",
            customer_account="012 345 678",
        ),
        "open": invoice(
            merchant, "INV-1004", "80.00", customer="Keo Vanna",
            due=dt.date(2026, 11, 10),
        ),
    }  # fmt: skip
    lines = {
        "exact": paid(account, 3, "120.00", reference="INV-1001",
                      counterparty_name="Sok Dara", external_id="L-EXACT"),
        "fee": paid(account, 5, "299.00", reference="Payment INV 1002",
                    counterparty_name="Chan Sophea", external_id="L-FEE"),
        "payer": paid(account, 7, "45.00", reference="transfer",
                      counterparty_name="HENG LIM", counterparty_account="012345678",
                      external_id="L-PAYER"),
        "stray": paid(account, 9, "17.35", reference="cash deposit",
                      counterparty_name="Unknown", external_id="L-STRAY"),
    }  # fmt: skip
    return invoices, lines


def proposals(merchant, account, count: int, *, difference: str = "0") -> list[Match]:
    """`count` tier 4 proposals (invoice + line each), made in bulk as a run
    would save them (call it again for more)."""
    from statements.models import Transaction

    first = Invoice.objects.filter(merchant=merchant).count()

    day = dt.date(2026, 11, 12)
    invoices = Invoice.objects.bulk_create(
        Invoice(
            merchant=merchant,
            invoice_number=f"BULK-{first + n:05d}",
            customer=f"Customer {n}",
            amount=Decimal(100 + n),
            currency=account.currency,
            issue_date=dt.date(2026, 11, 1),
            due_date=dt.date(2026, 11, 20),
            source="file",
        )
        for n in range(count)
    )
    lines = Transaction.objects.bulk_create(
        Transaction(
            merchant=merchant,
            account=account,
            external_id=f"BULK-LINE-{first + n:05d}",
            posted_at=dt.datetime(2026, 11, 12, 3, tzinfo=dt.UTC),
            value_date=day,
            amount=Decimal(100 + n) + Decimal(difference),
            currency=account.currency,
            counterparty_name=f"Payer {n}",
            reference="transfer",
            source="feed",
        )
        for n in range(count)
    )
    matches = Match.objects.bulk_create(
        Match(
            merchant=merchant,
            tier=4,
            rule="amount_date.account",
            score=50 + n % 50,
            reason=f"Same amount, from the customer's own account ({n})",
            status="proposed",
            difference=Decimal(difference),
            currency=account.currency,
            day=day,
        )
        for n in range(count)
    )
    MatchItem.objects.bulk_create(
        item
        for match, inv, ln in zip(matches, invoices, lines, strict=True)
        for item in (
            MatchItem(match=match, kind="invoice", invoice=inv, amount=inv.amount,
                      currency=inv.currency),
            MatchItem(match=match, kind="line", transaction=ln, amount=ln.amount,
                      currency=ln.currency),
        )
    )  # fmt: skip
    return matches


def demo_invoices(merchant, month_first: dt.date, folder) -> dict:
    """Invoices for the demo's month, brought in by `import_invoices` (the way
    an accounting tool's export arrives): two paid exactly by named lines of the
    Krungsri account, two paid 0.50 short (proposals: a bank fee), and one
    overdue and unpaid (an exception). Returns the command's answer."""
    import csv
    import json
    from io import StringIO

    from django.core.management import call_command

    from statements.models import Transaction

    if Invoice.objects.filter(merchant=merchant).exists():
        return {"inserted": 0, "skipped": 0, "errors": []}  # the demo has its own
    last = (month_first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    credits = list(
        Transaction.objects.filter(
            merchant=merchant,
            currency="THB",
            amount__gt=0,
            reference__startswith="INV-",
            value_date__gte=month_first,
            value_date__lte=last,
        ).order_by("value_date", "pk")[:4]
    )
    path = folder / "invoices.csv"
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(
            ["invoice_number", "customer", "amount", "currency", "issue_date",
             "due_date"]
        )  # fmt: skip
        for n, line in enumerate(credits):
            amount = line.amount + (Decimal("0.50") if n >= 2 else 0)
            writer.writerow(
                [line.reference, line.counterparty_name, f"{amount:.2f}", "THB",
                 line.value_date - dt.timedelta(days=3),
                 line.value_date + dt.timedelta(days=5)]
            )  # fmt: skip
        writer.writerow(
            ["INV-UNPAID-1", "Keo Vanna", "250.00", "THB", month_first,
             month_first + dt.timedelta(days=9)]
        )  # fmt: skip
    out = StringIO()
    call_command(
        "import_invoices", "--merchant", str(merchant.pk), str(path), "--json",
        stdout=out,
    )  # fmt: skip
    return json.loads(out.getvalue())
