"""Broken statement files are refused with the row and the field, and nothing is
written: wrong encoding, missing columns, bad dates, letters in amounts, fractional
riel, empty files, duplicates, too many rows, formulas, zip bombs."""

from __future__ import annotations

import io
import zipfile

import pytest

from core.exceptions import Conflict
from statements.models import ImportBatch, Transaction
from statements.services.imports import statement_file_import
from tests.statements.ingest_files import canonical, csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db

GOOD = {
    "txn_id": "T1",
    "posted_at": "2026-04-03T09:21:04+07:00",
    "amount": "12.50",
    "currency": "USD",
}


def run(account, data: bytes, *, filename="s.csv", preset=None):
    return statement_file_import(
        account=account, file_bytes=data, filename=filename, preset=preset
    )


def only_error(result) -> dict:
    assert result.inserted == 0
    assert len(result.errors) >= 1
    return result.errors[0]


def test_cp1252_file_is_refused_with_a_clear_message_not_mojibake(account):
    # given a legacy-encoded file (é in cp1252 is the byte 0xE9)
    data = canonical([{**GOOD, "counterparty": "Café Dara"}]).decode().encode("cp1252")
    # when
    result = run(account, data)
    # then
    error = only_error(result)
    assert error["field"] == "file"
    assert "not UTF-8" in error["message"] and "0xE9" in error["message"]
    assert Transaction.objects.count() == 0
    assert ImportBatch.objects.get().status == "failed"


def test_missing_required_column_is_named(account):
    # given a canonical file without the currency column
    data = csv_bytes(
        ["txn_id", "posted_at", "amount"], [["T1", GOOD["posted_at"], "1"]]
    )
    # when
    result = run(account, data, preset="tonle")
    # then
    error = only_error(result)
    assert (error["row"], error["field"]) == (1, "currency")
    assert "required column missing" in error["message"]


def test_unrecognised_layout_asks_for_a_preset_or_mapping(account):
    # given columns that match no preset
    data = csv_bytes(["when", "how much"], [["today", "12"]])
    # when
    result = run(account, data)
    # then
    assert (
        "choose the bank's preset or map the columns" in only_error(result)["message"]
    )


def test_bad_date_names_row_and_field(account):
    # given a second row with an impossible date
    data = canonical(
        [GOOD, {**GOOD, "txn_id": "T2", "posted_at": "2026-02-30T10:00+07:00"}]
    )
    # when
    result = run(account, data)
    # then
    error = only_error(result)
    assert (error["row"], error["field"]) == (3, "posted_at")
    assert "2026-02-30" in error["message"]


def test_amount_with_letters_is_refused(account):
    # given "12.5O" (a letter O) in the amount
    data = canonical([{**GOOD, "amount": "12.5O"}])
    # when
    result = run(account, data)
    # then
    error = only_error(result)
    assert (error["row"], error["field"]) == (2, "amount")
    assert error["message"] == "amount: '12.5O' is not an amount"


def test_fractional_riel_is_refused_not_rounded(khr_account):
    # given a KHR line of 1000.50 riel
    data = canonical([{**GOOD, "amount": "1000.50", "currency": "KHR"}])
    # when
    result = run(khr_account, data)
    # then
    error = only_error(result)
    assert error["field"] == "amount" and "whole numbers" in error["message"]


def test_line_in_another_currency_than_the_account_is_refused(khr_account):
    # given a USD line in a KHR account's file
    data = canonical([GOOD])
    # when
    result = run(khr_account, data)
    # then
    assert only_error(result)["field"] == "currency"


def test_cross_border_line_with_a_rate_that_is_not_a_number_is_refused(account):
    # given a ThaiQR line whose rate cell holds text
    data = canonical(
        [
            {
                **GOOD,
                "amount": "-28.40",
                "channel": "CROSSBORDER",
                "original_amount": "1000.00",
                "original_currency": "THB",
                "fx_rate": "0.02x9",
                "fee": "0.50",
            }
        ]
    )
    # when
    result = run(account, data)
    # then
    error = only_error(result)
    assert error["field"] == "fx_rate"
    assert "'0.02x9' is not a number" in error["message"]


def test_empty_file_is_refused(account):
    # given an empty file
    from core.exceptions import InvalidInput

    # when / then
    with pytest.raises(InvalidInput, match="the file is empty"):
        run(account, b"")
    assert ImportBatch.objects.count() == 0


