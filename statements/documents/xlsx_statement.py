"""The XLSX statement: a Summary sheet and a Lines sheet, written with xlsxwriter in
constant_memory mode (rows go to disk as they are written; measured faster than
openpyxl's write-only mode, see bench/statements.py). Amounts are numbers with the
currency's number format, dates are dates, text is always a string cell and
formula-looking text also carries Excel's quote prefix, so it stays inert even when
a person edits the cell."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import xlsxwriter
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from core.money import CURRENCIES
from statements.balance_words import balance_warning_words
from statements.documents.common import (
    AMOUNT,
    BAKONG_HASH,
    BALANCE,
    BALANCE_AFTER,
    BILLER_CATEGORY,
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
    (gettext_noop("Transaction id"), 20),
    (gettext_noop("Posted at"), 17),
    (gettext_noop("Value date"), 11),
    (gettext_noop("Channel"), 12),
    (gettext_noop("Counterparty"), 28),
    (gettext_noop("Counterparty account"), 18),
    (gettext_noop("Reference"), 20),
    (gettext_noop("Bakong hash"), 14),
    (gettext_noop("Description"), 32),
    (gettext_noop("Amount"), 15),
    (gettext_noop("Currency"), 8),
    (gettext_noop("Balance"), 16),
    (gettext_noop("Bank balance after"), 16),
    (gettext_noop("Original amount"), 15),
    (gettext_noop("Original currency"), 9),
    (gettext_noop("FX rate"), 11),
    (gettext_noop("Fee"), 11),
    (gettext_noop("Biller category"), 16),
)
TEXT_COLUMNS = {0: EXTERNAL_ID, 4: COUNTERPARTY, 5: COUNTERPARTY_ACCOUNT}
TEXT_COLUMNS |= {6: REFERENCE, 7: BAKONG_HASH, 8: DESCRIPTION, 17: BILLER_CATEGORY}


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
    summary.set_column(1, 5, 18)
    row = 0

    def text(sheet, r: int, c: int, value: str, fmt=None) -> None:
        sheet.write_string(r, c, value, quoted if formula_looking(value) else fmt)

    text(summary, row, 0, _("Account statement"), title)
    row += 2
    facts = [
        (_("Merchant"), merchant.legal_name or merchant.display_name),
        (_("Merchant (Khmer)"), merchant.name_km),
        (_("Account"), context.account_label),
        (_("Account number"), context.account.number),
        (_("Currency"), currency),
        (
            _("Period"),
            _("%(start)s to %(end)s")
            % {
                "start": period.date_from.isoformat(),
                "end": period.date_to.isoformat(),
            },
        ),
        (_("Times shown in"), context.zone.key),
        (_("Generated at"), context.generated_local),
    ]
    for label, value in facts:
        text(summary, row, 0, label, bold)
        text(summary, row, 1, value or "")
        row += 1
    row += 1
    for label, value, fmt in (
        (_("Opening balance"), period.opening, money_bold),
        (_("Credits"), period.credits, money),
        (_("Debits"), period.debits, money),
        (_("Closing balance"), period.closing, money_bold),
    ):
        text(summary, row, 0, label, bold)
        summary.write_number(row, 1, value, fmt)
        row += 1
    text(summary, row, 0, _("Lines"), bold)
    summary.write_number(row, 1, period.lines)
    row += 2
    text(summary, row, 0, _("Totals by channel"), bold)
    row += 1
    for col, label in enumerate(
        (_("Channel"), _("Lines"), _("Credits"), _("Debits"), _("Net"))
    ):
        summary.write_string(row, col, label, header)
    row += 1
    for channel in period.channels:
        summary.write_string(row, 0, channel.channel)
        summary.write_number(row, 1, channel.count)
        summary.write_number(row, 2, channel.credits, money)
        summary.write_number(row, 3, channel.debits, money)
        summary.write_number(row, 4, channel.net, money)
        row += 1
    if context.billers:
        row += 1
        text(summary, row, 0, _("Bills and top-ups by biller category"), bold)
        row += 1
        labels = (
            _("Channel"),
            _("Biller category"),
            _("Lines"),
            _("Credits"),
            _("Debits"),
            _("Net"),
        )
        for col, label in enumerate(labels):
            summary.write_string(row, col, label, header)
        row += 1
        for biller in context.billers:
            summary.write_string(row, 0, biller.channel)
            text(summary, row, 1, biller.category or _("(none given)"))
            summary.write_number(row, 2, biller.count)
            summary.write_number(row, 3, biller.credits, money)
            summary.write_number(row, 4, biller.debits, money)
            summary.write_number(row, 5, biller.net, money)
            row += 1
    if period.original_totals or period.fees:
        row += 1
        text(summary, row, 0, _("Cross-border"), bold)
        row += 1
        for code, total in sorted(period.original_totals.items()):
            text(
                summary,
                row,
                0,
                _("Original amounts in %(currency)s") % {"currency": code},
            )
            summary.write_number(row, 1, total, original_formats.get(code, money))
            row += 1
        text(summary, row, 0, _("Fees (%(currency)s)") % {"currency": currency})
        summary.write_number(row, 1, period.fees, money)
        row += 1
    if period.warnings:
        row += 1
        text(summary, row, 0, _("Warnings"), bold)
        row += 1
        for message in period.warnings:
            text(summary, row, 0, balance_warning_words(message), warn)
            row += 1

    lines = workbook.add_worksheet("Lines", worksheet_class=LinesSheet)
    for col, (label, width) in enumerate(LINE_HEADERS):
        lines.set_column(col, col, width)
        lines.write_string(0, col, _(label), header)
    lines.freeze_panes(1, 0)
    count = lines.write_lines(
        context.rows(),
        zone=context.zone,
        styles={
            "money": money._get_xf_index(),
            "datetime": datetime_format._get_xf_index(),
            "date": date_format._get_xf_index(),
            "rate": rate_format._get_xf_index(),
            "quoted": quoted._get_xf_index(),
            **{
                f"money:{code}": fmt._get_xf_index()
                for code, fmt in original_formats.items()
            },
        },
    )
    lines.autofilter(0, 0, max(count, 1), len(LINE_HEADERS) - 1)
    return count


_COLUMN_LETTERS = [xl_col_to_name(col) for col in range(len(LINE_HEADERS))]
_EXCEL_EPOCH = dt.date(1899, 12, 30).toordinal()
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xml_text(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if _CONTROL.search(text):
        text = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    return text


def _serial(value: dt.datetime) -> str:
    """Excel's day number of a local wall-clock time (days since 1899-12-30)."""
    seconds = value.hour * 3600 + value.minute * 60 + value.second
    seconds += value.microsecond / 1e6
    return repr(value.toordinal() - _EXCEL_EPOCH + seconds / 86400)


