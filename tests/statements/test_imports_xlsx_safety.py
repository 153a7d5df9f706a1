"""Workbooks are refused before anything is kept when they carry macros (.xlsm, a
VBA part, a macro content type), inflate (any part, not only big ones) or play
XML entity tricks; XML is parsed with defusedxml, openpyxl's included."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.exceptions import InvalidInput
from statements.imports.readers import check_xlsx_archive, upload_check
from statements.models import ImportBatch
from statements.services.imports import import_batch_stage, statement_file_import
from tests.statements.ingest_files import xlsx_bytes

pytestmark = pytest.mark.django_db

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="{main}"/>'
    "</Types>"
)
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
XLSM_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'
        for n in range(1, 10)
    )
    + ']><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    "&lol9;</Types>"
)


def workbook(members: dict[str, bytes | str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def minimal(main: str = XLSX_MAIN, **extra: bytes | str) -> bytes:
    return workbook(
        {
            "[Content_Types].xml": CONTENT_TYPES.format(main=main),
            "xl/workbook.xml": "<workbook/>",
            **extra,
        }
    )


def check(data: bytes, filename: str = "s.xlsx") -> None:
    upload_check(data, filename, max_bytes=20 * 1024 * 1024)


def test_a_workbook_with_a_vba_part_is_refused():
    with pytest.raises(InvalidInput, match="carries macros"):
        check(minimal(**{"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 VBA"}))


def test_a_workbook_declaring_a_macro_content_type_is_refused():
    with pytest.raises(InvalidInput, match="carries macros"):
        check(minimal(main=XLSM_MAIN))


def test_an_xlsm_file_is_refused_by_its_name():
    with pytest.raises(InvalidInput, match=r"macro-enabled .* \(\.xlsm, \.xlsb\)"):
        check(xlsx_bytes(["a"], [["1"]]), "statement.xlsm")


def test_content_types_with_entity_expansion_are_refused():
    data = workbook({"[Content_Types].xml": LAUGHS, "xl/workbook.xml": "<w/>"})
    with pytest.raises(InvalidInput, match="cannot be read safely"):
        check(data)


def test_a_small_part_that_inflates_hundreds_of_times_is_refused():
    # given a 900 kB part of zeros (under the old 1 MB floor) compressing ~1000x
    data = minimal(**{"xl/worksheets/sheet1.xml": b"\0" * 900_000})
    # when / then
    with pytest.raises(InvalidInput, match="sheet1.xml' expands .* times"):
        check_xlsx_archive(data, max_bytes=20 * 1024 * 1024)


def test_an_ordinary_workbook_passes():
    check(xlsx_bytes(["txn_id", "amount"], [[f"T{n}", "1.00"] for n in range(5000)]))


def test_openpyxl_reads_xml_through_defusedxml():
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML is True


def test_a_macro_workbook_uploaded_on_the_page_is_refused_and_not_kept(
    accountant_client, account, settings
):
    # given
    data = minimal(**{"xl/vbaProject.bin": b"VBA"})
    # when
    response = accountant_client.post(
        reverse("statements:import-upload"),
        {
            "account": account.pk,
            "preset": "",
            "file": SimpleUploadedFile("april.xlsx", data),
        },
    )
    # then nothing is stored: no batch, no file on disk to download
    assert response.status_code == 302
    page = accountant_client.get(response.url).content.decode()
    assert "carries macros" in page
    assert ImportBatch.objects.count() == 0
    assert not [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]


def test_a_macro_workbook_given_to_the_service_is_refused_and_not_kept(account):
    data = minimal(main=XLSM_MAIN)
    with pytest.raises(InvalidInput, match="carries macros"):
        import_batch_stage(account=account, file_bytes=data, filename="a.xlsx")
    result = statement_file_import(account=account, file_bytes=data, filename="a.xlsx")
    assert "carries macros" in result.errors[0]["message"]
    assert result.batch_id is None and ImportBatch.objects.count() == 0


def test_a_sheet_with_entity_expansion_is_refused_by_openpyxls_defusedxml():
    # given a real workbook whose sheet is a billion-laughs document
    from statements.imports import read_table

    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes(["a"], [["1"]])))
    sheet = LAUGHS.replace("<Types", "<worksheet").replace("</Types>", "</worksheet>")
    members = {
        info.filename: (
            sheet if info.filename == "xl/worksheets/sheet1.xml" else source.read(info)
        )
        for info in source.infolist()
    }
    data = workbook(members)
    # when / then
    with pytest.raises(InvalidInput, match="cannot be read"):
        read_table(data, "s.xlsx", max_rows=10, max_bytes=20 * 1024 * 1024)
