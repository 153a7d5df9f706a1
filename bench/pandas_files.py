"""The pandas anchor on the month's files, as issue #12 words it ("within 5× the
pandas pipeline on the same files"): the invoice CSV a merchant imports and the
bank's statement CSV, read by pandas and put through the same reference join and
amount-and-date window as bench/reconcile.py's pipeline.

The other anchor (bench/reconcile.py, bench/reconcile_db.py) starts from frames
already in memory; this one pays for reading the files, as Tonle pays for
reading the database. KHQR codes come in no file, so the anchor holds the
invoices alone: it is the invoice month's anchor.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

# 1970-01-01 as a date.toordinal(): pandas counts days from there
_EPOCH_ORDINAL = 719_163


def _amount(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{whole}.{cents:02d}"


def files_write(scenario, folder: Path, *, period=None) -> tuple[Path, Path]:
    """The scenario's invoices and ledger lines as the two files people hand in:
    Tonle's invoice CSV and the canonical statement CSV (only the lines inside
    `period`, a (first, last) pair of dates, when given: what a run reads)."""
    from reconciliation.services.invoices import COLUMNS as INVOICE_COLUMNS
    from statements.canonical import CANONICAL_COLUMNS

    invoices, statement = folder / "invoices.csv", folder / "statement.csv"
    with invoices.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=INVOICE_COLUMNS)
        writer.writeheader()
        for i in scenario.invoices:
            writer.writerow(
                {
                    "invoice_number": i["number"],
                    "customer": i["customer"],
                    "amount": _amount(i["amount_minor"]),
                    "currency": i["currency"],
                    "issue_date": i["issue"].isoformat(),
                    "due_date": i["due"].isoformat(),
                    "customer_account": i["customer_account"],
                    "reference": "",
                }
            )
    with statement.open("w", newline="") as out:
        writer = csv.DictWriter(
            out, fieldnames=CANONICAL_COLUMNS, extrasaction="ignore"
        )
        writer.writeheader()
        for n, ln in enumerate(scenario.lines):
            if period and not period[0] <= ln["day"] <= period[1]:
                continue
            writer.writerow(
                {
                    "txn_id": ln["external_id"] or f"line-{n}",
                    "posted_at": f"{ln['day'].isoformat()}T12:00:00+07:00",
                    "value_date": ln["day"].isoformat(),
                    "amount": _amount(ln["amount_minor"]),
                    "currency": ln["currency"],
                    "counterparty": ln["counterparty"],
                    "counterparty_account": ln["counterparty_account"],
                    "reference": ln["reference"],
                    "bakong_hash": ln["bakong_hash"],
                    "description": ln["description"],
                }
            )
    return invoices, statement


def pandas_on_files(invoices: Path, statement: Path) -> float:
    """Seconds to read both files and run the pipeline (best of three)."""
    import pandas as pd

    from bench.reconcile import _pandas_pipeline

    def once() -> float:
        started = time.perf_counter()
        inv = pd.read_csv(invoices, dtype=str, keep_default_na=False)
        stm = pd.read_csv(statement, dtype=str, keep_default_na=False)

        def minor(column):
            return (pd.to_numeric(column) * 100).round().astype("int64")

        def days(column):
            return (
                pd.to_datetime(column, format="%Y-%m-%d")
                .to_numpy()
                .astype("datetime64[D]")
                .astype("int64")
                + _EPOCH_ORDINAL
            )

        frame_e = pd.DataFrame(
            {
                "eid": inv["invoice_number"],
                "key": inv["invoice_number"],
                "cur": inv["currency"],
                "amt": minor(inv["amount"]),
                "lo": days(inv["issue_date"]),
                "hi": days(inv["due_date"]) + 7,
            }
        )
        frame_p = pd.DataFrame(
            {
                "pid": stm["txn_id"],
                "text": stm["reference"] + " " + stm["description"],
                "cur": stm["currency"],
                "amt": minor(stm["amount"]),
                "day": days(stm["value_date"]),
            }
        )
        _pandas_pipeline(pd, frame_e, frame_p)
        return time.perf_counter() - started

    return min(once() for _ in range(3))
