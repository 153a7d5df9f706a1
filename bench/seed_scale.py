"""Fill a PostgreSQL database with a busy year: one large merchant and 199 small.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scale \\
        .venv/bin/python bench/seed_scale.py [--scale 0.1] [--reset]

At --scale 1 the largest merchant has, over the 12 months of 2025, about
1,000,000 ledger lines on five accounts (bank and Bakong wallets in USD and KHR,
a THB bank account), 300,000 KHQR payment requests (most paid, each payment a
BakongTransaction with its one ledger line, as settlement and
statements.services.bakong_lines write them), 200,000 invoices paid by bank
transfer (with references, typos, instalments, fees, late and missing payers),
refunds, the day's exchange rates, and real reconciliation runs of its first
months. Every other merchant has one small month of the same mix.

The months are tests/reconciliation/scenario.py's generator (the mix the engine
is tested against), shifted to each month of the year, plus the bank's other
lines (card settlements, suppliers, payroll, fees) to reach the ledger's size.

Rows go through the real models: each is a model instance whose fields are
prepared by Django (`get_db_prep_save`) and written with COPY into the model's
own table, so every constraint of the schema holds; only the per-row services
(audit events, webhooks, one query per row) are skipped. Ids come from the
tables' own sequences. Running it again on a seeded database does nothing
(`--reset` empties the database first).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import random
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LARGEST = "Scale Trading Co., Ltd."
ACCOUNTANT = "scale-accountant"
PASSWORD = "scale-bench-password"  # a bench database's user, nobody else's
YEAR = 2025  # a whole year in the past: nothing is still due
FULL = {"lines": 1_000_000, "requests": 300_000, "invoices": 200_000}
RUN_MONTHS = 2  # reconciliation runs written by the seed (the engine, for real)
ACCOUNTS = (
    # key, provider, currency
    ("wallet_USD", "bakong", "USD"),
    ("wallet_KHR", "bakong", "KHR"),
    ("bank_USD", "aba", "USD"),
    ("bank_KHR", "acleda", "KHR"),
    ("bank_THB", "krungsri", "THB"),
)


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault(
        "FIELD_ENCRYPTION_KEYS", "3x6Vz0b1oVCbG1y0m4cVYt8t6m1Xo7cD9rN2yq0T6aE="
    )
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("seed_scale needs DATABASE_URL=postgres://… (not SQLite)")
    import django

    django.setup()


# -- writing through the models ---------------------------------------------------


def copy_rows(model, objs: list) -> None:
    """Write unsaved model instances with COPY: ids from the table's sequence
    (set on the instances), every concrete field as Django prepares it."""
    if not objs:
        return
    from django.db import connection
    from django.utils import timezone

    meta = model._meta
    fields = meta.concrete_fields
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
            "FROM generate_series(1, %s)",
            [meta.db_table, len(objs)],
        )
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
        for field in fields:
            if field.is_relation:  # a parent written earlier in this seed
                for obj in objs:
                    parent = field.get_cached_value(obj, None)
                    if parent is not None and getattr(obj, field.attname) is None:
                        setattr(obj, field.attname, parent.pk)
            if getattr(field, "auto_now_add", False) or getattr(
                field, "auto_now", False
            ):
                for obj in objs:
                    if getattr(obj, field.attname) is None:
                        setattr(obj, field.attname, now)
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        prep = [(f.attname, f.get_db_prep_save) for f in fields]
        with cursor.cursor.copy(
            f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN"
        ) as copy:
            for obj in objs:
                copy.write_row(
                    [fn(getattr(obj, name), connection) for name, fn in prep]
                )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = "default"


def copy_chunked(model, objs, chunk: int = 20_000) -> int:
    batch, count = [], 0
    for obj in objs:
        batch.append(obj)
        if len(batch) >= chunk:
            copy_rows(model, batch)
            count += len(batch)
            batch = []
    copy_rows(model, batch)
    return count + len(batch)


# -- a month of the scenario, moved to a calendar month -----------------------------


class MonthWriter:
    """Writes one scenario month for a merchant, its dates moved from the
    scenario's month to `first` and its keys made unique to that month."""

    def __init__(self, merchant, accounts: dict, first: dt.date, salt: str) -> None:
        from tests.reconciliation.scenario import FIRST

        self.merchant = merchant
        self.accounts = accounts
        self.shift = first - FIRST
        self.tag = f"{first:%y%m}"
        self.salt = salt
        self.rng = random.Random(salt)
        self.hashes: dict[str, str] = {}  # scenario hash or short hash -> written

    def day(self, day: dt.date) -> dt.date:
        return day + self.shift

    def at(self, day: dt.date, hour: int, spread: int = 0) -> dt.datetime:
        from django.utils import timezone

        zone = timezone.get_current_timezone()
        instant = dt.datetime.combine(self.day(day), dt.time(hour), tzinfo=zone)
        if spread:
            instant += dt.timedelta(seconds=self.rng.randrange(spread))
        return instant

    def text(self, value: str) -> str:
        """Invoice and order numbers, hashes: unique to this month."""
        if not value:
            return value
        if value in self.hashes:
            return self.hashes[value]
        return value.replace("INV-2026-", f"INV-{self.tag}-").replace(
            "ORD-", f"ORD-{self.tag}-"
        )

    def write(self, scenario, *, filler_lines: int = 0) -> Counter:
        from payments.models import (
            BakongTransaction,
            PaymentFlag,
            PaymentRequest,
            PaymentStatus,
            Refund,
        )
        from payments.services.settlement import _outcome_for
        from reconciliation.models import Invoice
        from statements.models import Transaction

        m = self.merchant
        written = Counter()
        money = _money
        md5s = {
            r["pk"]: hashlib.md5(  # noqa: S324 - a code's id, as KHQR makes it
                f"{self.salt}{r['md5']}".encode()
            ).hexdigest()
            for r in scenario.payment_requests
        }
        for b in scenario.bakong:
            new = hashlib.sha256(f"{self.salt}{b['hash']}".encode()).hexdigest()
            self.hashes[b["hash"]] = new
            self.hashes[b["hash"][:8]] = new[:8]
            self.hashes[b["external_ref"]] = f"{b['external_ref']}{self.tag}"
        # where each payment landed: a wallet posts its line, a bank-held Bakong
        # id waits for the bank's line (statements.services.bakong_lines)
        on_wallet = {
            ln["bakong_pk"]
            for ln in scenario.lines
            if ln["bakong_pk"] and ln["account"].startswith("wallet_")
        }
        requests = {}
        for r in scenario.payment_requests:
            created = self.at(r["created"], 8, 4 * 3600)
            requests[r["pk"]] = PaymentRequest(
                merchant=m,
                account=self.accounts["wallet_" + r["currency"]],
                order_id=self.text(r["order_id"]),
                bill_number=self.text(r["bill_number"])[:25],
                amount=money(r["amount_minor"]),
                currency=r["currency"],
                qr=f"000201010212{md5s[r['pk']]}",
                md5=md5s[r["pk"]],
                status=PaymentStatus.PENDING,
                created_at=created,
                expires_at=self.at(r["expires"], 23, 3599),
                next_check_at=created,
            )
        # settle in Bakong's order, with settlement's own rule for each outcome
        bakong = {}
        for b in sorted(scenario.bakong, key=lambda b: (b["day"], b["pk"])):
            pr = requests[b["request_pk"]]
            paid_at = self.at(b["day"], 12, 4 * 3600)
            info = SimpleNamespace(
                currency=b["currency"], amount=money(b["amount_minor"])
            )
            outcome = _outcome_for(pr, info, paid_at)
            new_hash = self.hashes[b["hash"]]
            bakong[b["pk"]] = BakongTransaction(
                merchant=m,
                payment_request=pr,
                hash=new_hash,
                short_hash=new_hash[:8],
                md5=pr.md5,
                from_account_id=b["payer_account"],
                to_account_id=self.accounts[
                    ("wallet_" if b["pk"] in on_wallet else "bank_") + b["currency"]
                ].bakong_account_id,
                amount=info.amount,
                currency=b["currency"],
                external_ref=f"{b['external_ref']}{self.tag}"[:100],
                created_at_bakong=paid_at,
                acknowledged_at=paid_at,
                outcome=outcome,
                raw={"hash": new_hash, "amount": str(info.amount)},
                received_at=paid_at + dt.timedelta(seconds=4),
            )
            received = {
                "paid_amount": info.amount,
                "paid_currency": b["currency"],
                "payer_account": b["payer_account"],
            }
            pr.check_attempts += 3
            pr.last_checked_at = paid_at
            if outcome == BakongTransaction.Outcome.MATCHED:
                pr.status = PaymentStatus.PAID
                pr.paid_at = paid_at
                pr.bakong_hash = new_hash
                pr.next_check_at = None
                for key, value in received.items():
                    setattr(pr, key, value)
                continue
            pr.flag = {
                "duplicate": PaymentFlag.DUPLICATE,
                "late": PaymentFlag.LATE,
                "currency_mismatch": PaymentFlag.CURRENCY_MISMATCH,
                "amount_mismatch": PaymentFlag.AMOUNT_MISMATCH,
            }[outcome]
            if pr.status == PaymentStatus.PENDING:
                if pr.paid_amount is None:
                    for key, value in received.items():
                        setattr(pr, key, value)
                    pr.bakong_hash = new_hash
                pr.next_check_at = None
                if outcome == BakongTransaction.Outcome.LATE:
                    pr.paid_at = paid_at
                    pr.status = PaymentStatus.EXPIRED
        for pr in requests.values():
            # the year is over: payment_requests_expire has expired every code
            # still pending (never paid, or paid another amount)
            if pr.status == PaymentStatus.PENDING:
                if pr.next_check_at is not None:
                    pr.check_attempts += 20
                    pr.last_checked_at = pr.expires_at
                pr.status = PaymentStatus.EXPIRED
                pr.next_check_at = None
        refunds = []
        for n, r in enumerate(scenario.refunds):
            pr = requests[r["request_pk"]]
            amount = money(r["amount_minor"])
            pr.refunded_amount += amount
            pr.status = (
                PaymentStatus.REFUNDED
                if pr.refunded_amount >= (pr.paid_amount or pr.amount)
                else PaymentStatus.PARTIALLY_REFUNDED
            )
            refunds.append(
                Refund(
                    merchant=m,
                    payment_request=pr,
                    amount=amount,
                    currency=r["currency"],
                    bank_reference=f"RF-{self.tag}-{n:06d}-{r['bank_reference']}"[:100],
                    reason="Customer returned the goods",
                    created_at=self.at(r["day"], 15, 3600),
                )
            )
        written["payment_requests"] = copy_chunked(PaymentRequest, requests.values())
        written["bakong_transactions"] = copy_chunked(
            BakongTransaction, bakong.values()
        )
        written["refunds"] = copy_chunked(Refund, refunds)
        written["invoices"] = copy_chunked(
            Invoice,
            (
                Invoice(
                    merchant=m,
                    invoice_number=self.text(i["number"]),
                    customer=i["customer"],
                    customer_account=i["customer_account"],
                    reference=self.text(i.get("reference", "")),
                    amount=money(i["amount_minor"]),
                    currency=i["currency"],
                    issue_date=self.day(i["issue"]),
                    due_date=self.day(i["due"]),
                    source=Invoice.Source.FILE,
                    created_at=self.at(i["issue"], 9, 3600),
                )
                for i in scenario.invoices
            ),
        )
        lines = (self._line(ln, bakong) for ln in scenario.lines)
        written["lines"] = copy_chunked(Transaction, lines)
        written["lines"] += copy_chunked(Transaction, self._filler(filler_lines))
        return written

    def _line(self, ln: dict, bakong: dict):
        from statements.models import Channel, Source, Transaction

        bt = bakong.get(ln["bakong_pk"]) if ln["bakong_pk"] else None
        account = self.accounts[ln["account"]]
        fx = ln["fx"] or {}
        on_wallet = account.provider == "bakong"
        posted = (
            bt.created_at_bakong + dt.timedelta(seconds=2)
            if bt is not None
            else self.at(ln["day"], 7, 12 * 3600)
        )
        if bt is not None or ln["bakong_hash"]:
            channel = Channel.KHQR
        elif fx:
            channel = Channel.CROSSBORDER
        elif "FEE" in ln["description"]:
            channel = Channel.FEE
        else:
            channel = Channel.TRANSFER
        return Transaction(
            merchant=self.merchant,
            account=account,
            external_id=self.hashes.get(ln["external_id"])
            or f"{self.tag}-{ln['external_id']}",
            posted_at=posted,
            value_date=self.day(ln["day"]),
            amount=_money(ln["amount_minor"]),
            currency=ln["currency"],
            channel=channel,
            counterparty_name=ln["counterparty"],
            counterparty_account=ln["counterparty_account"],
            reference=self.text(ln["reference"]),
            description=self.text(ln["description"]),
            bakong_hash=self.text(ln["bakong_hash"]),
            bakong_transaction=bt,
            original_amount=_money(fx["original_minor"]) if fx else None,
            original_currency=fx.get("original_currency", ""),
            fx_rate=Decimal(fx["rate"]) if fx else None,
            fx_mismatch=ln["fx_mismatch"],
            source=Source.BAKONG if (bt is not None and on_wallet) else Source.FEED,
        )

    def _filler(self, count: int):
        """The bank's other lines: card settlements, suppliers, payroll, fees."""
        from statements.models import Channel, Source, Transaction
        from tests.reconciliation.scenario import DAYS, FIRST

        account = self.accounts["bank_USD"]
        rng = self.rng
        kinds = (
            ("CARD", "CARD SETTLEMENT POS", 1, "Visa/Mastercard"),
            ("TRANSFER", "SUPPLIER PAYMENT", -1, "Lucky Wholesale"),
            ("TRANSFER", "PAYROLL", -1, "Staff"),
            ("FEE", "SERVICE FEE", -1, "ABA Bank"),
            ("TRANSFER", "TRANSFER TO SAVINGS", -1, ""),
        )
        for n in range(count):
            channel, text, sign, party = kinds[n % len(kinds)]
            day = FIRST + dt.timedelta(days=rng.randrange(DAYS))
            yield Transaction(
                merchant=self.merchant,
                account=account,
                external_id=f"F{self.tag}{n:07d}",
                posted_at=self.at(day, 6, 16 * 3600),
                value_date=self.day(day),
                amount=_money(sign * rng.randrange(100, 250_000)),
                currency="USD",
                channel=getattr(Channel, channel),
                counterparty_name=party,
                reference=f"{text[:3]}{self.tag}{n:06d}",
                description=text,
                source=Source.FEED,
            )