class LinesSheet(Worksheet):
    """A worksheet that writes statement lines as ready-made row XML.

    xlsxwriter spends ~8 µs a cell in its generic cell path (about 9 s for 100,000
    lines of 18 columns here); the rows of a statement have a fixed shape, so they
    are written straight into the sheet's constant_memory row file, with the cell
    XML xlsxwriter itself writes. The header row, column widths, freeze panes and
    the autofilter still go through the public API.
    """

    def write_lines(self, rows, *, zone, styles: dict[str, int]) -> int:
        if not self.constant_memory:
            raise ValueError("LinesSheet needs constant_memory")
        self._write_single_row(1)  # flush the header row
        L = _COLUMN_LETTERS
        money = styles["money"]
        quoted = styles["quoted"]
        stamp, day, rate = styles["datetime"], styles["date"], styles["rate"]
        write = self.fh.write
        count = 0
        for count, line in enumerate(rows, start=1):
            r = count + 1
            cells = []
            for col, index in TEXT_COLUMNS.items():
                value = line[index]
                if value:
                    style = f' s="{quoted}"' if value[0] in "=+-@\t\r" else ""
                    space = (
                        ' xml:space="preserve"'
                        if value[0] == " " or value[-1] == " "
                        else ""
                    )
                    cells.append(
                        (col, f'<c r="{L[col]}{r}"{style} t="inlineStr"><is>'
                              f"<t{space}>{_xml_text(value)}</t></is></c>")
                    )  # fmt: skip
            posted = line[POSTED_AT].astimezone(zone)
            cells.append(
                (
                    1,
                    f'<c r="B{r}" s="{stamp}"><v>{_serial(posted)}</v></c>',
                )
            )
            booked = line[VALUE_DATE].toordinal() - _EXCEL_EPOCH
            cells.append((2, f'<c r="C{r}" s="{day}"><v>{booked}</v></c>'))
            cells.append(
                (3, f'<c r="D{r}" t="inlineStr"><is><t>{line[CHANNEL]}</t></is></c>')
            )
            cells.append((9, f'<c r="J{r}" s="{money}"><v>{line[AMOUNT]:f}</v></c>'))
            cells.append(
                (10, f'<c r="K{r}" t="inlineStr"><is><t>{line[CURRENCY]}</t></is></c>')
            )
            cells.append((11, f'<c r="L{r}" s="{money}"><v>{line[BALANCE]:f}</v></c>'))
            if line[BALANCE_AFTER] is not None:
                cells.append(
                    (12, f'<c r="M{r}" s="{money}"><v>{line[BALANCE_AFTER]:f}</v></c>')
                )
            if line[ORIGINAL_AMOUNT] is not None:
                code = line[ORIGINAL_CURRENCY]
                style = styles.get(f"money:{code}", money)
                cells.append(
                    (
                        13,
                        f'<c r="N{r}" s="{style}"><v>{line[ORIGINAL_AMOUNT]:f}</v></c>',
                    )
                )
                cells.append(
                    (14, f'<c r="O{r}" t="inlineStr"><is><t>{_xml_text(code)}</t>'
                         "</is></c>")
                )  # fmt: skip
            if line[FX_RATE] is not None:
                cells.append(
                    (
                        15,
                        f'<c r="P{r}" s="{rate}"><v>{line[FX_RATE]:f}</v></c>',
                    )
                )
            if line[FEE] is not None:
                cells.append((16, f'<c r="Q{r}" s="{money}"><v>{line[FEE]:f}</v></c>'))
            cells.sort()
            write(f'<row r="{r}">' + "".join(c for _, c in cells) + "</row>")
        if count:
            # what _check_dimensions would have recorded cell by cell
            self.dim_rowmax = max(self.dim_rowmax or 0, count)
            self.dim_colmax = len(LINE_HEADERS) - 1
            self.previous_row = count
        return count
