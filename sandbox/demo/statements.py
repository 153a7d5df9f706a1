"""Demo ledger lines of the bank accounts: a month of deterministic activity each.
(The Bakong wallets' lines are the demo codes' settlements: see sandbox.demo.payments.)

The Hattha account is connected to the sandbox feed, so its lines are the sandbox
feed's own (same txn_ids: a later feed sync finds them already posted and backfills
the rest of the year). The ACLEDA and Krungsri accounts' months arrive as the
banks' own export files through the real import service, so the Imports page has
files to show. No HTTP at seed time (the web server is not running yet)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from decimal import Decimal

from django.utils import timezone

from core.periods import zone_for_currency
from merchants.models import Account, Merchant
from sandbox.feed import balance_before, statement_items
from statements.clients.feed import parse_item
from statements.models import Source, Transaction
from statements.services.feed_sync import _draft
from statements.services.imports import statement_file_import
from statements.services.ledger_rows import transaction_rows_insert

_COUNTERPARTIES = [
    "Sok Dara",
    "Chan Sophea",
    "Lim Heng",
    "Keo Vanna",
    "Srey Mom",
    "Bopha Mart",
]


def seed_demo_data(*, merchant: Merchant, accounts: list[Account]) -> None:
    """Insert 30 days of lines per bank account (natural keys make a re-run a
    no-op)."""
    today = timezone.localdate()
    for account in accounts:
        if account.provider == "bakong":
            continue  # its lines are its paid codes
        if Transaction.objects.filter(account=account).exists():
            continue
        if account.provider == "hattha":
            _seed_from_sandbox_feed(merchant=merchant, account=account, today=today)
            continue
        if account.provider == "acleda" and account.currency == "KHR":
            _seed_acleda_import(account=account, today=today)
            continue
        if account.provider == "krungsri":
            _seed_krungsri_import(account=account, today=today)
            continue
        raise ValueError(f"no demo statement for a {account.provider} account")


def _seed_from_sandbox_feed(*, merchant: Merchant, account: Account, today) -> None:
    start = today - dt.timedelta(days=30)
    zone = zone_for_currency(account.currency)
    items = statement_items(account.number, start, today, account.currency)
    drafts = [_draft(parse_item(item), account, zone) for item in items]
    transaction_rows_insert(account=account, lines=drafts, source=Source.FEED)
    closing = balance_before(
        account.number, today + dt.timedelta(days=1), account.currency
    )
    Account.objects.filter(pk=account.pk).update(
        current_balance=closing, available_balance=closing, balance_as_of=timezone.now()
    )


def _seed_krungsri_import(*, account: Account, today) -> None:
    """A month of the Thai account as Krungsri's online statement exports it
    (UTF-16, tab-separated, Buddhist-Era dates), through the real import: Thai
    customers paying dollar invoices in baht by PromptPay, and supplier
    payments."""
    rng = random.Random(f"demo-{account.number}")  # noqa: S311 - demo data
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\r\n")
    writer.writerow(
        [
            "Date",
            "Time",
            "Description",
            "Channel",
            "Withdrawal",
            "Deposit",
            "Balance",
            "Reference",
            "Original Amount",
            "Original Currency",
            "Exchange Rate",
            "Fee",
        ]
    )
    balance = Decimal("1500.00")
    for day_offset in range(30, 0, -1):
        day = today - dt.timedelta(days=day_offset)
        for n in range(rng.randint(1, 4)):
            credit = rng.random() < 0.75
            amount = Decimal(rng.randint(150, 9000)) / 100
            balance += amount if credit else -amount
            payer = rng.choice(_COUNTERPARTIES)
            writer.writerow(
                [
                    f"{day.day:02d}/{day.month:02d}/{day.year + 543}",
                    f"{8 + n * 3:02d}:{rng.randint(0, 59):02d}",
                    f"PromptPay from {payer}" if credit else "Supplier payment",
                    "PromptPay" if credit else "Transfer",
                    "" if credit else f"{amount:,.2f}",
                    f"{amount:,.2f}" if credit else "",
                    f"{balance:,.2f}",
                    f"INV-T{day:%m%d}-{n}" if credit else f"PAY{day:%y%m%d}{n}",
                    "",
                    "",
                    "",
                    "",
                ]
            )
    statement_file_import(
        account=account,
        file_bytes=out.getvalue().encode("utf-16"),
        filename=f"Krungsri_{account.number}_{today:%Y%m}.txt",
        preset="krungsri",
    )
    Account.objects.filter(pk=account.pk).update(
        current_balance=balance, available_balance=balance, balance_as_of=timezone.now()
    )


def _seed_acleda_import(*, account: Account, today) -> None:
    rng = random.Random(f"demo-acleda-{account.number}")  # noqa: S311 - demo data
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["ACLEDA Bank Plc. - Account Statement"])
    writer.writerow([f"Account: {account.number}", "Currency: KHR"])
    writer.writerow([])
    writer.writerow(
        [
            "Trans. Date",
            "Value Date",
            "Reference No.",
            "Description",
            "Debit",
            "Credit",
            "Balance",
        ]
    )
    balance = 2_000_000
    for day_offset in range(30, 0, -1):
        day = today - dt.timedelta(days=day_offset)
        for n in range(rng.randint(1, 3)):
            credit = rng.random() < 0.7
            amount = rng.randint(5, 500) * 100
            balance += amount if credit else -amount
            writer.writerow(
                [
                    f"{day:%d/%m/%Y} {8 + n * 4:02d}:{rng.randint(0, 59):02d}:00",
                    f"{day:%d/%m/%Y}",
                    f"FT{day:%y%m%d}{n}",
                    "ទទួលប្រាក់ KHQR" if credit else "ផ្ទេរប្រាក់ទៅអ្នកផ្គត់ផ្គង់",
                    "" if credit else f"{amount:,}",
                    f"{amount:,}" if credit else "",
                    f"{balance:,}",
                ]
            )
    data = b"\xef\xbb\xbf" + out.getvalue().encode()
    statement_file_import(
        account=account,
        file_bytes=data,
        filename=f"ACLEDA_{account.number}_{today:%Y%m}.csv",
        preset="acleda",
    )
    Account.objects.filter(pk=account.pk).update(
        current_balance=Decimal(balance),
        available_balance=Decimal(balance),
        balance_as_of=timezone.now(),
    )
