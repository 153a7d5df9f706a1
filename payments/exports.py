"""The payments list's export: the requests of the current filter, in the page's
order, as CSV (streamed; plain for scripts, or "Excel CSV" with a UTF-8 BOM and
CRLF so a double-click opens Khmer text correctly) or XLSX (xlsxwriter in constant
memory: human headers, widths, amounts in their currency's places, local times, a
frozen header). Text a shop sent (order id, bill number, labels) is made inert."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.db.models import QuerySet

from core.money import CURRENCIES, amount_to_wire
from core.periods import zone_for_currency
from payments.models import PaymentRequest

EXCEL_BOM = "\ufeff"
FORMULA_STARTS = frozenset("=+-@\t\r")
# (field or lookup, CSV column, XLSX header, width)
COLUMNS = (
    ("created_at", "created_at", "Created (local time)", 19),
    ("order_id", "order_id", "Order id", 18),
    ("bill_number", "bill_number", "Bill number", 14),
    ("store_label", "store_label", "Store", 12),
    ("terminal_label", "terminal_label", "Terminal", 10),
    ("amount", "amount", "Amount", 14),
    ("currency", "currency", "Currency", 9),
    ("status", "status", "Status", 10),
    ("flag", "flag", "Flag", 14),
    ("paid_at", "paid_at", "Paid (local time)", 19),
    ("paid_amount", "paid_amount", "Paid amount", 14),
    ("paid_currency", "paid_currency", "Paid currency", 9),
    ("refunded_amount", "refunded_amount", "Refunded", 12),
    ("payer_account", "payer_account", "Payer account", 20),
    ("bakong_hash", "bakong_hash", "Bakong hash", 18),
    ("md5", "md5", "KHQR md5", 34),
    ("account__number", "account", "Account", 16),
    ("is_test", "is_test", "Test", 6),
)
_FIELDS = [c[0] for c in COLUMNS]
_AT = {c[1]: i for i, c in enumerate(COLUMNS)}
_TIMES = {_AT["created_at"], _AT["paid_at"]}
# amounts, each with the column holding its currency
_AMOUNTS = {
    _AT["amount"]: _AT["currency"],
    _AT["paid_amount"]: _AT["paid_currency"],
    _AT["refunded_amount"]: _AT["currency"],
}
_CURRENCY, _TEST = _AT["currency"], _AT["is_test"]


def inert_text(text: str) -> str:
    """Text a spreadsheet will not run (the OWASP CSV-injection rule)."""
    return "'" + text if text and text[0] in FORMULA_STARTS else text


def export_rows(queryset: QuerySet[PaymentRequest]) -> Iterator[tuple]:
    """The filter's requests in the page's order (newest first)."""
    return (
        queryset.order_by("-created_at", "-pk")
        .values_list(*_FIELDS)
        .iterator(chunk_size=2000)
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def payments_csv_stream(
    queryset: QuerySet[PaymentRequest], *, excel: bool = False
) -> Iterator[str]:
    """The header, then one line per request as they are read; `excel` starts
    with a UTF-8 BOM and ends lines with CRLF. Times are ISO 8601 with the offset
    of the request's local zone; amounts are wire text."""
    writer = csv.writer(_Echo(), lineterminator="\r\n" if excel else "\n")
    yield (EXCEL_BOM if excel else "") + writer.writerow(c[1] for c in COLUMNS)
    for row in export_rows(queryset):
        zone = zone_for_currency(row[_CURRENCY])
        cells: list[str | None] = []
        for index, value in enumerate(row):
            if index in _TIMES:
                cells.append(value.astimezone(zone).isoformat() if value else "")
            elif index in _AMOUNTS:
                code = row[_AMOUNTS[index]] or row[_CURRENCY]
                cells.append(amount_to_wire(value, code))
            elif index == _TEST:
                cells.append("true" if value else "")
            else:
                cells.append(inert_text(value or ""))
        yield writer.writerow(cells)


def payments_xlsx_write(queryset: QuerySet[PaymentRequest]) -> Path:
    """A workbook of the filter's requests in a temporary file (the caller sends
    and removes it); rows go to disk as they are written."""
    import xlsxwriter

    handle, name = tempfile.mkstemp(prefix="tonle-payments-", suffix=".xlsx")
    os.close(handle)
    workbook = xlsxwriter.Workbook(
        name, {"constant_memory": True, "strings_to_numbers": False}
    )
    try:
        sheet = workbook.add_worksheet("Payments")
        header = workbook.add_format(
            {"bold": True, "bg_color": "#F1F3F6", "border": 1, "text_wrap": True}
        )
        quoted = workbook.add_format({"quote_prefix": True})
        stamp = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        money = {
            code: workbook.add_format(
                {
                    "num_format": "#,##0"
                    if currency.places == 0
                    else "#,##0." + "0" * currency.places
                }
            )
            for code, currency in CURRENCIES.items()
        }
        for col, (_, _, title, width) in enumerate(COLUMNS):
            sheet.set_column(col, col, width)
            sheet.write_string(0, col, title, header)
        sheet.freeze_panes(1, 0)
        count = 0
        for count, row in enumerate(export_rows(queryset), start=1):
            zone = zone_for_currency(row[_CURRENCY])
            for col, value in enumerate(row):
                if value is None or value == "":
                    continue
                if col in _TIMES:
                    local = value.astimezone(zone).replace(tzinfo=None)
                    sheet.write_datetime(count, col, local, stamp)
                elif col in _AMOUNTS:
                    code = row[_AMOUNTS[col]] or row[_CURRENCY]
                    sheet.write_number(count, col, value, money.get(code))
                elif col == _TEST:
                    if value:
                        sheet.write_boolean(count, col, True)
                else:
                    text = str(value)
                    formula = text[0] in FORMULA_STARTS
                    sheet.write_string(count, col, text, quoted if formula else None)
        sheet.autofilter(0, 0, max(count, 1), len(COLUMNS) - 1)
    finally:
        workbook.close()
    return Path(name)
