"""The canonical statement CSV plus the running balance, streamed line by line."""

from __future__ import annotations

import csv
from typing import TextIO

from statements.documents.common import (
    AMOUNT,
    BAKONG_HASH,
    BALANCE,
    BALANCE_AFTER,
    CHANNEL,
    COUNTERPARTY,
    COUNTERPARTY_ACCOUNT,
    CSV_COLUMNS,
    CURRENCY,
    DESCRIPTION,
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
    plain_amount,
)


def csv_rows(context: StatementContext):
    """The header, then one list of cells per line (text cells made inert)."""
    zone = context.zone
    yield list(CSV_COLUMNS)
    for row in context.rows():
        currency = row[CURRENCY]
        original_currency = row[ORIGINAL_CURRENCY]
        yield [
            inert_text(row[EXTERNAL_ID]),
            row[POSTED_AT].astimezone(zone).isoformat(),
            row[VALUE_DATE].isoformat(),
            plain_amount(row[AMOUNT], currency),
            currency,
            row[CHANNEL],
            inert_text(row[COUNTERPARTY]),
            inert_text(row[COUNTERPARTY_ACCOUNT]),
            inert_text(row[REFERENCE]),
            inert_text(row[BAKONG_HASH]),
            inert_text(row[DESCRIPTION]),
            plain_amount(row[BALANCE_AFTER], currency),
            plain_amount(row[ORIGINAL_AMOUNT], original_currency or currency),
            original_currency,
            "" if row[FX_RATE] is None else format(row[FX_RATE], "f"),
            plain_amount(row[FEE], currency),
            plain_amount(row[BALANCE], currency),
        ]


def csv_write(context: StatementContext, stream: TextIO) -> int:
    """Write the CSV to a text stream; return the number of lines written."""
    writer = csv.writer(stream, lineterminator="\n")
    count = -1
    for cells in csv_rows(context):
        writer.writerow(cells)
        count += 1
    return count
