"""Statement documents, end to end from the database, beside the bare libraries.

    .venv/bin/python bench/statements.py                # 10,000 and 100,000 lines
    .venv/bin/python bench/statements.py --sizes 10000  # just one size
    .venv/bin/python bench/statements.py --pages 1000000  # the Transactions page
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tonle_bench \
        .venv/bin/python bench/statements.py            # on PostgreSQL

Builds (once) a bench SQLite database under var/bench/ with one account per size,
filled with bulk_create (one line in 20 a ThaiQR cross-border debit, one in 7 with a
Khmer counterparty, bill payments in three biller categories). Each case then runs
in its own subprocess, so the peak memory printed is that process's own maximum
resident set (ru_maxrss, which includes Python, Django and the libraries: ~60 MB
before any work):

  tonle pdf / xlsx / csv   render_statement(): balances, summary, running balance,
                           streamed from the DB (what the pages and packs do)
  bare reportlab canvas    the same rows (streamed from the same query), one
                           drawString per cell, no layout, no Khmer shaping
  bare openpyxl write-only the same rows appended, numbers as numbers
  bare xlsxwriter          the same rows, constant_memory, numbers as numbers
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DIR = ROOT / "var" / "bench"
DB_PATH = BENCH_DIR / "statements.sqlite3"
PERIOD = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
TARGETS = {
    ("pdf", 10_000): 1.5,
    ("pdf", 100_000): 15.0,
    ("xlsx", 100_000): 6.0,
}
MEMORY_TARGET_MB = 200
BILLERS = ("utilities", "internet", "insurance")
CASES = (
    "tonle-pdf",
    "bare-reportlab",
    "tonle-xlsx",
    "bare-openpyxl",
    "bare-xlsxwriter",
    "tonle-csv",
)


def _django() -> None:
    # DATABASE_URL=postgres://… benches PostgreSQL instead of the bench SQLite file
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{DB_PATH}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def prepare(sizes: list[int]) -> dict[int, int]:
    """The bench database with an account of each size; returns size -> account."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    _django()
    from decimal import Decimal

    from django.core.management import call_command

    from merchants.models import Account, Merchant
    from statements.models import Transaction

    call_command("migrate", verbosity=0, interactive=False)
    merchant, _ = Merchant.objects.get_or_create(
        legal_name="Bench Trading Co., Ltd.",
        defaults={
            "display_name": "Bench Trading",
            "name_km": "ហាងលក់ដុំ",
            "bakong_account_id": "bench@wing",
        },
    )
    accounts = {}
    zone = dt.timezone(dt.timedelta(hours=7))
    names = ["Sok Dara", "EDC electricity", "ហាងកាហ្វេ ស្រីមុំ", "Lucky Supermarket",
             "Chan Sophea", "Metfone top-up", "ABA Bank transfer"]  # fmt: skip
    for size in sizes:
        account, _ = Account.objects.get_or_create(
            merchant=merchant,
            provider="hattha",
            number=f"BENCH-{size}",
            defaults={"currency": "USD", "name": f"Bench {size:,}"},
        )
        accounts[size] = account.pk
        have = Transaction.objects.filter(account=account).count()
        if have == size:
            continue
        Transaction.objects.filter(account=account).delete()
        start = dt.datetime(2026, 1, 1, 8, 0, tzinfo=zone)
        step = 364 * 86400 / size  # 1 Jan .. 31 Dec, local days
        batch = []
        for n in range(size):
            cross = n % 20 == 19
            amount = (
                Decimal("-28.90")
                if cross
                else Decimal(((n * 7919) % 20000) - 8000) / 100
            )
            if amount == 0:
                amount = Decimal("1.00")
            posted = start + dt.timedelta(seconds=int(n * step))
            channel = "CROSSBORDER" if cross else ("KHQR", "TRANSFER", "BILL")[n % 3]
            batch.append(
                Transaction(
                    merchant=merchant,
                    account=account,
                    external_id=f"B{size}-{n:07d}",
                    posted_at=posted.astimezone(dt.UTC),
                    value_date=posted.date(),
                    amount=amount,
                    currency="USD",
                    channel=channel,
                    # the summary's table of bills by biller category
                    biller_category=BILLERS[n // 3 % len(BILLERS)]
                    if channel == "BILL"
                    else "",
                    counterparty_name=names[n % len(names)],
                    reference=f"INV-{n:07d}",
                    description="ThaiQR Bangkok" if cross else "",
                    original_amount=Decimal("-1000.00") if cross else None,
                    original_currency="THB" if cross else "",
                    fx_rate=Decimal("0.0284") if cross else None,
                    fee=Decimal("0.50") if cross else None,
                    source="feed",
                )
            )
            if len(batch) == 5000:
                Transaction.objects.bulk_create(batch)
                batch = []
        Transaction.objects.bulk_create(batch)
    return accounts


def _rows(account):
    from statements.models import Transaction

    return (
        Transaction.objects.filter(account=account)
        .order_by("posted_at", "pk")
        .values_list(
            "external_id", "posted_at", "value_date", "amount", "channel",
            "counterparty_name", "reference", "description",
        )
        .iterator(chunk_size=5000)
    )  # fmt: skip


def run_case(case: str, account_id: int, out_dir: Path) -> dict:
    """One case in this process: seconds and peak RSS."""
    _django()
    from merchants.models import Account

    account = Account.objects.select_related("merchant").get(pk=account_id)
    started = time.perf_counter()
    if case.startswith("tonle-"):
        from statements.documents import render_statement

        fmt = case.split("-", 1)[1]
        result = render_statement(
            account=account,
            date_from=PERIOD[0],
            date_to=PERIOD[1],
            fmt=fmt,
            out=out_dir / f"tonle.{fmt}",
        )
        lines, path = result.lines, result.path
    elif case == "bare-reportlab":
        from reportlab.lib.pagesizes import A4, landscape
        from reportlab.pdfgen.canvas import Canvas

        path = out_dir / "bare.pdf"
        canvas = Canvas(str(path), pagesize=landscape(A4))
        canvas.setFont("Helvetica", 7.5)
        y, lines = 560.0, 0
        for lines, row in enumerate(_rows(account), start=1):  # noqa: B007
            if y < 30:
                canvas.showPage()
                canvas.setFont("Helvetica", 7.5)
                y = 560.0
            canvas.drawString(28, y, f"{row[1]:%Y-%m-%d %H:%M}")
            canvas.drawString(94, y, f"{row[2]:%Y-%m-%d}")
            canvas.drawString(142, y, row[4])
            canvas.drawString(198, y, row[5][:34])
            canvas.drawString(346, y, row[6][:24])
            canvas.drawString(454, y, row[7][:48])
            canvas.drawRightString(732, y, f"{row[3]:,.2f}")
            y -= 10.5
        canvas.save()
    elif case == "bare-openpyxl":
        import openpyxl

        path = out_dir / "bare-openpyxl.xlsx"
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("Lines")
        lines = 0
        for lines, row in enumerate(_rows(account), start=1):  # noqa: B007
            sheet.append(
                [row[0], row[1].replace(tzinfo=None), row[2], row[4], row[5],
                 row[6], row[7], row[3]]
            )  # fmt: skip
        book.save(path)
    elif case == "bare-xlsxwriter":
        import xlsxwriter

        path = out_dir / "bare-xlsxwriter.xlsx"
        book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        sheet = book.add_worksheet("Lines")
        stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        lines = 0
        for lines, row in enumerate(_rows(account), start=1):
            sheet.write_string(lines, 0, row[0])
            sheet.write_datetime(lines, 1, row[1].replace(tzinfo=None), stamp)
            sheet.write_datetime(lines, 2, row[2], stamp)
            sheet.write_string(lines, 3, row[4])
            sheet.write_string(lines, 4, row[5])
            sheet.write_string(lines, 5, row[6])
            sheet.write_string(lines, 6, row[7])
            sheet.write_number(lines, 7, row[3])
        book.close()
    else:
        raise SystemExit(f"unknown case {case}")
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "case": case,
        "lines": lines,
        "seconds": round(seconds, 3),
        "peak_mb": round(peak_mb, 1),
        "bytes": path.stat().st_size,
    }


