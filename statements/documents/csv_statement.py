"""The canonical statement CSV plus the running balance, streamed line by line."""

from __future__ import annotations

import csv
from typing import TextIO

from core.money import amount_to_wire, rate_to_wire
from statements.documents.common import (
    AMOUNT,
    BAKONG_HASH,
    BALANCE,
    BALANCE_AFTER,
    BILLER_CATEGORY,
    CHANNEL,
    COUNTERPARTY,
    COUNTERPARTY_ACCOUNT,
    CSV_COLUMNS,
    CURRENCY,
    DESCRIPTION,
    EXCEL_BOM,
    EXTERNAL_ID,
    FEE,
    FX_RATE,
    ORIGINAL_AMOUNT,
    ORIGINAL_CURRENCY,
    POSTED_AT,
    REFERENCE,
    VALUE_DATE,
    StatementContext,
    inert_text,
)


def csv_rows(context: StatementContext):
    """The header, then one list of cells per line (text cells made inert; an
    empty amount is None, which the csv module writes as an empty cell)."""
    zone = context.zone
    yield list(CSV_COLUMNS)
    for row in context.rows():
        currency = row[CURRENCY]
        original_currency = row[ORIGINAL_CURRENCY]
        yield [
            inert_text(row[EXTERNAL_ID]),
            row[POSTED_AT].astimezone(zone).isoformat(),
            row[VALUE_DATE].isoformat(),
            amount_to_wire(row[AMOUNT], currency),
            currency,
            row[CHANNEL],
            inert_text(row[COUNTERPARTY]),
            inert_text(row[COUNTERPARTY_ACCOUNT]),
            inert_text(row[REFERENCE]),
            inert_text(row[BAKONG_HASH]),
            inert_text(row[DESCRIPTION]),
            amount_to_wire(row[BALANCE_AFTER], currency),
            amount_to_wire(row[ORIGINAL_AMOUNT], original_currency or currency),
            original_currency,
            rate_to_wire(row[FX_RATE]),
            amount_to_wire(row[FEE], currency),
            inert_text(row[BILLER_CATEGORY]),
            amount_to_wire(row[BALANCE], currency),
        ]


def csv_write(context: StatementContext, stream: TextIO, *, excel: bool = False) -> int:
    """Write the CSV to a text stream; return the number of lines written. The
    canonical CSV (render_statement's contract) is plain UTF-8 with LF; `excel`
    starts it with a UTF-8 BOM and ends lines with CRLF, so a double-click in
    Excel reads Khmer and Thai text as such."""
    if excel:
        stream.write(EXCEL_BOM)
    writer = csv.writer(stream, lineterminator="\r\n" if excel else "\n")
    count = -1
    for cells in csv_rows(context):
        writer.writerow(cells)
        count += 1
    return count
