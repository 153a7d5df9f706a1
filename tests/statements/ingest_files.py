"""Builders of statement files for the import tests (bytes, as a bank would send)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

from statements.canonical import CANONICAL_COLUMNS

CANONICAL_HEADER = list(CANONICAL_COLUMNS)


def csv_bytes(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    bom: bool = False,
) -> bytes:
    import csv

    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    text = out.getvalue()
    data = text.encode(encoding)
    if bom and encoding == "utf-8":
        data = b"\xef\xbb\xbf" + data
    return data


def canonical(rows: Iterable[dict[str, object]]) -> bytes:
    return csv_bytes(
        CANONICAL_HEADER,
        ([row.get(name, "") for name in CANONICAL_HEADER] for row in rows),
    )


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def line_draft(**changes: object):
    """A validated ledger-line draft (as the parser makes them), for tests that
    write to the ledger past the parser; `changes` are LineDraft fields."""
    import datetime as dt
    from decimal import Decimal

    from statements.imports.parse import LineDraft

    base = LineDraft(
        row=2,
        external_id="K1",
        posted_at=dt.datetime(2026, 4, 3, 2, 0, tzinfo=dt.UTC),
        value_date=dt.date(2026, 4, 3),
        amount=Decimal("10.00"),
        currency="USD",
        channel="KHQR",
        counterparty_name="",
        counterparty_account="",
        reference="",
        bakong_hash="",
        description="",
        balance_after=None,
        original_amount=None,
        original_currency="",
        fx_rate=None,
        fee=None,
        has_bank_id=True,
    )
    return base._replace(**changes)
