"""Each bank preset reads a file laid out like that bank's export (pure parser, no
database): signs, dates, thousands separators, whole riel, Khmer text, encodings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.periods import BANGKOK, PHNOM_PENH
from statements.imports import parse_table, read_table
from tests.statements.ingest_files import canonical, csv_bytes, xlsx_bytes

UTC = dt.UTC


def parse(data: bytes, *, currency: str, preset: str | None, filename="s.csv"):
    table = read_table(
        data,
        filename,
        max_rows=1000,
        max_bytes=10_000_000,
        encodings=["utf-8", "utf-16"],
    )
    zone = BANGKOK if currency == "THB" else PHNOM_PENH
    return parse_table(table, preset=preset, mapping=None, currency=currency, zone=zone)


def test_canonical_csv_reads_signed_amounts_offsets_and_cross_border_fields():
    # given a canonical file with a credit and a ThaiQR debit in USD
    data = canonical(
        [
            {
                "txn_id": "T1",
                "posted_at": "2026-04-03T09:21:04+07:00",
                "amount": "12.50",
                "currency": "USD",
                "channel": "KHQR",
                "counterparty": "ហាងកាហ្វេ",
                "reference": "INV-7781",
                "balance_after": "1832.05",
            },
            {
                "txn_id": "T2",
                "posted_at": "2026-04-03T23:30:00+07:00",
                "amount": "-28.40",
                "currency": "USD",
                "channel": "CROSSBORDER",
                "original_amount": "1000.00",
                "original_currency": "THB",
                "fx_rate": "0.0289",
                "fee": "0.50",
            },
        ]
    )
    # when
    result = parse(data, currency="USD", preset=None)
    # then
    assert result.errors == []
    assert result.preset == "tonle"
    first, second = result.lines
    assert (first.external_id, first.amount, first.channel) == (
        "T1",
        Decimal("12.50"),
        "KHQR",
    )
    assert first.counterparty_name == "ហាងកាហ្វេ"
    assert first.posted_at.astimezone(UTC) == dt.datetime(
        2026, 4, 3, 2, 21, 4, tzinfo=UTC
    )
    assert first.balance_after == Decimal("1832.05")
    assert second.amount == Decimal("-28.40")
    assert (second.original_amount, second.original_currency) == (
        Decimal("1000.00"),
        "THB",
    )
    assert second.fx_rate == Decimal("0.0289") and second.fee == Decimal("0.50")
    # 23:30 in Phnom Penh is still 3 April locally (16:30 UTC)
    assert second.value_date == dt.date(2026, 4, 3)


def test_aba_preset_reads_money_in_and_out_columns_with_12_hour_times():
    # given an ABA export: two amount columns, "Apr 03, 2026" and "09:21 PM"
    data = csv_bytes(
        [
            "Date",
            "Time",
            "Transaction ID",
            "Description",
            "Money In",
            "Money Out",
            "Balance",
            "Currency",
        ],
        [
            [
                "Apr 03, 2026",
                "09:21 PM",
                "ABA001",
                "KHQR from SOK DARA",
                "1,250.00",
                "",
                "3,250.00",
                "USD",
            ],
            [
                "Apr 04, 2026",
                "08:05 AM",
                "ABA002",
                "Transfer to supplier",
                "",
                "2,000.00",
                "1,250.00",
                "USD",
            ],
        ],
    )
    # when
    result = parse(data, currency="USD", preset="aba")
    # then
    assert result.errors == []
    credit, debit = result.lines
    assert credit.amount == Decimal("1250.00") and credit.channel == "KHQR"
    assert credit.posted_at == dt.datetime(2026, 4, 3, 21, 21, tzinfo=PHNOM_PENH)
    assert debit.amount == Decimal("-2000.00") and debit.channel == "TRANSFER"
    assert debit.balance_after == Decimal("1250.00")


def test_acleda_preset_reads_whole_riel_with_thousands_and_khmer_text_after_a_bom():
    # given an ACLEDA KHR export in UTF-8 with a BOM and a title block above the header
    body = csv_bytes(
        [
            "Trans. Date",
            "Value Date",
            "Reference No.",
            "Description",
            "Debit",
            "Credit",
            "Balance",
        ],
        [
            [
                "03/04/2026 09:21:04",
                "03/04/2026",
                "FT2604001",
                "ទូទាត់ KHQR",
                "",
                "125,000",
                "2,125,000",
            ],
            [
                "03/04/2026 15:00:00",
                "04/04/2026",
                "FT2604002",
                "ថ្លៃសេវា",
                "1,500",
                "",
                "2,123,500",
            ],
        ],
    )
    title = "ACLEDA Bank Plc. Account Statement\r\nAccount: 0001-01-123456-7-8\r\n"
    data = b"\xef\xbb\xbf" + title.encode() + body
    # when
    result = parse(data, currency="KHR", preset="acleda")
    # then
    assert result.errors == []
    assert result.header_line == 3
    credit, fee = result.lines
    assert credit.amount == Decimal("125000")
    assert credit.description == "ទូទាត់ KHQR"
    assert fee.amount == Decimal("-1500") and fee.value_date == dt.date(2026, 4, 4)
    assert credit.has_bank_id is False  # ACLEDA gives a reference, not an id
    assert credit.external_id.startswith("F-")


def test_wing_preset_reads_signed_amounts_and_maps_wallet_types_to_channels():
    # given a Wing history with "+"/"-" amounts and Wing's own type names
    data = csv_bytes(
        [
            "Transaction Date",
            "Transaction ID",
            "Type",
            "Amount",
            "Currency",
            "Sender/Receiver",
            "Remark",
        ],
        [
            [
                "2026-04-03 09:21:04",
                "W1",
                "WING TO WING",
                "+50,000",
                "KHR",
                "Keo Vanna",
                "",
            ],
            ["2026-04-03 10:00:00", "W2", "BILL PAYMENT", "-12,000", "KHR", "EDC", ""],
            ["2026-04-03 11:00:00", "W3", "Top Up", "-5,000", "KHR", "Smart", ""],
        ],
    )
    # when
    result = parse(data, currency="KHR", preset="wing")
    # then
    assert result.errors == []
    assert [(x.amount, x.channel) for x in result.lines] == [
        (Decimal("50000"), "TRANSFER"),
        (Decimal("-12000"), "BILL"),
        (Decimal("-5000"), "TOPUP"),
    ]


def test_hattha_preset_reads_semicolon_csv_with_fx_legs():
    # given Hattha Mobile's semicolon export with a cross-border line
    data = csv_bytes(
        [
            "Txn ID",
            "Posting Date",
            "Value Date",
            "Channel",
            "Counterparty",
            "Reference",
            "Bakong Trace",
            "Debit",
            "Credit",
            "Balance",
            "Original Amount",
            "Original Currency",
            "FX Rate",
            "Fee",
        ],
        [
            [
                "H1",
                "03-04-2026 09:21",
                "03-04-2026",
                "KHQR",
                "Sok Dara",
                "INV-1",
                "FT26ABC",
                "",
                "12.50",
                "1,832.05",
                "",
                "",
                "",
                "",
            ],
            [
                "H2",
                "03-04-2026 18:00",
                "03-04-2026",
                "CROSSBORDER",
                "7-Eleven",
                "TQR-1",
                "",
                "57.30",
                "",
                "1,774.75",
                "2,000.00",
                "THB",
                "0.0289",
                "0.50",
            ],
        ],
        delimiter=";",
    )
    # when
    result = parse(data, currency="USD", preset="hattha")
    # then
    assert result.errors == []
    khqr, thaiqr = result.lines
    assert khqr.bakong_hash == "FT26ABC" and khqr.amount == Decimal("12.50")
    assert thaiqr.amount == Decimal("-57.30")
    assert thaiqr.original_amount == Decimal("2000.00") and thaiqr.fee == Decimal(
        "0.50"
    )


def test_bakong_preset_signs_unsigned_amounts_from_the_type_column():
    # given a Bakong wallet history (Received / Sent, unsigned amounts)
    data = csv_bytes(
        ["Hash", "Date", "Type", "From / To", "Amount", "Currency", "Memo"],
        [
            [
                "a" * 64,
                "2026-04-03 09:21:04",
                "Received",
                "sok@aclb",
                "25000",
                "KHR",
                "INV-9",
            ],
            [
                "b" * 64,
                "2026-04-03 10:21:04",
                "Sent",
                "supplier@wing",
                "10000",
                "KHR",
                "",
            ],
        ],
    )
    # when
    result = parse(data, currency="KHR", preset=None)
    # then
    assert result.errors == []
    assert result.preset == "bakong"
    received, sent = result.lines
    assert (received.amount, sent.amount) == (Decimal("25000"), Decimal("-10000"))
    assert received.bakong_hash == "a" * 64 and received.channel == "KHQR"


def test_krungsri_preset_reads_utf16_tab_text_with_buddhist_era_dates():
    # given Krungsri's "Unicode text" export: UTF-16 with BOM, tabs, year 2569 BE
    data = csv_bytes(
        [
            "Date",
            "Time",
            "Description",
            "Channel",
            "Withdrawal",
            "Deposit",
            "Balance",
            "Reference",
        ],
        [
            [
                "29/02/2567",
                "09:21",
                "PromptPay รับเงิน",
                "PromptPay",
                "",
                "1,500.00",
                "51,500.00",
                "ESLIP-1",
            ],
            [
                "03/04/2569",
                "23:30",
                "โอนเงิน",
                "Transfer",
                "250.00",
                "",
                "51,250.00",
                "ESLIP-2",
            ],
        ],
        delimiter="\t",
        encoding="utf-16",
    )
    # when
    result = parse(data, currency="THB", preset="krungsri")
    # then
    assert result.errors == []
    leap, late = result.lines
    # 29 Feb 2567 BE is 29 Feb 2024 (a leap day, though 2567 itself is not a leap
    # year in the Gregorian rule: the year is converted before the date is read)
    assert leap.posted_at == dt.datetime(2024, 2, 29, 9, 21, tzinfo=BANGKOK)
    assert late.posted_at == dt.datetime(2026, 4, 3, 23, 30, tzinfo=BANGKOK)
    assert late.amount == Decimal("-250.00") and late.description == "โอนเงิน"
    assert leap.amount == Decimal("1500.00")


def test_xlsx_export_is_read_with_native_dates_and_numbers():
    # given an XLSX in the Hattha layout with real date cells and numeric amounts
    data = xlsx_bytes(
        ["Txn ID", "Posting Date", "Channel", "Debit", "Credit", "Balance"],
        [
            ["X1", dt.datetime(2026, 4, 3, 9, 21), "KHQR", None, 12.5, 1832.05],
            ["X2", dt.datetime(2026, 4, 3, 10, 0), "TRANSFER", 0.1, None, 1831.95],
        ],
    )
    # when
    result = parse(data, currency="USD", preset="hattha", filename="s.xlsx")
    # then
    assert result.errors == []
    first, second = result.lines
    assert first.amount == Decimal("12.5") and first.balance_after == Decimal("1832.05")
    assert second.amount == Decimal("-0.1")
    assert first.posted_at == dt.datetime(2026, 4, 3, 9, 21, tzinfo=PHNOM_PENH)


@pytest.mark.parametrize(
    "preset", ["tonle", "aba", "acleda", "wing", "hattha", "bakong", "krungsri"]
)
def test_every_preset_is_recognised_from_its_own_header(preset):
    # given a header exactly as the preset documents it
    from statements.imports import PRESETS

    spec = PRESETS[preset]
    header = [spellings[0] for spellings in spec["columns"].values()]
    data = csv_bytes(header, [])
    table = read_table(
        data + b"x\r\n", "f.csv", max_rows=10, max_bytes=10_000, encodings=["utf-8"]
    )
    # when
    from statements.imports.parse import detect_preset

    # then
    assert detect_preset(table) == preset


def test_a_point_as_thousands_mark_is_stripped_before_any_amount_is_read(
    monkeypatch,
):
    # given a bank that writes 1.250,50 (point for thousands, comma for decimals)
    from statements.imports import presets

    european = {**presets.PRESETS["tonle"], "thousands": ".", "decimal": ","}
    monkeypatch.setitem(presets.PRESETS, "european", european)
    rows = [
        {"txn_id": f"T{n}", "posted_at": "2026-04-03T09:00:00+07:00", "amount": a}
        for n, a in enumerate(("1.250,50", "12,5", "1.000", "-2.000,00"))
    ]
    # when
    result = parse(canonical(rows), currency="USD", preset="european")
    # then: "1.000" is a thousand, never one dollar
    assert result.errors == []
    assert [line.amount for line in result.lines] == [
        Decimal("1250.50"),
        Decimal("12.5"),
        Decimal("1000"),
        Decimal("-2000.00"),
    ]
