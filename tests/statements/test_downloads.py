"""Every statements download: an RFC 6266 name built from a cleaned name, no-store."""

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from statements.models import ImportBatch, PackStatus, StatementPack
from tests.core.test_downloads import parse_disposition
from tests.statements.factories import PP, line, november_ledger
from tests.statements.ingest_files import canonical

PERIOD = {"date_from": "2026-11-01", "date_to": "2026-11-30"}


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_transaction_exports_are_attachments_kept_by_no_cache(
    auditor_client, account, fmt
):
    # given
    line(account, dt.datetime(2026, 11, 2, 9, tzinfo=PP), "-5.25")
    # when
    response = auditor_client.get(
        reverse(f"statements:transactions-export-{fmt}"), {"direction": "debit"}
    )
    # then
    assert response.status_code == 200
    kind, _, name = parse_disposition(response["Content-Disposition"])
    assert kind == "attachment"
    assert name.startswith("transactions-") and name.endswith(f".{fmt}")
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["pdf", "xlsx", "csv"])
def test_statement_downloads_are_attachments_kept_by_no_cache(
    auditor_client, account, fmt
):
    # given
    november_ledger(account, ["15.00", "-3.00"])
    url = reverse("statements:statement-download", args=[account.pk])
    # when
    response = auditor_client.get(url, {**PERIOD, "format": fmt})
    # then
    assert response.status_code == 200
    kind, fallback, name = parse_disposition(response["Content-Disposition"])
    assert kind == "attachment"
    assert name == fallback == f"statement-hattha-USD-2026-11-01-2026-11-30.{fmt}"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_pack_download_is_an_attachment_kept_by_no_cache(
    auditor_client, merchant, tmp_path
):
    # given a ready pack
    from django.core.files.base import ContentFile

    pack = StatementPack.objects.create(
        merchant=merchant,
        period_start=dt.date(2026, 11, 1),
        period_end=dt.date(2026, 11, 30),
        status=PackStatus.READY,
        progress=100,
    )
    pack.file.save("pack.zip", ContentFile(b"PK\x05\x06" + b"\0" * 18))
    # when
    response = auditor_client.get(reverse("statements:pack-download", args=[pack.pk]))
    # then
    assert response.status_code == 200
    _, _, name = parse_disposition(response["Content-Disposition"])
    assert name == "statement-pack-2026-11-01-2026-11-30.zip"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_an_uploaded_files_hostile_name_comes_back_cleaned(auditor_client, account):
    # given an import whose file name tries to break the header and the path
    from statements.services.imports import statement_file_import

    statement_file_import(
        account=account,
        file_bytes=canonical([{"txn_id": "T1", "posted_at": "2026-04-01T09:00:00+07:00",
                               "amount": "1.00", "currency": "USD"}]),
        filename='..\\ស្ថានភាព"; filename="x.exe\r\n.csv',
    )  # fmt: skip
    batch = ImportBatch.objects.get()
    # when
    response = auditor_client.get(reverse("statements:import-file", args=[batch.pk]))
    # then the Khmer survives; the quote, CR/LF and separators do not
    kind, fallback, name = parse_disposition(response["Content-Disposition"])
    assert kind == "attachment"
    assert name == "_ស្ថានភាព__ filename=_x.exe.csv"
    assert fallback == "____ filename=_x.exe.csv"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_statement_excel_csv_has_a_bom_and_crlf_and_the_csv_keeps_the_contract(
    auditor_client, khr_account, tmp_path
):
    # given a KHR month with a Khmer counterparty
    line(khr_account, dt.datetime(2026, 11, 2, 9, tzinfo=PP), "40000",
         counterparty_name="ហាងតេស្ត")  # fmt: skip
    url = reverse("statements:statement-download", args=[khr_account.pk])
    # when both are downloaded, and the command renders the canonical CSV
    excel = auditor_client.get(url, {**PERIOD, "format": "excel_csv"})
    plain = auditor_client.get(url, {**PERIOD, "format": "csv"})

    out = tmp_path / "s.csv"
    call_command(
        "render_statement", "--account", str(khr_account.pk), "--from",
        "2026-11-01", "--to", "2026-11-30", "--format", "csv", "--out", str(out),
        "--json",
    )  # fmt: skip
    # then Excel's copy starts with a BOM and ends lines with CRLF
    excel_bytes = b"".join(excel.streaming_content)
    assert excel_bytes.startswith(b"\xef\xbb\xbftxn_id,posted_at,")
    assert excel_bytes.count(b"\r\n") == 2 and "ហាងតេស្ត".encode() in excel_bytes
    _, _, name = parse_disposition(excel["Content-Disposition"])
    assert name == "statement-acleda-KHR-2026-11-01-2026-11-30-excel.csv"
    # and the canonical CSV (page and command alike) has neither
    plain_bytes = b"".join(plain.streaming_content)
    assert plain_bytes == out.read_bytes()
    assert plain_bytes.startswith(b"txn_id,") and b"\r" not in plain_bytes
    assert excel_bytes[3:].replace(b"\r\n", b"\n") == plain_bytes


def test_the_statement_command_refuses_a_bad_format_and_writes_nothing(
    khr_account, tmp_path
):
    out, target = io.StringIO(), tmp_path / "s.docx"
    with pytest.raises(SystemExit):
        call_command(
            "render_statement", "--account", str(khr_account.pk), "--from",
            "2026-11-01", "--to", "2026-11-30", "--format", "docx", "--out",
            str(target), "--json", stdout=out,
        )  # fmt: skip
    error = json.loads(out.getvalue())
    assert error["error"] == "invalid_input"
    assert error["message"] == "format: 'docx'; use one of pdf, xlsx, csv"
    assert not target.exists()
