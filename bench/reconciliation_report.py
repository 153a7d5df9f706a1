"""The reconciliation report of a 20,000-line month, and the review queue of 500
proposals, from the database.

    .venv/bin/python bench/reconciliation_report.py              # 20,000 lines
    .venv/bin/python bench/reconciliation_report.py --lines 5000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tonle_bench \
        .venv/bin/python bench/reconciliation_report.py           # on PostgreSQL

Builds (once) a bench SQLite database under var/bench/: a merchant with one bank
account whose month holds LINES credit lines and as many invoices (most paid
exactly and named, one in 10 a bank fee short, one in 50 unpaid, one in 50 lines
nobody expected), reconciled by the run service. Then it prints the time of
`render_reconciliation` as PDF and as XLSX (target: under 10 s each), and of the
review queue page with 500 proposals on one page.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DIR = ROOT / "var" / "bench"
DB_PATH = BENCH_DIR / "reconciliation_report.sqlite3"
MONTH = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
TARGET_SECONDS = 10.0
QUEUE = 500


def _django() -> None:
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{DB_PATH}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def prepare(lines: int):
    """The bench merchant with a reconciled month of `lines` lines (made once)."""
    from django.core.management import call_command

    from merchants.models import Account, Merchant
    from reconciliation.models import Invoice
    from reconciliation.services.runs import reconciliation_run_start
    from statements.models import Transaction

    call_command("migrate", verbosity=0, interactive=False)
    name = f"Report Bench {lines}"
    merchant = Merchant.objects.filter(legal_name=name).first()
    if merchant is not None:
        return merchant
    merchant = Merchant.objects.create(
        legal_name=name,
        display_name=name[:25],
        name_km="ហាងសាកល្បង",
        bakong_account_id=f"bench{lines}@wing",
        city="Phnom Penh",
    )
    account = Account.objects.create(
        merchant=merchant, provider="hattha", kind="deposit", currency="USD",
        number=f"BENCH-{lines}", name="Bench USD",
    )  # fmt: skip
    invoices, rows = [], []
    for n in range(lines):
        day = MONTH[0] + dt.timedelta(days=n % 30)
        amount = Decimal(1000 + n * 7 % 90_000) / 100
        number = f"INV-{n:06d}"
        if n % 50 != 49:  # one line in 50 has no invoice
            invoices.append(
                Invoice(
                    merchant=merchant, invoice_number=number,
                    customer=f"Customer {n % 997}", amount=amount, currency="USD",
                    issue_date=day - dt.timedelta(days=3),
                    due_date=day + dt.timedelta(days=7), source="file",
                )
            )  # fmt: skip
        if n % 50 == 48:
            continue  # one invoice in 50 is never paid
        paid = amount - Decimal("0.50") if n % 10 == 3 else amount
        rows.append(
            Transaction(
                merchant=merchant, account=account, external_id=f"L{n:07d}",
                posted_at=dt.datetime.combine(day, dt.time(3, n % 60), dt.UTC),
                value_date=day, amount=paid, currency="USD", channel="TRANSFER",
                counterparty_name=f"Payer {n % 997}",
                reference=f"Payment {number}" if n % 50 != 49 else "cash deposit",
                balance_after=None, source="feed",
            )
        )  # fmt: skip
    Invoice.objects.bulk_create(invoices, batch_size=2000)
    Transaction.objects.bulk_create(rows, batch_size=2000)
    started = time.perf_counter()
    outcome = reconciliation_run_start(
        merchant=merchant, date_from=MONTH[0], date_to=MONTH[1], trigger="command"
    )
    print(
        f"prepared {lines:,} lines: run {time.perf_counter() - started:.1f} s, "
        f"{outcome.run.counts.get('matched', 0):,} matches, "
        f"{outcome.run.counts.get('proposed', 0):,} proposed, "
        f"{outcome.run.counts.get('exceptions', 0):,} exceptions"
    )
    return merchant


def report(merchant, fmt: str) -> float:
    from reconciliation.documents import render_reconciliation

    out = BENCH_DIR / f"reconciliation-{merchant.pk}.{fmt}"
    started = time.perf_counter()
    result = render_reconciliation(
        merchant=merchant, date_from=MONTH[0], date_to=MONTH[1], fmt=fmt, out=out
    )
    seconds = time.perf_counter() - started
    print(
        f"report {fmt:4} {seconds:6.2f} s  {out.stat().st_size / 1e6:6.1f} MB  "
        f"{result.matched:,} matches, {result.exceptions:,} exceptions  "
        f"(target < {TARGET_SECONDS:.0f} s: "
        f"{'ok' if seconds < TARGET_SECONDS else 'MISSED'})"
    )
    return seconds


def queue(merchant) -> float:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment

    from merchants.models import Membership

    setup_test_environment()
    user, _ = get_user_model().objects.get_or_create(username=f"bench-{merchant.pk}")
    Membership.objects.get_or_create(user=user, merchant=merchant, role="accountant")
    client = Client()
    client.force_login(user)
    client.get("/reconciliation/?size=10")  # warm the templates
    started = time.perf_counter()
    response = client.get(f"/reconciliation/?size={QUEUE}", HTTP_HOST="localhost")
    seconds = time.perf_counter() - started
    rows = response.content.count(b'class="queue-row"')
    print(f"queue page, {rows} proposals on one page: {seconds:.2f} s, "
          f"{len(response.content) / 1e6:.1f} MB of HTML")  # fmt: skip
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20_000)
    options = parser.parse_args()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    _django()
    merchant = prepare(options.lines)
    for fmt in ("pdf", "xlsx"):
        report(merchant, fmt)
    queue(merchant)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"peak memory {peak} MB (this process, with the bench data's build)")


if __name__ == "__main__":
    main()
