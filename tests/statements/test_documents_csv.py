"""The CSV statement read back: canonical columns, running balance, exact totals,
formula text inert."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal

import pytest

from statements.documents import render_statement
from tests.statements.factories import PP, StatementFactory, line, november_ledger

NOV_1, NOV_30 = dt.date(2026, 11, 1), dt.date(2026, 11, 30)


def _read(path):
    with open(path, encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


@pytest.mark.django_db
def test_csv_statement_totals_equal_the_ledger_to_the_riel(khr_account, tmp_path):
    # given a riel account with lines, some before the period
    november_ledger(khr_account, ["1500000", "-250300", "999999", "-1"])
    line(khr_account, dt.datetime(2026, 10, 31, 9, 0, tzinfo=PP), "700000")

    # when
    result = render_statement(
        account=khr_account,
        date_from=NOV_1,
        date_to=NOV_30,
        fmt="csv",
        out=tmp_path / "s.csv",
    )

    # then the opening is the history before the period and every riel adds up
    rows = _read(result.path)
    assert [r["amount"] for r in rows] == ["1500000", "-250300", "999999", "-1"]
    assert result.opening == Decimal("700000")
    total = sum(Decimal(r["amount"]) for r in rows)
    assert result.closing == Decimal("700000") + total == Decimal("2949698")
    assert rows[-1]["balance"] == "2949698"
    assert [r["balance"] for r in rows][:2] == ["2200000", "1949700"]
    assert result.lines == 4


@pytest.mark.django_db
def test_csv_statement_has_the_canonical_columns_plus_balance(account, tmp_path):
    # given
    line(
        account,
        dt.datetime(2026, 11, 3, 23, 30, tzinfo=PP),
        "-29.60",
        channel="CROSSBORDER",
        counterparty_name="ร้านกาแฟ Bangkok",
        original_amount=Decimal("1000.00"),
        original_currency="THB",
        fx_rate=Decimal("0.0291"),
        fee=Decimal("0.50"),
        balance_after=Decimal("70.40"),
    )

    # when
    result = render_statement(
        account=account,
        date_from=NOV_1,
        date_to=NOV_30,
        fmt="csv",
        out=tmp_path / "s.csv",
    )

    # then
    with open(result.path, encoding="utf-8") as stream:
        header = stream.readline().strip().split(",")
    assert header == [
        "txn_id", "posted_at", "value_date", "amount", "currency", "channel",
        "counterparty", "counterparty_account", "reference", "bakong_hash",
        "description", "balance_after", "original_amount", "original_currency",
        "fx_rate", "fee", "biller_category", "balance",
    ]  # fmt: skip
    row = _read(result.path)[0]
    assert row["posted_at"] == "2026-11-03T23:30:00+07:00"
    assert row["value_date"] == "2026-11-03"
    assert (row["amount"], row["fee"], row["fx_rate"]) == ("-29.60", "0.50", "0.0291")
    assert (row["original_amount"], row["original_currency"]) == ("1000.00", "THB")
    assert row["counterparty"] == "ร้านกาแฟ Bangkok"


@pytest.mark.django_db
def test_csv_statement_makes_formula_text_inert_but_keeps_amounts_numeric(
    account, tmp_path
):
    # given text cells that a spreadsheet would run
    line(
        account,
        dt.datetime(2026, 11, 4, 9, 0, tzinfo=PP),
        "-5.00",
        counterparty_name='=HYPERLINK("http://x")',
        reference="+1+1",
        description="@SUM(A1)",
        counterparty_account="\tcmd",
    )

    # when
    result = render_statement(
        account=account,
        date_from=NOV_1,
        date_to=NOV_30,
        fmt="csv",
        out=tmp_path / "s.csv",
    )

    # then
    row = _read(result.path)[0]
    assert row["counterparty"] == '\'=HYPERLINK("http://x")'
    assert row["reference"] == "'+1+1"
    assert row["description"] == "'@SUM(A1)"
    assert row["counterparty_account"] == "'\tcmd"
    assert row["amount"] == "-5.00" and row["balance"] == "-5.00"


@pytest.mark.django_db
def test_csv_statement_opening_is_the_banks_own_figure_when_there_is_one(
    account, tmp_path
):
    # given the bank's statement for November opening at 1,000.00 and no history
    StatementFactory(
        account=account,
        period_start=NOV_1,
        period_end=NOV_30,
        opening_balance=Decimal("1000.00"),
        closing_balance=Decimal("1012.50"),
    )
    november_ledger(account, ["12.50"])

    # when
    result = render_statement(
        account=account,
        date_from=NOV_1,
        date_to=NOV_30,
        fmt="csv",
        out=tmp_path / "s.csv",
    )

    # then
    assert (result.opening, result.closing) == (Decimal("1000.00"), Decimal("1012.50"))
    assert _read(result.path)[0]["balance"] == "1012.50"


@pytest.mark.django_db
def test_csv_statement_round_trips_through_the_importer_without_new_lines(
    account, tmp_path
):
    # given lines of every kind, including Khmer, cross-border and formula text
    from statements.models import Transaction
    from statements.services.imports import statement_file_import

    november_ledger(account, ["10.00", "-2.50"], counterparty_name="ហាងតេស្ត")
    line(
        account,
        dt.datetime(2026, 11, 20, 23, 30, tzinfo=PP),
        "-29.60",
        channel="CROSSBORDER",
        counterparty_name="=SUM(A1)",
        original_amount=Decimal("1000.00"),
        original_currency="THB",
        fx_rate=Decimal("0.0301"),
        fee=Decimal("0.50"),
    )
    result = render_statement(
        account=account,
        date_from=NOV_1,
        date_to=NOV_30,
        fmt="csv",
        out=tmp_path / "s.csv",
    )
    before = Transaction.objects.filter(account=account).count()

    # when the exported statement is imported into the same account
    outcome = statement_file_import(
        account=account,
        file_bytes=result.path.read_bytes(),
        filename="s.csv",
    )

    # then every line is recognised as already there
    assert Transaction.objects.filter(account=account).count() == before == 3
    assert (outcome.inserted, outcome.skipped) == (0, 3)
