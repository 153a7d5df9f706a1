"""The Transactions page's export: the lines of a filter in the page's sort, as CSV
(streamed; plain for scripts, or "Excel CSV" with a UTF-8 BOM and CRLF so a
double-click opens Khmer text correctly) or XLSX (xlsxwriter in constant memory),
in the canonical columns plus the account, the source and the line's flag. The
CSV keeps the canonical names and wire text; the XLSX has human headers, column
widths, amounts as numbers in their currency's places, dates as dates, a frozen
header and a filter. Text is made inert in both."""

from __future__ import annotations

import csv
import datetime as dt
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.db.models import QuerySet
from django.utils import timezone

from core.money import CURRENCIES, amount_to_wire, rate_to_wire
from core.periods import zone_for_currency
from statements.canonical import CANONICAL_COLUMNS, CANONICAL_LEDGER_FIELDS
from statements.documents.common import EXCEL_BOM, formula_looking, inert_text
from statements.models import Transaction
from statements.selectors import DEFAULT_SORT, SORTS

EXPORT_COLUMNS = ("account", *CANONICAL_COLUMNS, "source", "fx_mismatch")
# the workbook's header and width of each EXPORT_COLUMNS column
XLSX_HEADERS = {
    "account": ("Account", 16),
    "txn_id": ("Transaction id", 22),
    "posted_at": ("Posted at (account's local time)", 19),
    "value_date": ("Value date", 11),
    "amount": ("Amount", 15),
    "currency": ("Currency", 9),
    "channel": ("Channel", 12),
    "counterparty": ("Counterparty", 28),
    "counterparty_account": ("Counterparty account", 20),
    "reference": ("Reference", 22),
    "bakong_hash": ("Bakong hash", 16),
    "description": ("Description", 40),
    "balance_after": ("Bank balance after", 17),
    "original_amount": ("Original amount", 15),
    "original_currency": ("Original currency", 9),
    "fx_rate": ("FX rate", 12),
    "fee": ("Fee", 11),
    "biller_category": ("Biller category", 16),
    "source": ("Source", 10),
    "fx_mismatch": ("FX differs", 10),
}
_FIELDS = ("account__number", *CANONICAL_LEDGER_FIELDS, "source", "fx_mismatch")
_AT = {column: index for index, column in enumerate(EXPORT_COLUMNS)}
# amounts, each with the field holding its currency
_AMOUNTS = {
    _AT["amount"]: _AT["currency"],
    _AT["balance_after"]: _AT["currency"],
    _AT["original_amount"]: _AT["original_currency"],
    _AT["fee"]: _AT["currency"],
}
_POSTED_AT, _VALUE_DATE, _FX_RATE = _AT["posted_at"], _AT["value_date"], _AT["fx_rate"]
_CURRENCY, _FLAG = _AT["currency"], _AT["fx_mismatch"]
_CHUNK = 2000


def export_rows(
    queryset: QuerySet[Transaction], sort: str = DEFAULT_SORT
) -> Iterator[tuple]:
    """The filter's lines in the page's sort (newest first unless the page was
    sorted otherwise), as EXPORT_COLUMNS tuples of values."""
    if sort not in SORTS:
        sort = DEFAULT_SORT
    key = SORTS[sort]
    order = (f"-{key}", "-pk") if sort.startswith("-") else (key, "pk")
    return queryset.order_by(*order).values_list(*_FIELDS).iterator(chunk_size=_CHUNK)


def _csv_cells(row: tuple, zone: dt.tzinfo) -> list[str | None]:
    cells: list[str | None] = []
    for index, value in enumerate(row):
        if index in _AMOUNTS:
            code = row[_AMOUNTS[index]] or row[_CURRENCY]
            cells.append(amount_to_wire(value, code))
        elif index == _POSTED_AT:
            cells.append(value.astimezone(zone).isoformat())
        elif index == _VALUE_DATE:
            cells.append(value.isoformat())
        elif index == _FX_RATE:
            cells.append(rate_to_wire(value))
        elif index == _FLAG:
            cells.append("true" if value else "")
        else:
            cells.append(inert_text(value))
    return cells


class _Echo:
    def write(self, value: str) -> str:
        return value


def ledger_csv_stream(
    queryset: QuerySet[Transaction], *, sort: str = DEFAULT_SORT, excel: bool = False
) -> Iterator[str]:
    """The header, then one CSV text line per ledger line, as they are read;
    `excel` starts with a UTF-8 BOM and ends lines with CRLF."""
    writer = csv.writer(_Echo(), lineterminator="\r\n" if excel else "\n")
    zone = timezone.get_current_timezone()
    yield (EXCEL_BOM if excel else "") + writer.writerow(EXPORT_COLUMNS)
    for row in export_rows(queryset, sort):
        yield writer.writerow(_csv_cells(row, zone))


def ledger_xlsx_write(
    queryset: QuerySet[Transaction], *, sort: str = DEFAULT_SORT
) -> Path:
    """A workbook of the filter's lines in a temporary file (the caller sends and
    removes it); rows go to disk as they are written. Times are each account's
    local time (Bangkok for THB), as the statements show them."""
    import xlsxwriter

    from statements.documents.xlsx_statement import number_format

    handle, name = tempfile.mkstemp(prefix="tonle-export-", suffix=".xlsx")
    os.close(handle)
    workbook = xlsxwriter.Workbook(name, {"constant_memory": True})
    try:
        sheet = workbook.add_worksheet("Transactions")
        header = workbook.add_format(
            {"bold": True, "bg_color": "#F1F3F6", "border": 1, "text_wrap": True}
        )
        quoted = workbook.add_format({"quote_prefix": True})
        stamp = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        day = workbook.add_format({"num_format": "yyyy-mm-dd"})
        rate = workbook.add_format({"num_format": "0.0000######"})
        money = {
            code: workbook.add_format({"num_format": number_format(code)})
            for code in CURRENCIES
        }
        for col, column in enumerate(EXPORT_COLUMNS):
            title, width = XLSX_HEADERS[column]
            sheet.set_column(col, col, width)
            sheet.write_string(0, col, title, header)
        sheet.freeze_panes(1, 0)
        zones = {code: zone_for_currency(code) for code in CURRENCIES}
        count = 0
        for count, row in enumerate(export_rows(queryset, sort), start=1):
            for col, value in enumerate(row):
                if value is None or value == "":
                    continue
                if col == _POSTED_AT:
                    zone = zones.get(row[_CURRENCY]) or timezone.get_current_timezone()
                    local = value.astimezone(zone).replace(tzinfo=None)
                    sheet.write_datetime(count, col, local, stamp)
                elif col == _VALUE_DATE:
                    sheet.write_datetime(count, col, value, day)
                elif col in _AMOUNTS:
                    code = row[_AMOUNTS[col]] or row[_CURRENCY]
                    sheet.write_number(count, col, value, money.get(code))
                elif col == _FX_RATE:
                    sheet.write_number(count, col, value, rate)
                elif col == _FLAG:
                    if value:
                        sheet.write_boolean(count, col, True)
                else:
                    text = str(value)
                    sheet.write_string(
                        count, col, text, quoted if formula_looking(text) else None
                    )
        sheet.autofilter(0, 0, max(count, 1), len(EXPORT_COLUMNS) - 1)
    finally:
        workbook.close()
    return Path(name)