def _money(minor: int) -> Decimal:
    return Decimal(minor).scaleb(-2)


# -- merchants ---------------------------------------------------------------------


def merchant_make(name: str, n: int):
    from merchants.models import Account, Merchant

    handle = f"scale{n:03d}"
    merchant = Merchant.objects.create(
        legal_name=name,
        display_name=name.split(" Co.")[0],
        bakong_account_id=f"{handle}@wing",
        city="Phnom Penh",
        default_currency="USD",
    )
    accounts = {}
    for key, provider, currency in ACCOUNTS:
        accounts[key] = Account.objects.create(
            merchant=merchant,
            provider=provider,
            currency=currency,
            name=f"{provider.upper()} {currency}",
            number=f"{handle}-{key}",
            # a bank account in USD or KHR also holds a Bakong id (KHQR paid to it
            # is reported by the bank's own statement)
            bakong_account_id=f"{handle}_{key.lower()}@wing"[:32]
            if currency != "THB"
            else "",
        )
    return merchant, accounts


def rates_write() -> int:
    from reconciliation.models import ExchangeRate
    from tests.reconciliation.scenario import THB_USD, USD_KHR

    day, rows = dt.date(YEAR, 1, 1), []
    while day <= dt.date(YEAR + 1, 2, 15):
        rows += [
            ExchangeRate(date=day, base="USD", quote="KHR", rate=Decimal(USD_KHR)),
            ExchangeRate(date=day, base="THB", quote="USD", rate=Decimal(THB_USD)),
        ]
        day += dt.timedelta(days=1)
    return len(
        ExchangeRate.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
    )


