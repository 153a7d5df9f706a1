"""Reconciliation end to end through the database: a generated month written to
the database (invoices, KHQR codes and their Bakong payments, refunds, ledger
lines), then one `reconciliation_run_start` timed as load, match and save, beside
the pandas pipeline of bench/reconcile.py on the same rows in memory, and on the
month's files (bench/pandas_files.py: the invoice CSV and the statement CSV read by
pandas first, as the run reads the database; issue #12's anchor).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tonle_bench \\
        .venv/bin/python bench/reconcile_db.py [--invoices 20000] [--lines 100000]

Without DATABASE_URL it runs on a SQLite file under a temporary folder. The
database is migrated first; each run adds a new merchant (nothing is deleted).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import resource
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _setup() -> None:
    if not os.environ.get("DATABASE_URL"):
        folder = tempfile.mkdtemp(prefix="tonle-bench-")
        os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    # as deployed: DEBUG off (no query log), whatever a demo checkout's .env says
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault(
        "FIELD_ENCRYPTION_KEYS", "3x6Vz0b1oVCbG1y0m4cVYt8t6m1Xo7cD9rN2yq0T6aE="
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _peak_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _money(minor: int) -> Decimal:
    return Decimal(minor).scaleb(-2)


def _write(scenario, label: str):
    """The scenario's records as Tonle keeps them, for a new merchant."""
    from django.utils import timezone

    from merchants.models import Account, Merchant
    from payments.models import BakongTransaction, PaymentRequest, Refund
    from reconciliation.models import Invoice
    from statements.models import Transaction

    stamp = f"{label}-{time.time_ns()}"
    merchant = Merchant.objects.create(
        legal_name=f"Bench {stamp}",
        display_name="Bench",
        bakong_account_id=f"bench_{stamp[-12:]}@wing",
    )
    accounts = {}
    for key, provider, currency in (
        ("wallet_USD", "bakong", "USD"),
        ("wallet_KHR", "bakong", "KHR"),
        ("bank_USD", "aba", "USD"),
        ("bank_KHR", "acleda", "KHR"),
        ("bank_THB", "krungsri", "THB"),
    ):
        accounts[key] = Account.objects.create(
            merchant=merchant,
            provider=provider,
            currency=currency,
            number=f"{key}-{stamp}",
            bakong_account_id=f"{key.lower()}_{stamp[-8:]}@wing"
            if provider == "bakong"
            else "",
        )
    zone = timezone.get_current_timezone()

    def at(day: dt.date, hour: int = 10) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour), tzinfo=zone)

    requests = PaymentRequest.objects.bulk_create(
        [
            PaymentRequest(
                merchant=merchant,
                account=accounts["wallet_" + r["currency"]],
                order_id=r["order_id"],
                bill_number=r["bill_number"],
                amount=_money(r["amount_minor"]),
                currency=r["currency"],
                qr="bench",
                md5=hashlib.md5(f"{stamp}{r['md5']}".encode()).hexdigest(),  # noqa: S324
                status="paid",
                flag="late" if r["flags"] else "",
                expires_at=at(r["expires"], 23),
            )
            for r in scenario.payment_requests
        ],
        batch_size=2000,
    )
    request_pk = {
        r["pk"]: made.pk
        for r, made in zip(scenario.payment_requests, requests, strict=True)
    }
    request_md5 = {
        r["pk"]: made.md5
        for r, made in zip(scenario.payment_requests, requests, strict=True)
    }
    for r, made in zip(scenario.payment_requests, requests, strict=True):
        made.created_at = at(r["created"], 9)  # a code's own day, not today's
    PaymentRequest.objects.bulk_update(requests, ["created_at"], batch_size=2000)
    bakong = BakongTransaction.objects.bulk_create(
        [
            BakongTransaction(
                merchant=merchant,
                payment_request_id=request_pk[b["request_pk"]],
                hash=hashlib.sha256(f"{stamp}{b['hash']}".encode()).hexdigest(),
                short_hash=b["hash"][:8],
                md5=request_md5[b["request_pk"]],
                amount=_money(b["amount_minor"]),
                currency=b["currency"],
                external_ref=b["external_ref"],
                created_at_bakong=at(b["day"], 11),
                outcome="matched",
                from_account_id=b["payer_account"],
            )
            for b in scenario.bakong
        ],
        batch_size=2000,
    )
    bakong_pk = {b["pk"]: made for b, made in zip(scenario.bakong, bakong, strict=True)}
    Invoice.objects.bulk_create(
        [
            Invoice(
                merchant=merchant,
                invoice_number=i["number"],
                customer=i["customer"],
                customer_account=i["customer_account"],
                amount=_money(i["amount_minor"]),
                currency=i["currency"],
                issue_date=i["issue"],
                due_date=i["due"],
                source="file",
            )
            for i in scenario.invoices
        ],
        batch_size=2000,
    )
    refunds = Refund.objects.bulk_create(
        [
            Refund(
                merchant=merchant,
                payment_request_id=request_pk[r["request_pk"]],
                amount=_money(r["amount_minor"]),
                currency=r["currency"],
                bank_reference=r["bank_reference"],
            )
            for r in scenario.refunds
        ],
        batch_size=2000,
    )
    for r, made in zip(scenario.refunds, refunds, strict=True):
        made.created_at = at(r["day"], 15)
    Refund.objects.bulk_update(refunds, ["created_at"], batch_size=2000)
    lines = []
    for ln in scenario.lines:
        linked = bakong_pk.get(ln["bakong_pk"]) if ln["bakong_pk"] else None
        fx = ln["fx"] or {}
        lines.append(
            Transaction(
                merchant=merchant,
                account=accounts[ln["account"]],
                external_id=linked.hash if linked else ln["external_id"],
                posted_at=at(ln["day"], 12),
                value_date=ln["day"],
                amount=_money(ln["amount_minor"]),
                currency=ln["currency"],
                counterparty_name=ln["counterparty"],
                counterparty_account=ln["counterparty_account"],
                reference=ln["reference"],
                description=ln["description"],
                bakong_hash=linked.hash if linked else ln["bakong_hash"],
                bakong_transaction=linked,
                original_amount=_money(fx["original_minor"]) if fx else None,
                original_currency=fx.get("original_currency", ""),
                fx_rate=Decimal(fx["rate"]) if fx else None,
                fx_mismatch=ln["fx_mismatch"],
                source="bakong" if linked else "file",
            )
        )
    Transaction.objects.bulk_create(lines, batch_size=2000)
    return merchant