def page_bench(size: int) -> list[dict]:
    """The Transactions page and API over a ledger of `size` lines (one merchant):
    first page, a page deep in (by cursor), filtered pages; each timed."""
    prepare_ledger = size
    _django()
    from django.test import Client
    from django.test.utils import setup_test_environment

    from merchants.models import Membership, Merchant
    from merchants.services import api_key_create
    from statements.models import Transaction

    setup_test_environment()
    merchant = Merchant.objects.get(legal_name="Bench Trading Co., Ltd.")
    have = Transaction.objects.filter(merchant=merchant).count()
    if have < prepare_ledger:
        raise SystemExit(f"the bench ledger has {have} lines; run --prepare first")
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="bench-owner")
    Membership.objects.get_or_create(user=user, merchant=merchant, role="owner")
    client = Client()
    client.force_login(user)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {api_key_create(merchant=merchant)[1]}")
    results = []

    def timed(label: str, fetch) -> object:
        started = time.perf_counter()
        response = fetch()
        seconds = time.perf_counter() - started
        assert response.status_code == 200, (label, response.status_code)
        results.append({"case": label, "seconds": round(seconds, 3)})
        return response

    client.get("/statements/transactions/")  # warm up: templates, caches
    first = timed("page 1", lambda: client.get("/statements/transactions/"))
    cursor = first.context["page"].next_cursor
    for _ in range(20):  # walk 20 pages in
        page = client.get("/statements/transactions/", {"after": cursor})
        cursor = page.context["page"].next_cursor
    timed("page 22 (cursor)", lambda: client.get(
        "/statements/transactions/", {"after": cursor}))  # fmt: skip
    timed("channel=BILL", lambda: client.get(
        "/statements/transactions/", {"channel": "BILL"}))  # fmt: skip
    timed("q=Lucky", lambda: client.get(
        "/statements/transactions/", {"q": "Lucky"}))  # fmt: skip
    timed("sort=-amount", lambda: client.get(
        "/statements/transactions/", {"sort": "-amount"}))  # fmt: skip
    timed("one day (totals)", lambda: client.get(
        "/statements/transactions/",
        {"date_from": "2026-06-01", "date_to": "2026-06-01"}))  # fmt: skip
    timed("API limit=500", lambda: api.get(
        "/api/v1/transactions", {"limit": 500}))  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--case")
    parser.add_argument("--account", type=int)
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument(
        "--pages",
        type=int,
        metavar="N",
        help="time the Transactions page and API over an N-line ledger instead",
    )
    args = parser.parse_args()
    out_dir = BENCH_DIR / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.case:  # a child process: one case
        print(json.dumps(run_case(args.case, args.account, out_dir)))
        return
    if args.prepare:  # a child process: the bench database
        print(json.dumps(prepare(sizes)))
        return
    if args.pages:
        subprocess.run(
            [sys.executable, __file__, "--prepare", "--sizes", str(args.pages)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        print(f"Transactions page and API, merchant ledger of {args.pages:,}+ lines")
        for row in page_bench(args.pages):
            print(f"{row['case']:<20}{row['seconds']:>8.3f} s")
        return
    # The parent stays small (no Django): Linux keeps ru_maxrss across exec, so a
    # child forked from a big parent would report the parent's size.
    made = subprocess.run(
        [sys.executable, __file__, "--prepare", "--sizes", args.sizes],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    accounts = {int(k): v for k, v in json.loads(made.stdout.splitlines()[-1]).items()}
    where = os.environ.get("DATABASE_URL") or DB_PATH.relative_to(ROOT)
    print(f"statement documents (bench DB {where}, 2 cores)")
    header = f"{'case':<18}{'lines':>9}{'seconds':>10}{'lines/s':>10}"
    header += f"{'peak MB':>10}{'file MB':>10}  target"
    print(header)
    failures = []
    for size in sizes:
        # one untimed pass first, so no case pays for a cold page cache
        subprocess.run(
            [sys.executable, __file__, "--case", "tonle-csv", "--account",
             str(accounts[size])],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        for case in CASES:
            if case == "tonle-csv" and size != max(sizes):
                continue
            done = subprocess.run(
                [sys.executable, __file__, "--case", case, "--account",
                 str(accounts[size])],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            result = json.loads(done.stdout.strip().splitlines()[-1])
            kind = case.split("-", 1)[1]
            target = TARGETS.get((kind, size)) if case.startswith("tonle-") else None
            note = ""
            if target is not None:
                ok = (
                    result["seconds"] <= target
                    and result["peak_mb"] <= MEMORY_TARGET_MB
                )
                verdict = "ok" if ok else "MISSED"
                note = f"≤ {target:g} s, ≤ {MEMORY_TARGET_MB} MB: {verdict}"
                if not ok:
                    failures.append(case)
            rate = result["lines"] / result["seconds"] if result["seconds"] else 0
            print(
                f"{case:<18}{result['lines']:>9,}{result['seconds']:>10.2f}"
                f"{rate:>10,.0f}{result['peak_mb']:>10.1f}"
                f"{result['bytes'] / 1e6:>10.1f}  {note}"
            )
    if failures:
        print(f"missed targets: {', '.join(failures)}")


if __name__ == "__main__":
    main()