def accountant_for(merchant) -> None:
    from django.contrib.auth import get_user_model

    from merchants.models import Membership

    user, made = get_user_model().objects.get_or_create(username=ACCOUNTANT)
    if made:
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    Membership.objects.get_or_create(user=user, merchant=merchant, role="accountant")


def month_sizes(scale: float) -> dict:
    """Per month of the largest merchant: the scenario's invoices and sales, and
    the bank's other lines, chosen so that the year lands on FULL × scale (the
    scenario makes ~1.02 codes per sale and ~0.93 lines per invoice or sale)."""
    invoices = max(1, round(FULL["invoices"] * scale / 12))
    sales = max(1, round(FULL["requests"] * scale / 12 / 1.01) - invoices // 30)
    return {"invoices": invoices, "sales": sales}


def seed(*, scale: float, merchants: int, runs: int, out=print) -> dict:
    from django.db import connection, transaction

    from merchants.models import Merchant
    from tests.reconciliation.scenario import month

    started = time.perf_counter()
    total = Counter()
    if Merchant.objects.filter(legal_name=LARGEST).exists():
        out(f"already seeded ({LARGEST} exists); --reset to start again")
        return counts()
    total["rates"] = rates_write()
    sizes = month_sizes(scale)
    target_lines = round(FULL["lines"] * scale / 12)
    with transaction.atomic():
        large, accounts = merchant_make(LARGEST, 0)
        accountant_for(large)
    for month_no in range(1, 13):
        first = dt.date(YEAR, month_no, 1)
        scenario = month(
            invoices=sizes["invoices"], sales=sizes["sales"], seed=1000 + month_no
        )
        filler = max(0, target_lines - len(scenario.lines))
        with transaction.atomic():
            written = MonthWriter(large, accounts, first, f"L{month_no}").write(
                scenario, filler_lines=filler
            )
        total.update(written)
        out(
            f"  {first:%b}: {written['lines']:,} lines, "
            f"{written['payment_requests']:,} codes, {written['invoices']:,} "
            f"invoices ({time.perf_counter() - started:.0f} s)"
        )
    for n in range(1, merchants):
        scenario = month(invoices=12, sales=40, seed=n)
        first = dt.date(YEAR, 1 + n % 12, 1)
        with transaction.atomic():
            small, small_accounts = merchant_make(f"Small Shop {n:03d} Co., Ltd.", n)
            total.update(
                MonthWriter(small, small_accounts, first, f"S{n}").write(scenario)
            )
    seeded = time.perf_counter() - started
    out(f"rows written in {seeded:.0f} s; ANALYZE …")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    runs_started = time.perf_counter()
    reconcile(large, months=runs, out=out)
    out(f"{runs} reconciliation runs in {time.perf_counter() - runs_started:.0f} s")
    return counts()


def reconcile(merchant, *, months: int, out=print) -> None:
    from reconciliation.services.runs import reconciliation_run_start

    for month_no in range(1, months + 1):
        first = dt.date(YEAR, month_no, 1)
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        outcome = reconciliation_run_start(
            merchant=merchant, date_from=first, date_to=last, trigger="command"
        )
        out(f"  run {first:%b}: {outcome.run.status} {outcome.run.counts}")


def counts() -> dict:
    from merchants.models import Merchant
    from payments.models import BakongTransaction, PaymentRequest, Refund
    from reconciliation.models import (
        Invoice,
        Match,
        ReconciliationException,
        ReconciliationRun,
    )
    from statements.models import Transaction

    large = Merchant.objects.get(legal_name=LARGEST)
    mine = {"merchant": large}
    return {
        "merchants": Merchant.objects.count(),
        "lines (all)": Transaction.objects.count(),
        "lines (largest)": Transaction.objects.filter(**mine).count(),
        "payment requests (largest)": PaymentRequest.objects.filter(**mine).count(),
        "paid (largest)": PaymentRequest.objects.filter(**mine, status="paid").count(),
        "bakong transactions (largest)": BakongTransaction.objects.filter(
            **mine
        ).count(),
        "invoices (largest)": Invoice.objects.filter(**mine).count(),
        "refunds (largest)": Refund.objects.filter(**mine).count(),
        "reconciliation runs": ReconciliationRun.objects.count(),
        "matches": Match.objects.count(),
        "exceptions": ReconciliationException.objects.count(),
    }


def reset() -> None:
    """Empty every table of this (bench) database: TRUNCATE, ids from 1."""
    from django.apps import apps
    from django.db import connection

    tables = [
        m._meta.db_table
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE "
            + ", ".join(connection.ops.quote_name(t) for t in tables)
            + " RESTART IDENTITY CASCADE"
        )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--merchants", type=int, default=200)
    parser.add_argument(
        "--runs", type=int, default=RUN_MONTHS, help="months reconciled by the seed"
    )
    parser.add_argument("--reset", action="store_true", help="empty the database")
    args = parser.parse_args(argv)
    setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    if args.reset:
        reset()
    started = time.perf_counter()
    print(f"seeding at scale {args.scale:g}, {args.merchants} merchants")
    result = seed(scale=args.scale, merchants=args.merchants, runs=args.runs)
    print(f"done in {time.perf_counter() - started:.0f} s")
    for label, value in result.items():
        print(f"  {label:<32}{value:>12,}")
    return result


if __name__ == "__main__":
    main()