def _pandas_seconds(expected, posted) -> float:
    import pandas as pd

    from bench.reconcile import _pandas_pipeline

    frame_e = pd.DataFrame(
        {
            "eid": [e.id for e in expected],
            "key": [e.ref_keys[0] if e.ref_keys else "" for e in expected],
            "cur": [e.currency for e in expected],
            "amt": [e.amount_minor for e in expected],
            "lo": [e.date_from for e in expected],
            "hi": [e.date_to + 7 for e in expected],
        }
    )
    frame_p = pd.DataFrame(
        {
            "pid": [p.id for p in posted],
            "text": [p.ref_text for p in posted],
            "cur": [p.currency for p in posted],
            "amt": [p.amount_minor for p in posted],
            "day": [p.day for p in posted],
        }
    )
    started = time.perf_counter()
    _pandas_pipeline(pd, frame_e, frame_p)
    return time.perf_counter() - started


def _one(label: str, *, invoices: int, sales: int, budget: str) -> None:
    from django.db import connection

    from bench.pandas_files import files_write, pandas_on_files
    from reconciliation.services.loading import rows_load
    from reconciliation.services.runs import reconciliation_run_start
    from tests.reconciliation.scenario import DAYS, FIRST, month

    scenario = month(invoices=invoices, sales=sales, seed=23)
    started = time.perf_counter()
    merchant = _write(scenario, label)
    written = time.perf_counter() - started
    date_from, date_to = FIRST, FIRST + dt.timedelta(days=DAYS - 1)
    loaded = rows_load(merchant=merchant, date_from=date_from, date_to=date_to)
    pandas = min(_pandas_seconds(loaded.expected, loaded.posted) for _ in range(3))
    with tempfile.TemporaryDirectory() as folder:
        files = files_write(scenario, Path(folder), period=(date_from, date_to))
        pandas_files = pandas_on_files(*files)
    # the real thing: load, match and save in one run
    cpu = time.process_time()
    t3 = time.perf_counter()
    outcome = reconciliation_run_start(
        merchant=merchant, date_from=date_from, date_to=date_to, trigger="command"
    )
    total = time.perf_counter() - t3
    cpu = time.process_time() - cpu
    counts = outcome.run.counts
    print(
        f"{label}: {len(loaded.expected):,} expected × {len(loaded.posted):,} posted "
        f"on {connection.vendor} (written in {written:.1f} s)"
    )
    timings = outcome.run.timings
    # what the run's own clock leaves out: the audit row and the commit
    rest = total - float(outcome.run.seconds)
    print(
        f"  end to end {total:.2f} s ({cpu:.2f} s CPU here): load {timings['load']} "
        f"s, match {timings['match']} s, save {timings['save']} s, "
        f"after the run's clock {rest:.3f} s; "
        f"{counts.get('matched', 0):,} matches, {counts.get('exceptions', 0):,} "
        f"exceptions; peak {_peak_mb():,} MB"
    )
    print(
        f"  pandas pipeline on the same rows in memory {pandas:.2f} s; on the "
        f"month's files (invoice CSV and statement CSV read, then the same "
        f"pipeline) {pandas_files:.2f} s; end to end is {total / pandas_files:.1f}× "
        f"the files, {total / pandas:.1f}× the rows; target: {budget}"
    )


def main(*, invoices: int = 20_000, lines: int = 100_000) -> None:
    _setup()
    print("== reconciliation end to end through the database")
    _one(
        "invoice month",
        invoices=invoices,
        sales=0,
        budget="within 5× the pandas pipeline on the same files",
    )
    _one(
        f"{lines:,}-line month",
        invoices=lines // 3,
        sales=lines - lines // 3,
        budget="under 15 s on PostgreSQL",
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=20_000)
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    main(invoices=args.invoices, lines=args.lines)
