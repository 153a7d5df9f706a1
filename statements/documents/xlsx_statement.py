"""The XLSX statement: a Summary sheet and a Lines sheet, written with xlsxwriter in
constant_memory mode (rows go to disk as they are written; measured faster than
openpyxl's write-only mode, see bench/statements.py). Amounts are numbers with the
currency's number format, dates are dates, text is always a string cell and
formula-looking text also carries Excel's quote prefix, so it stays inert even when
a person edits the cell."""

from __future__ import annotations

from pathlib import Path

import xlsxwriter

from core.money import CURRENCIES
from statements.documents.common import (
    AMOUNT,
    BAKONG_HASH,
    BALANCE,
    BALANCE_AFTER,
    CHANNEL,
    COUNTERPARTY,
    COUNTERPARTY_ACCOUNT,
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
    formula_looking,
)

LINE_HEADERS = (
    ("Transaction id", 20),
    ("Posted at", 17),
    ("Value date", 11),
    ("Channel", 12),
    ("Counterparty", 28),
    ("Counterparty account", 18),
    ("Reference", 20),
    ("Bakong hash", 14),
    ("Description", 32),
    ("Amount", 15),
    ("Currency", 8),
    ("Balance", 16),
    ("Bank balance after", 16),
    ("Original amount", 15),
    ("Original currency", 9),
    ("FX rate", 11),
    ("Fee", 11),
)
TEXT_COLUMNS = {0: EXTERNAL_ID, 4: COUNTERPARTY, 5: COUNTERPARTY_ACCOUNT}
TEXT_COLUMNS |= {6: REFERENCE, 7: BAKONG_HASH, 8: DESCRIPTION}


def number_format(currency: str) -> str:
    places = CURRENCIES[currency].places if currency in CURRENCIES else 2
    return "#,##0" if places == 0 else "#,##0." + "0" * places


def xlsx_write(context: StatementContext, path: Path) -> int:
    """Write the workbook to `path`; return the number of lines written."""
    workbook = xlsxwriter.Workbook(
        str(path), {"constant_memory": True, "strings_to_numbers": False}
    )
    try:
        return _write(workbook, context)
    finally:
        workbook.close()


def _write(workbook: xlsxwriter.Workbook, context: StatementContext) -> int:
    currency = context.currency
    bold = workbook.add_format({"bold": True})
    title = workbook.add_format({"bold": True, "font_size": 14})
    header = workbook.add_format({"bold": True, "bg_color": "#F1F3F6", "border": 1})
    money = workbook.add_format({"num_format": number_format(currency)})
    money_bold = workbook.add_format(
        {"num_format": number_format(currency), "bold": True}
    )
    original_formats = {
        code: workbook.add_format({"num_format": number_format(code)})
        for code in CURRENCIES
    }
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    rate_format = workbook.add_format({"num_format": "0.0000######"})
    quoted = workbook.add_format({"quote_prefix": True})
    warn = workbook.add_format({"font_color": "#A86400"})

    period = context.period
    merchant = context.merchant
    summary = workbook.add_worksheet("Summary")
    summary.set_column(0, 0, 28)
    summary.set_column(1, 4, 18)
    row = 0

    def text(sheet, r: int, c: int, value: str, fmt=None) -> None:
        sheet.write_string(r, c, value, quoted if formula_looking(value) else fmt)

    text(summary, row, 0, "Account statement", title)
    row += 2
    facts = [
        ("Merchant", merchant.legal_name or merchant.display_name),
        ("Merchant (Khmer)", merchant.name_km),
        ("Account", context.account_label),
        ("Account number", context.account.number),
        ("Currency", currency),
        ("Period", f"{period.date_from.isoformat()} to {period.date_to.isoformat()}"),
        ("Times shown in", context.zone.key),
        ("Generated at", context.generated_local),
    ]
    for label, value in facts:
        text(summary, row, 0, label, bold)
        text(summary, row, 1, value or "")
        row += 1
    row += 1
    for label, value, fmt in (
        ("Opening balance", period.opening, money_bold),
        ("Credits", period.credits, money),
        ("Debits", period.debits, money),
        ("Closing balance", period.closing, money_bold),
    ):
        text(summary, row, 0, label, bold)
        summary.write_number(row, 1, value, fmt)
        row += 1
    text(summary, row, 0, "Lines", bold)
    summary.write_number(row, 1, period.lines)
    row += 2
    text(summary, row, 0, "Totals by channel", bold)
    row += 1
    for col, label in enumerate(("Channel", "Lines", "Credits", "Debits", "Net")):
        summary.write_string(row, col, label, header)
    row += 1
    for channel in period.channels:
        summary.write_string(row, 0, channel.channel)
        summary.write_number(row, 1, channel.count)
        summary.write_number(row, 2, channel.credits, money)
        summary.write_number(row, 3, channel.debits, money)
        summary.write_number(row, 4, channel.net, money)
        row += 1
    if period.original_totals or period.fees:
        row += 1
        text(summary, row, 0, "Cross-border", bold)
        row += 1
        for code, total in sorted(period.original_totals.items()):
            text(summary, row, 0, f"Original amounts in {code}")
            summary.write_number(row, 1, total, original_formats.get(code, money))
            row += 1
        text(summary, row, 0, f"Fees ({currency})")
        summary.write_number(row, 1, period.fees, money)
        row += 1
    if period.warnings:
        row += 1
        text(summary, row, 0, "Warnings", bold)
        row += 1
        for message in period.warnings:
            text(summary, row, 0, message, warn)
            row += 1

    lines = workbook.add_worksheet("Lines")
    for col, (label, width) in enumerate(LINE_HEADERS):
        lines.set_column(col, col, width)
        lines.write_string(0, col, label, header)
    lines.freeze_panes(1, 0)
    zone = context.zone
    count = 0
    write_string = lines.write_string
    write_number = lines.write_number
    for count, line in enumerate(context.rows(), start=1):
        for col, index in TEXT_COLUMNS.items():
            value = line[index]
            if value:
                write_string(
                    count, col, value, quoted if value[0] in "=+-@\t\r" else None
                )
        lines.write_datetime(
            count,
            1,
            line[POSTED_AT].astimezone(zone).replace(tzinfo=None),
            datetime_format,
        )
        lines.write_datetime(count, 2, line[VALUE_DATE], date_format)
        write_string(count, 3, line[CHANNEL])
        write_number(count, 9, line[AMOUNT], money)
        write_string(count, 10, line[CURRENCY])
        write_number(count, 11, line[BALANCE], money)
        if line[BALANCE_AFTER] is not None:
            write_number(count, 12, line[BALANCE_AFTER], money)
        if line[ORIGINAL_AMOUNT] is not None:
            code = line[ORIGINAL_CURRENCY]
            write_number(
                count, 13, line[ORIGINAL_AMOUNT], original_formats.get(code, money)
            )
            write_string(count, 14, code)
        if line[FX_RATE] is not None:
            write_number(count, 15, line[FX_RATE], rate_format)
        if line[FEE] is not None:
            write_number(count, 16, line[FEE], money)
    lines.autofilter(0, 0, max(count, 1), len(LINE_HEADERS) - 1)
    return count
