"""A statement in Khmer for a Khmer reader: the PDF's headings (the right-aligned
ones too) drawn shaped and found by search, the XLSX's labels, the same totals;
English by default, and `render_statement --lang`."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import openpyxl
import pypdf
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from statements.documents import render_statement
from statements.models import PackStatus, StatementPack
from tests.core.khmer import in_khmer, khmer
from tests.statements.factories import PP, line

pytestmark = pytest.mark.django_db

NOV_1, NOV_30 = dt.date(2026, 11, 1), dt.date(2026, 11, 30)


@pytest.fixture
def november(account):
    line(account, dt.datetime(2026, 11, 3, 9, tzinfo=PP), "125.50")
    line(account, dt.datetime(2026, 11, 9, 9, tzinfo=PP), "-20.25", channel="FEE")
    return account


def _render(account, fmt, out, lang=None):
    with translation.override(lang):
        return render_statement(
            account=account, date_from=NOV_1, date_to=NOV_30, fmt=fmt, out=out
        )


def _text(path) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


def test_a_khmer_pdf_statement_has_khmer_headings_and_the_same_totals(
    november, tmp_path
):
    english = _render(november, "pdf", tmp_path / "en.pdf")
    result = _render(november, "pdf", tmp_path / "km.pdf", lang="km")
    text = _text(result.path)
    assert khmer("Opening balance") in text and khmer("Closing balance") in text
    assert khmer("Counterparty") in text
    assert khmer("Balance") in text  # a right-aligned column heading, shaped
    # "Page 1 of 1": its Khmer words, each drawn as a shaped run
    page_words = khmer("Page %(number)s of %(pages)s") % {"number": 1, "pages": 1}
    assert all(word in text for word in page_words.split()), page_words
    assert "Opening balance" not in text
    # the same figures
    assert (result.opening, result.closing, result.lines) == (
        english.opening,
        english.closing,
        english.lines,
    )
    assert "105.25" in text and "105.25" in _text(english.path)
    assert "Opening balance" in _text(english.path)


def test_a_khmer_xlsx_statement_has_khmer_labels_and_the_same_numbers(
    november, tmp_path
):
    english = openpyxl.load_workbook(
        _render(november, "xlsx", tmp_path / "e.xlsx").path
    )
    book = openpyxl.load_workbook(
        _render(november, "xlsx", tmp_path / "k.xlsx", lang="km").path
    )
    labels = {r[0].value: r[1].value for r in book["Summary"].iter_rows() if r[0].value}
    english_labels = {
        r[0].value: r[1].value for r in english["Summary"].iter_rows() if r[0].value
    }
    assert labels[khmer("Closing balance")] == english_labels["Closing balance"]
    assert labels[khmer("Opening balance")] == english_labels["Opening balance"]
    assert khmer("Amount") in [c.value for c in book["Lines"][1]]
    assert [[c.value for c in r[9:12]] for r in book["Lines"].iter_rows(min_row=2)] == [
        [c.value for c in r[9:12]] for r in english["Lines"].iter_rows(min_row=2)
    ]


def test_render_statement_takes_a_language(november, tmp_path):
    out = tmp_path / "s.pdf"
    args = ["--account", str(november.pk), "--from", "2026-11-01", "--to", "2026-11-30",
            "--format", "pdf", "--out", str(out)]  # fmt: skip
    printed = io.StringIO()
    call_command("render_statement", *args, "--lang", "km", "--json", stdout=printed)
    first = json.loads(printed.getvalue())
    assert khmer("Closing balance") in _text(out)
    printed = io.StringIO()
    call_command("render_statement", *args, "--json", stdout=printed)
    second = json.loads(printed.getvalue())
    assert "Closing balance" in _text(out)
    assert first == second


def test_a_pack_asked_for_in_khmer_is_built_in_khmer_by_the_worker(
    auditor_client, november, merchant, django_capture_on_commit_callbacks
):
    in_khmer(auditor_client)
    with django_capture_on_commit_callbacks(execute=True):
        auditor_client.post(
            reverse("statements:packs"),
            {"date_from": "2026-11-01", "date_to": "2026-11-30"},
        )
    pack = StatementPack.objects.get(merchant=merchant)
    assert pack.language == "km" and pack.status == PackStatus.READY
    download = auditor_client.get(reverse("statements:pack-download", args=[pack.pk]))
    with zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        readme = archive.read("README.txt").decode()
        xlsx = next(f["path"] for f in manifest["files"] if f["kind"] == "xlsx")
        book = openpyxl.load_workbook(io.BytesIO(archive.read(xlsx)))
    # the human parts in Khmer, the machine parts as the contract says
    assert khmer("Contents") in readme and khmer("Checking the pack") in readme
    assert khmer("Closing balance") in [r[0].value for r in book["Summary"].iter_rows()]
    assert set(manifest) == {"merchant", "period_from", "period_to", "generated_at",
                             "files"}  # fmt: skip
    statement = next(f for f in manifest["files"] if f["kind"] == "csv")
    assert statement["closing"] == "105.25"


def test_the_pack_command_takes_a_language(november, merchant, tmp_path):
    out = tmp_path / "pack.zip"
    call_command(
        "statement_pack", "--merchant", str(merchant.pk), "--from", "2026-11-01",
        "--to", "2026-11-30", "--out", str(out), "--lang", "km", "--json",
        stdout=io.StringIO(),
    )  # fmt: skip
    with zipfile.ZipFile(out) as archive:
        assert khmer("Checking the pack") in archive.read("README.txt").decode()
