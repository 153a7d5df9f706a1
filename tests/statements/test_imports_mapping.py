"""A mapping rescues any layout: a single signed amount or a money-in / money-out
pair with its sign convention, a chosen date format (Buddhist era included), the
account's currency when the file has none, and the header row found below a
bank's title block. Errors name the file's own headers and quote the raw cell."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.periods import BANGKOK, PHNOM_PENH
from statements.imports import read_table
from statements.imports.mapping import MappingError, header_signature
from statements.imports.parse import parse_table
from tests.statements.ingest_files import csv_bytes

TODAY = dt.date(2026, 5, 10)

# a bank's export: a title block, then the headers, day-first dates, no currency
TITLE_BLOCK = [
    ["Phnom Penh Commercial Bank"],
    ["Account statement", ""],
    ["Account no.", "001-234-567"],
    ["Period", "01/04/2026 - 30/04/2026"],
    [],
]
HEADER = ["Txn Date", "Details", "Money In", "Money Out", "Balance"]
ROWS = [
    ["03/04/2026", "KHQR ហាងកាហ្វេ", "12,000", "", "112,000"],
    ["13/04/2026", "Transfer to supplier", "", "5,000", "107,000"],
]
ISSUE_MAPPING = {
    "posted_at": "Txn Date",
    "description": "Details",
    "credit": "Money In",
    "debit": "Money Out",
    "balance_after": "Balance",
    "date_format": "dmy",
}


def titled(rows=ROWS, header=HEADER) -> bytes:
    data = csv_bytes(TITLE_BLOCK[0], TITLE_BLOCK[1:] + [header] + rows)
    return data


def parse(data: bytes, *, mapping=None, preset=None, currency="KHR", zone=PHNOM_PENH):
    table = read_table(data, "s.csv", max_rows=1000, max_bytes=10**7)
    return parse_table(
        table,
        preset=preset,
        mapping=mapping,
        currency=currency,
        zone=zone,
        today=TODAY,
    )


def test_money_in_and_money_out_mapped_on_a_khr_account_read_without_a_currency():
    # given the issue's layout: a title block, Money In / Money Out, DD/MM/YYYY,
    # no currency column, on a KHR account
    # when mapped
    result = parse(titled(), mapping=ISSUE_MAPPING)
    # then every line reads, signed by its column, in the account's currency
    assert result.errors == []
    assert result.header_line == 6
    first, second = result.lines
    assert first.posted_at == dt.datetime(2026, 4, 3, tzinfo=PHNOM_PENH)
    assert (first.amount, first.currency) == (Decimal("12000"), "KHR")
    assert first.description == "KHQR ហាងកាហ្វេ" and first.channel == "KHQR"
    assert second.amount == Decimal("-5000") and second.value_date.day == 13
    assert result.recognition.message.startswith("No bank recognised: read with")


def test_the_header_row_below_a_title_block_is_found_before_any_mapping():
    # when an unrecognised file is opened
    result = parse(titled())
    # then its headers (not the bank's name) are offered for the mapping
    assert result.header_line == 6
    assert result.headers == HEADER
    assert "no bank recognised" in result.errors[0].message


def test_the_header_line_can_be_chosen():
    # given a file whose first wide text row is not the header
    data = csv_bytes(
        ["Branch", "City", "Officer", "Desk", "Note"],
        [HEADER, *ROWS],
    )
    # when the header is said to be on line 2
    result = parse(data, mapping={**ISSUE_MAPPING, "header_line": 2})
    # then
    assert result.errors == [] and result.header_line == 2
    assert len(result.lines) == 2


def test_day_first_dates_are_not_guessed_when_no_format_is_chosen():
    # given the mapping without a date format
    mapping = {k: v for k, v in ISSUE_MAPPING.items() if k != "date_format"}
    # when
    result = parse(titled(), mapping=mapping)
    # then the date is refused with a hint, never read month first or day first
    error = result.errors[0]
    assert (error.row, error.field, error.column) == (7, "posted_at", "Txn Date")
    assert error.message.startswith("Txn Date: '03/04/2026' is not a date")
    assert "choose the file's date format under Columns" in error.message


def test_month_first_dates_are_read_when_chosen():
    rows = [["04/13/2026", "x", "1", "", ""]]
    result = parse(titled(rows), mapping={**ISSUE_MAPPING, "date_format": "mdy"})
    assert result.errors == []
    assert result.lines[0].posted_at.date() == dt.date(2026, 4, 13)


@pytest.mark.parametrize(
    "raw, expected",
    [("03 Apr 2026", dt.date(2026, 4, 3)), ("03-Apr-2026 14:05", dt.date(2026, 4, 3))],
)
def test_day_month_name_year_dates_are_read_when_chosen(raw, expected):
    rows = [[raw, "x", "1", "", ""]]
    result = parse(titled(rows), mapping={**ISSUE_MAPPING, "date_format": "d_mon_y"})
    assert result.errors == []
    assert result.lines[0].posted_at.date() == expected


def test_buddhist_era_chosen_explicitly_shifts_every_year():
    # given Thai dates written in the Buddhist era, on a THB account
    rows = [["03/04/2569", "x", "1.00", "", ""]]
    mapping = {**ISSUE_MAPPING, "era": "buddhist"}
    # when
    result = parse(titled(rows), mapping=mapping, currency="THB", zone=BANGKOK)
    # then
    assert result.errors == []
    assert result.lines[0].posted_at == dt.datetime(2026, 4, 3, tzinfo=BANGKOK)


def test_buddhist_era_chosen_for_a_gregorian_file_is_an_error_not_a_shift():
    # given Gregorian years read as Buddhist era (2026 − 543 = 1483)
    mapping = {**ISSUE_MAPPING, "era": "buddhist"}
    # when
    result = parse(titled(), mapping=mapping)
    # then nothing is imported with a year no statement carries
    assert result.errors[0].field == "posted_at"
    assert "reads as 1483-04-03" in result.errors[0].message


def test_a_single_amount_column_with_money_out_positive():
    # given a card-style export: purchases positive, refunds negative
    header = ["Date", "Amount", "Memo"]
    data = csv_bytes(
        header, [["2026-04-03", "25.00", "fuel"], ["2026-04-04", "-5.00", "r"]]
    )
    mapping = {"posted_at": "Date", "amount": "Amount", "amount_mode": "signed_out"}
    # when
    result = parse(data, mapping=mapping, currency="USD")
    # then
    assert result.errors == []
    assert [line.amount for line in result.lines] == [
        Decimal("-25.00"),
        Decimal("5.00"),
    ]


def test_a_debit_credit_pair_whose_numbers_carry_their_sign():
    # given money out written "-5.00" in its column, and a refund "+1.00" there
    header = ["Date", "Out", "In"]
    data = csv_bytes(header, [["2026-04-03", "-5.00", ""], ["2026-04-04", "", "7.00"]])
    mapping = {
        "posted_at": "Date",
        "debit": "Out",
        "credit": "In",
        "amount_mode": "debit_credit_signed",
    }
    # when
    result = parse(data, mapping=mapping, currency="USD")
    # then the file's own signs are kept
    assert [line.amount for line in result.lines] == [Decimal("-5.00"), Decimal("7.00")]


def test_an_amount_and_a_direction_column():
    header = ["Date", "Amount", "Dr/Cr"]
    data = csv_bytes(header, [["2026-04-03", "5.00", "DR"], ["2026-04-03", "2", "CR"]])
    mapping = {"posted_at": "Date", "amount": "Amount", "direction": "Dr/Cr"}
    result = parse(data, mapping=mapping, currency="USD")
    assert [line.amount for line in result.lines] == [Decimal("-5.00"), Decimal("2.00")]


def test_a_comma_decimal_number_format():
    header = ["Date", "Amount"]
    data = csv_bytes(header, [["2026-04-03", "1.234,50"]], delimiter=";")
    mapping = {"posted_at": "Date", "amount": "Amount", "number_format": "1.234,56"}
    result = parse(data, mapping=mapping, currency="USD")
    assert result.lines[0].amount == Decimal("1234.50")


def test_a_required_field_left_unmapped_says_what_to_choose():
    # given debit mapped but not credit
    mapping = {"posted_at": "Txn Date", "debit": "Money Out", "date_format": "dmy"}
    # when
    result = parse(titled(), mapping=mapping)
    # then
    assert [e.field for e in result.errors] == ["amount"]
    assert "no column of the file is mapped to amount" in result.errors[0].message


def test_an_unknown_option_value_is_refused_by_name():
    with pytest.raises(MappingError, match="date_format: 'dd.mm' is not one of"):
        parse(titled(), mapping={**ISSUE_MAPPING, "date_format": "dd.mm"})


def test_an_unreadable_amount_names_the_files_header_and_quotes_the_raw_cell():
    # given the issue's example: the letter O for zeros in the Deposit column
    header = ["Date", "Withdrawal", "Deposit", "Balance"]
    data = csv_bytes(header, [["2026-04-03", "", "56,0OO", "1"]])
    mapping = {
        "posted_at": "Date",
        "debit": "Withdrawal",
        "credit": "Deposit",
        "balance_after": "Balance",
    }
    # when
    result = parse(data, mapping=mapping, currency="KHR")
    # then
    error = result.errors[0]
    assert error.message == "Deposit: '56,0OO' is not an amount"
    assert (error.row, error.field, error.column) == (2, "credit", "Deposit")
    assert error.as_dict()["column"] == "Deposit"


def test_both_columns_filled_names_both_headers_and_quotes_both_cells():
    header = ["Date", "Withdrawal", "Deposit"]
    data = csv_bytes(header, [["2026-04-03", "5", "7"]])
    mapping = {"posted_at": "Date", "debit": "Withdrawal", "credit": "Deposit"}
    result = parse(data, mapping=mapping, currency="KHR")
    assert result.errors[0].message == (
        "Withdrawal / Deposit: both are filled ('5' and '7'): one line is money in "
        "or out"
    )


def test_a_presets_error_names_the_banks_header_not_tonles_field():
    # given a Krungsri export whose Deposit cell has a letter O
    header = ["Date", "Time", "Description", "Withdrawal", "Deposit", "Exchange Rate"]
    data = csv_bytes(header, [["03/04/2569", "09:00", "x", "", "1,0O0.00", ""]])
    # when
    result = parse(data, preset="krungsri", currency="THB", zone=BANGKOK)
    # then
    assert result.errors[0].message == "Deposit: '1,0O0.00' is not an amount"


def test_the_header_signature_ignores_case_spacing_and_trailing_empty_cells():
    assert header_signature(["Txn  Date", "Money In", "", ""]) == header_signature(
        ["txn date", " money in"]
    )
    assert header_signature(["Txn Date", "Money In"]) != header_signature(
        ["Money In", "Txn Date"]
    )


def test_a_chosen_canonical_layout_with_money_in_and_out_mapped_needs_no_currency():
    # given the issue's complaint: the canonical layout chosen, Money Out -> debit
    # and Money In -> credit mapped, on a KHR account, no currency column
    header = ["txn_id", "posted_at", "Money In", "Money Out"]
    data = csv_bytes(header, [["T1", "2026-04-03T09:00:00+07:00", "", "5000"]])
    mapping = {"credit": "Money In", "debit": "Money Out"}
    # when
    result = parse(data, preset="tonle", mapping=mapping)
    # then neither 'amount' nor a currency column is demanded
    assert result.errors == []
    assert (result.lines[0].amount, result.lines[0].currency) == (
        Decimal("-5000"),
        "KHR",
    )
