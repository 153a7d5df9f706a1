"""Recognising a bank's file, and reading its dates, only on proof (tracker issue 11,
point 12): a preset is recognised by headers that are that bank's own; the preview
says how; a Buddhist-era shift needs a Buddhist-era year; a date far outside the
plausible range is a warning before the import, an impossible one an error."""

from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal

import pytest
from django.urls import reverse
from freezegun import freeze_time

from core.periods import BANGKOK, PHNOM_PENH
from statements.imports import PRESETS, read_table
from statements.imports.parse import normalise_header, parse_table, recognise
from statements.services.imports import (
    import_batch_stage,
    statement_file_import,
    statement_file_preview,
)
from tests.statements.ingest_files import canonical, csv_bytes, xlsx_bytes

# the header line of the file in the issue (a Cambodian bank's KHR export)
ISSUE_HEADER = [
    "Date",
    "Time",
    "Ref No",
    "Details",
    "Withdrawal",
    "Deposit",
    "Balance",
    "Remark",
]
ISSUE_ROWS = [
    ["01/10/2026", "08:15", "FT001", "Cash deposit branch Toul Kork", "", "500,000",
     "2,500,000", ""],
    ["02/10/2026", "14:40", "FT002", "Transfer to supplier", "120,000", "",
     "2,380,000", ""],
]  # fmt: skip


def _table(data: bytes):
    return read_table(
        data, "s.csv", max_rows=1000, max_bytes=10_000_000, encodings=["utf-8"]
    )


def test_no_header_of_a_signature_is_one_another_preset_reads():
    # then: a signature header is that bank's own among the presets
    for key, spec in PRESETS.items():
        assert spec["signatures"], key
        others = {
            normalise_header(spelling)
            for other, other_spec in PRESETS.items()
            if other != key
            for spellings in other_spec["columns"].values()
            for spelling in spellings
        }
        own = {
            normalise_header(s)
            for spellings in spec["columns"].values()
            for s in spellings
        }
        for signature in spec["signatures"]:
            for header in signature:
                assert normalise_header(header) in own, (key, header)
                assert normalise_header(header) not in others, (key, header)


def test_the_issues_header_line_is_recognised_as_no_bank():
    # given the issue's header, which shares Date, Time, Withdrawal, Deposit and
    # Balance with Krungsri's export
    table = _table(csv_bytes(ISSUE_HEADER, ISSUE_ROWS))
    # when
    recognition = recognise(table)
    # then
    assert recognition.preset == ""
    assert recognition.message == "No bank recognised: map the columns"


@pytest.mark.django_db
@freeze_time("2026-12-03 10:00:00+07:00")
def test_the_issues_khr_file_asks_for_a_mapping_instead_of_shifting_its_dates(
    khr_account,
):
    # given the issue's file on a KHR account
    data = csv_bytes(ISSUE_HEADER, ISSUE_ROWS)
    # when
    preview = statement_file_preview(
        account=khr_account, file_bytes=data, filename="oct.csv"
    )
    # then nothing is read by another bank's rules
    assert preview.parse.preset == ""
    assert preview.parse.recognition.message == "No bank recognised: map the columns"
    assert preview.sample == []
    assert "no bank recognised" in preview.errors[0]["message"]


@pytest.mark.django_db
@freeze_time("2026-12-03 10:00:00+07:00")
def test_the_issues_file_read_with_a_chosen_preset_keeps_its_gregorian_years(
    khr_account,
):
    # given the issue's file, read with the Krungsri layout the user chose and
    # its reference and description mapped
    data = csv_bytes(ISSUE_HEADER, ISSUE_ROWS)
    # when
    preview = statement_file_preview(
        account=khr_account,
        file_bytes=data,
        filename="oct.csv",
        preset="krungsri",
        mapping={"reference": "Ref No", "description": "Details"},
    )
    # then 2026 stays 2026: no Buddhist-era year proves a shift
    assert preview.errors == []
    assert preview.parse.recognition.message == "Read as Krungsri, the format chosen"
    first, second = preview.sample
    assert first.posted_at == dt.datetime(2026, 10, 1, 8, 15, tzinfo=PHNOM_PENH)
    assert first.amount == Decimal("500000") and first.channel == "OTHER"
    assert second.channel == "TRANSFER"
    assert preview.parse.notes == [] and preview.parse.warnings == []


def test_buddhist_era_years_are_read_as_gregorian_and_the_preview_says_so():
    # given a Krungsri export with Thai headers and Buddhist-era years
    data = csv_bytes(
        ["วันที่", "เวลา", "รายการ", "ถอนเงิน", "ฝากเงิน", "ยอดคงเหลือ"],
        [
            ["03/04/2569", "09:21", "โอนเงิน", "250.00", "", "51,250.00"],
            ["04/04/2569", "10:00", "PromptPay รับเงิน", "", "1,000.00", "52,250.00"],
        ],
    )
    table = _table(data)
    # when
    result = parse_table(table, preset=None, mapping=None, currency="THB", zone=BANGKOK)
    # then
    assert result.errors == []
    assert result.recognition.message == (
        "Recognised as Krungsri by its headers 'ถอนเงิน', 'ฝากเงิน'"
    )
    transfer, promptpay = result.lines
    assert transfer.posted_at == dt.datetime(2026, 4, 3, 9, 21, tzinfo=BANGKOK)
    assert (transfer.channel, promptpay.channel) == ("TRANSFER", "TRANSFER")
    assert result.notes == [
        "2 date(s) carry a Buddhist-era year (above 2400) and were read as "
        "Gregorian (year − 543)"
    ]