def test_blank_file_is_refused_as_empty(account):
    result = run(account, b" \r\n\t\n")
    assert "the file is empty" in only_error(result)["message"]
    assert ImportBatch.objects.get().status == "failed"


def test_file_with_a_nul_byte_is_refused_as_not_text(account):
    # given a CSV with one NUL byte in the middle of a line (a binary file renamed)
    data = canonical([GOOD, {**GOOD, "txn_id": "T2", "reference": "a\x00b"}])
    assert data.count(b"\x00") == 1
    # when
    result = run(account, data)
    # then
    assert "NUL bytes" in only_error(result)["message"]
    assert not Transaction.objects.exists()


def test_header_only_file_is_refused(account):
    # given a header without lines
    result = run(account, canonical([]))
    # then
    assert "no statement lines" in only_error(result)["message"]


def test_one_bad_row_means_nothing_is_imported(account):
    # given 3 good rows and 1 bad one
    rows = [{**GOOD, "txn_id": f"T{n}"} for n in range(3)]
    rows.append({**GOOD, "txn_id": "T9", "amount": "abc"})
    # when
    result = run(account, canonical(rows))
    # then
    assert result.inserted == 0
    assert [e["row"] for e in result.errors] == [5]
    assert Transaction.objects.count() == 0


def test_duplicate_txn_id_inside_one_file_is_an_error(account):
    # given the same bank id twice
    result = run(account, canonical([GOOD, GOOD]))
    # then
    error = only_error(result)
    assert (error["row"], error["field"]) == (3, "txn_id")
    assert "already appears on row 2" in error["message"]


def test_same_file_twice_is_refused_with_a_clear_message(account):
    # given a file already imported
    data = canonical([GOOD])
    first = run(account, data)
    assert first.inserted == 1
    # when / then
    with pytest.raises(Conflict, match="already imported into this account"):
        run(account, data, filename="renamed.csv")
    assert Transaction.objects.count() == 1


def test_too_many_rows_is_refused(account, settings):
    # given a limit of 3 rows and a file of 5
    settings.MAX_IMPORT_ROWS = 3
    data = canonical([{**GOOD, "txn_id": f"T{n}"} for n in range(5)])
    # when
    result = run(account, data)
    # then
    assert "more than 3 rows" in only_error(result)["message"]


def test_file_over_the_size_limit_is_refused(account, settings):
    # given a 1 MB limit and a 2 MB file
    settings.MAX_UPLOAD_MB = 1
    data = canonical([GOOD]) + b"#" * (2 * 1024 * 1024)
    # when / then
    from core.exceptions import InvalidInput

    with pytest.raises(InvalidInput, match="over the 1 MB limit"):
        run(account, data)


def test_formula_cells_are_never_evaluated(account):
    # given an XLSX whose amount cell is a formula (no cached value saved)
    data = xlsx_bytes(
        ["txn_id", "posted_at", "amount", "currency"],
        [["T1", GOOD["posted_at"], "=10+2.5", "USD"]],
    )
    # when
    result = run(account, data, filename="s.xlsx")
    # then
    error = only_error(result)
    assert (error["row"], error["field"]) == (2, "amount")
    assert Transaction.objects.count() == 0


def test_formula_looking_text_is_kept_as_inert_text(account):
    # given a CSV description that looks like a spreadsheet formula
    data = canonical([{**GOOD, "description": '=HYPERLINK("http://x")'}])
    # when
    result = run(account, data)
    # then
    assert result.errors == [] and result.inserted == 1
    assert Transaction.objects.get().description == '=HYPERLINK("http://x")'


def test_zip_bomb_posing_as_xlsx_is_refused_before_parsing(account):
    # given an archive with a 50 MB member of zeros (compresses ~1000x)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))
    # when
    result = run(account, out.getvalue(), filename="bomb.xlsx")
    # then
    error = only_error(result)
    assert error["field"] == "file" and "zip bomb" in error["message"]


def test_not_really_an_xlsx_is_refused(account):
    # given a file named .xlsx that is a zip without a workbook
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    # when
    result = run(account, out.getvalue(), filename="s.xlsx")
    # then
    assert "not an Excel workbook" in only_error(result)["message"]
