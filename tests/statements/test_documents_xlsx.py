"""The XLSX statement read back with openpyxl: numbers are numbers with the
currency's format, dates are dates, formula text is inert, totals are exact."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import openpyxl
import pytest

from statements.documents import render_statement
from tests.statements.factories import PP, line, november_ledger

NOV_1, NOV_30 = dt.date(2026, 11, 1), dt.date(2026, 11, 30)


def _render(account, tmp_path):
    return render_statement(
        account=account,
        date_from=NOV_1,
        date_to=NOV_30,
        fmt="xlsx",
        out=tmp_path / "s.xlsx",
    )


@pytest.mark.django_db
def test_xlsx_statement_amounts_are_numbers_that_add_up_to_the_ledger(
    khr_account, tmp_path
):
    # given
    amounts = ["1500000", "-250300", "999999", "-1", "123456789012"]
    november_ledger(khr_account, amounts)

    # when
    result = _render(khr_account, tmp_path)

    # then
    book = openpyxl.load_workbook(result.path, read_only=False)
    sheet = book["Lines"]
    header = [c.value for c in sheet[1]]
    amount_col = header.index("Amount")
    balance_col = header.index("Balance")
    rows = list(sheet.iter_rows(min_row=2))
    assert all(r[amount_col].data_type == "n" for r in rows)
    assert sum(Decimal(str(r[amount_col].value)) for r in rows) == Decimal(
        "123459038710"
    )
    assert Decimal(str(rows[-1][balance_col].value)) == Decimal("123459038710")
    assert rows[0][amount_col].number_format == "#,##0"
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:R6"
    summary = {
        r[0].value: r[1].value for r in book["Summary"].iter_rows() if r[0].value
    }
    assert Decimal(str(summary["Closing balance"])) == Decimal("123459038710")
    assert summary["Lines"] == 5


@pytest.mark.django_db
def test_xlsx_statement_dates_are_dates_in_local_time(account, tmp_path):
    # given a line at 23:30 Phnom Penh time (16:30 UTC)
    line(account, dt.datetime(2026, 11, 3, 23, 30, tzinfo=PP), "12.34")

    # when
    result = _render(account, tmp_path)

    # then
    sheet = openpyxl.load_workbook(result.path)["Lines"]
    posted, value_date = sheet.cell(2, 2), sheet.cell(2, 3)
    assert posted.value == dt.datetime(2026, 11, 3, 23, 30)
    assert posted.is_date and value_date.is_date
    assert value_date.value.date() == dt.date(2026, 11, 3)
    assert sheet.cell(2, 10).number_format == "#,##0.00"
    assert Decimal(str(sheet.cell(2, 10).value)) == Decimal("12.34")


@pytest.mark.django_db
def test_xlsx_statement_keeps_formula_looking_text_inert(account, tmp_path):
    # given
    evil = '=HYPERLINK("http://x","click")'
    line(
        account,
        dt.datetime(2026, 11, 4, 9, tzinfo=PP),
        "-5.00",
        counterparty_name=evil,
        reference="@SUM(1)",
        description="ហាង Khmer shop",
    )

    # when
    result = _render(account, tmp_path)

    # then no cell anywhere is a formula; the text is kept as typed, quote-prefixed
    book = openpyxl.load_workbook(result.path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            assert all(c.data_type != "f" for c in row)
    sheet = book["Lines"]
    counterparty, reference = sheet.cell(2, 5), sheet.cell(2, 7)
    assert (counterparty.value, counterparty.data_type) == (evil, "s")
    assert counterparty.quotePrefix and reference.quotePrefix
    assert sheet.cell(2, 9).value == "ហាង Khmer shop"
    assert sheet.cell(2, 10).data_type == "n" and sheet.cell(2, 10).value == -5
