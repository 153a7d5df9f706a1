"""Demo reconciliation: the shop's invoices (a CSV from its accounting tool,
through the production import), the days' exchange rates (the rates CSV, through
the production import), and one reconciliation run over the demo's weeks, so the
review queue, the exceptions and the report have work to show.

The invoices are written against the demo's own bank lines, as a real month
would be: most paid with their number in the transfer, some short by a bank fee,
some paid without a reference by a known customer, one with a typo, two paid by
one transfer, a few not paid at all. Deterministic; a second run changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from decimal import Decimal

from django.utils import timezone

from merchants.models import Account, Merchant
from reconciliation.models import ExchangeRate, Invoice, ReconciliationRun
from reconciliation.services.invoices import COLUMNS as INVOICE_COLUMNS
from reconciliation.services.invoices import invoices_import
from reconciliation.services.rates import exchange_rates_import
from reconciliation.services.runs import reconciliation_run_start
from statements.models import Transaction

FEE = {"USD": Decimal("0.50"), "KHR": Decimal("1000")}


def seed_demo_data(*, merchant: Merchant, accounts: list[Account]) -> None:
    """Invoices, rates and a first run, unless the demo already has them."""
    today = timezone.localdate()
    if not Invoice.objects.for_merchant(merchant).exists():
        invoices_import(
            merchant=merchant,
            file_bytes=_invoices_csv(accounts, today),
            filename=f"invoices-{today:%Y%m}.csv",
        )
    if not ExchangeRate.objects.filter(date=today).exists():
        exchange_rates_import(
            file_bytes=_rates_csv(today), filename=f"nbc-rates-{today:%Y%m}.csv"
        )
    if not ReconciliationRun.objects.for_merchant(merchant).exists():
        start = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        reconciliation_run_start(
            merchant=merchant, date_from=start, date_to=today, trigger="demo"
        )


def _credits(account: Account) -> list[Transaction]:
    return list(
        Transaction.objects.filter(account=account, amount__gt=0).order_by(
            "posted_at", "pk"
        )
    )


def _invoices_csv(accounts: list[Account], today: dt.date) -> bytes:
    rng = random.Random("demo-invoices")  # noqa: S311 - demo data
    rows: list[list[str]] = []
    number = iter(range(1, 10_000))
    for account in accounts:
        if account.provider == "krungsri":
            rows += _paid_from_thailand(account, rng, number)
            continue
        if account.provider not in ("hattha", "acleda"):
            continue
        credits = _credits(account)
        used: set[int] = set()
        # two invoices of one customer, paid by one transfer
        named = [t for t in credits if t.counterparty_name]
        if len(named) > 3:
            line = named[len(named) // 2]
            used.add(line.pk)
            first = (line.amount * Decimal("0.4")).quantize(_places(line.currency))
            for part in (first, line.amount - first):
                rows.append(
                    _row(f"INV-D{next(number):04d}", line, part, rng, reference="")
                )
        for line in credits:
            if line.pk in used:
                continue
            fate = rng.random()
            own = line.reference if line.reference.startswith("INV-") else ""
            if fate < 0.55:
                # paid with its number in the transfer (or its payment reference)
                rows.append(
                    _row(
                        own or f"INV-D{next(number):04d}",
                        line,
                        line.amount,
                        rng,
                        reference="" if own else line.reference,
                    )
                )
            elif fate < 0.65 and own:
                # the bank took its fee from the transfer
                rows.append(_row(own, line, line.amount + FEE[line.currency], rng))
            elif fate < 0.75 and line.counterparty_name:
                # a known customer paid without a reference
                rows.append(_row(f"INV-D{next(number):04d}", line, line.amount, rng))
            elif fate < 0.78 and own and own[6] != own[7]:
                # the customer typed the invoice's number with two digits swapped
                # (INV-1130-2 paid as INV-1103-2): the invoice keeps the right one
                typed = own[:6] + own[7] + own[6] + own[8:]
                rows.append(_row(typed, line, line.amount, rng))
    for n in range(3):  # not paid, and overdue
        issued = today - dt.timedelta(days=40 + n * 5)
        rows.append(
            [
                f"INV-D{next(number):04d}",
                ["Keo Vanna", "Bopha Mart", "Lim Heng"][n],
                ["85.00", "120.50", "42.00"][n],
                "USD",
                str(issued),
                str(issued + dt.timedelta(days=14)),
                "",
                "",
            ]
        )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(INVOICE_COLUMNS)
    seen: set[str] = set()
    for row in rows:  # one invoice per number, as an accounting tool keeps them
        if row[0] not in seen:
            seen.add(row[0])
            writer.writerow(row)
    return out.getvalue().encode()


def _paid_from_thailand(account: Account, rng: random.Random, number) -> list:
    """Dollar invoices that Thai customers paid in baht into the Krungsri account:
    the baht converted at the day's rate is within a cent or two of the invoice."""
    rows = []
    for line in _credits(account):
        if not line.reference.startswith("INV-") or rng.random() < 0.5:
            continue
        usd = (line.amount * _thb_usd(line.value_date)).quantize(Decimal("0.01"))
        rows.append(
            [
                line.reference,
                line.counterparty_name or "Somchai Trading",
                f"{usd:.2f}",
                "USD",
                str(line.value_date - dt.timedelta(days=3)),
                str(line.value_date + dt.timedelta(days=11)),
                "",
                "",
            ]
        )
    return rows


def _thb_usd(day: dt.date) -> Decimal:
    """The demo's THB/USD rate of a day (the same figure the rates file says)."""
    rng = random.Random(f"demo-rate-{day}")  # noqa: S311 - demo data
    return Decimal(f"0.0{28400 + rng.randint(-300, 300)}")


def _places(currency: str) -> Decimal:
    return Decimal(1) if currency == "KHR" else Decimal("0.01")


def _row(
    number: str,
    line: Transaction,
    amount: Decimal,
    rng: random.Random,
    *,
    reference: str = "",
) -> list[str]:
    """An invoice issued a few days before the line that pays it."""
    issued = line.value_date - dt.timedelta(days=rng.randint(0, 8))
    return [
        number,
        line.counterparty_name or "Walk-in customer",
        f"{amount:.{0 if line.currency == 'KHR' else 2}f}",
        line.currency,
        str(issued),
        str(issued + dt.timedelta(days=14)),
        "",
        reference,
    ]


def _rates_csv(today: dt.date) -> bytes:
    """45 days of the NBC's USD/KHR rate and THB/USD, steady with small moves."""
    rng = random.Random("demo-rates")  # noqa: S311 - demo data
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date", "base", "quote", "rate"])
    for back in range(45, -1, -1):
        day = today - dt.timedelta(days=back)
        writer.writerow([day, "USD", "KHR", 4010 + rng.randint(-15, 15)])
        writer.writerow([day, "THB", "USD", _thb_usd(day)])
    return out.getvalue().encode()