def test_a_spreadsheets_buddhist_era_date_cell_is_read_as_gregorian():
    # given Krungsri's workbook whose date cells carry the Buddhist-era year
    data = xlsx_bytes(
        ["Date", "Description", "Withdrawal", "Deposit", "Exchange Rate"],
        [
            [dt.datetime(2569, 4, 3, 9, 21), "Transfer", 250, None, None],
            [dt.datetime(2026, 4, 4, 10, 0), "Transfer", 100, None, None],
        ],
    )
    table = read_table(
        data, "s.xlsx", max_rows=10, max_bytes=1_000_000, encodings=["utf-8"]
    )
    # when
    result = parse_table(table, preset=None, mapping=None, currency="THB", zone=BANGKOK)
    # then the Buddhist-era cell is shifted, the Gregorian one is not
    assert result.errors == []
    assert [x.posted_at.date() for x in result.lines] == [
        dt.date(2026, 4, 3),
        dt.date(2026, 4, 4),
    ]
    assert result.era_shifted == 1


def test_a_gregorian_year_in_a_buddhist_era_layout_is_read_as_written():
    # given Krungsri's English layout with a year that is no Buddhist-era year
    data = csv_bytes(
        ["Date", "Time", "Description", "Withdrawal", "Deposit", "Exchange Rate"],
        [["03/04/2026", "09:21", "Transfer", "250.00", "", ""]],
    )
    # when
    result = parse_table(
        _table(data), preset=None, mapping=None, currency="THB", zone=BANGKOK
    )
    # then
    assert result.preset == "krungsri" and result.errors == []
    assert result.lines[0].posted_at.year == 2026 and result.notes == []


def test_the_preview_names_the_headers_it_recognised_a_bank_by():
    # given an ACLEDA export
    data = csv_bytes(
        [
            "Trans. Date",
            "Value Date",
            "Reference No.",
            "Description",
            "Debit",
            "Credit",
        ],
        [["03/04/2026 09:21:04", "03/04/2026", "FT1", "ទូទាត់ KHQR", "", "125,000"]],
    )
    # when
    result = parse_table(
        _table(data), preset=None, mapping=None, currency="KHR", zone=PHNOM_PENH
    )
    # then
    assert result.recognition.message == (
        "Recognised as ACLEDA Bank by its headers 'Trans. Date', 'Reference No.'"
    )


@pytest.mark.django_db
@freeze_time("2026-12-03 10:00:00+07:00")
def test_dates_far_from_the_usual_range_are_warnings_and_the_file_still_imports(
    account,
):
    # given a line from 1999, one booked (value date) and one posted two weeks ahead
    rows = [
        {"txn_id": "OLD", "posted_at": "1999-12-31T10:00:00+07:00", "amount": "1.00"},
        {"txn_id": "NOW", "posted_at": "2026-12-02T10:00:00+07:00", "amount": "2.00",
         "value_date": "2026-12-20"},
        {"txn_id": "NEXT", "posted_at": "2026-12-17T10:00:00+07:00", "amount": "3.00"},
    ]  # fmt: skip
    data = canonical({**r, "currency": "USD"} for r in rows)
    # when
    preview = statement_file_preview(account=account, file_bytes=data, filename="s.csv")
    # then the preview warns about each, once, before anything is written
    assert preview.errors == []
    warned = [(w.row, w.field) for w in preview.parse.warnings]
    assert warned == [(2, "posted_at"), (3, "value_date"), (4, "posted_at")]
    assert "1999-12-31 is far from the usual dates" in preview.parse.warnings[0].message
    # when imported anyway
    result = statement_file_import(account=account, file_bytes=data, filename="s.csv")
    # then every line is in, and the result repeats the warnings
    assert result.errors == [] and result.inserted == 3
    assert len(result.warnings) == 3


@pytest.mark.django_db
@freeze_time("2026-12-03 10:00:00+07:00")
def test_an_impossible_date_is_a_row_error(account):
    # given the issue's year as a wrong shift would have made it
    line = {"amount": "1.00", "currency": "USD"}
    data = canonical(
        [
            {**line, "txn_id": "T1", "posted_at": "1483-10-01T08:15:00+07:00"},
            {**line, "txn_id": "T2", "posted_at": "2028-01-01T08:15:00+07:00"},
        ]
    )
    # when
    result = statement_file_import(account=account, file_bytes=data, filename="s.csv")
    # then
    assert result.inserted == 0
    assert [(e["row"], e["field"]) for e in result.errors] == [
        (2, "posted_at"),
        (3, "posted_at"),
    ]
    assert (
        "reads as 1483-10-01, a date no statement line can carry"
        in (result.errors[0]["message"])
    )


@pytest.mark.django_db
@freeze_time("2026-12-03 10:00:00+07:00")
def test_the_import_page_says_how_a_file_was_recognised(accountant_client, khr_account):
    # given the issue's file, uploaded without a format
    batch = import_batch_stage(
        account=khr_account,
        file_bytes=csv_bytes(ISSUE_HEADER, ISSUE_ROWS),
        filename="oct.csv",
    )
    # when
    page = accountant_client.get(reverse("statements:import-detail", args=[batch.pk]))
    # then
    body = html.unescape(page.content.decode())
    assert "No bank recognised: map the columns" in body
    assert "1483" not in body and "Recognised as krungsri" not in body
