"""The reconciliation report in Khmer for a Khmer reader: headings from the
catalogue, drawn so search finds them, the same figures as the English report,
and English as before when nobody asks for Khmer."""

from __future__ import annotations

import io
import json
import re

import openpyxl
import pypdf
import pytest
from django.core.management import call_command
from django.utils import translation

from reconciliation.documents import render_reconciliation
from tests.core.khmer import khmer
from tests.reconciliation.review_makers import NOV_1, NOV_30
from tests.reconciliation.test_documents_report import frozen, worked_month  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen", "worked_month")]

AMOUNT = re.compile(r"-?\d[\d,]*\.\d\d|\b\d{1,3}(?:,\d{3})+\b")


def _report(merchant, fmt, out, lang=None):
    with translation.override(lang):
        return render_reconciliation(
            merchant=merchant, date_from=NOV_1, date_to=NOV_30, fmt=fmt, out=out
        )


def _pdf_text(path) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


def test_a_khmer_pdf_report_has_khmer_headings_and_the_same_figures(merchant, tmp_path):
    english = _pdf_text(_report(merchant, "pdf", tmp_path / "en.pdf").path)
    khmer_pdf = _report(merchant, "pdf", tmp_path / "km.pdf", lang="km")
    text = _pdf_text(khmer_pdf.path)
    for heading in ("Bank reconciliation statements", "Exceptions", "Difference"):
        assert khmer(heading) in text, heading
    assert khmer("Expected") in text  # a summary row, a table cell
    assert khmer("Bank fees") in text  # a difference's kind
    assert "Bank reconciliation statements" not in text
    # the figures are the English report's, one for one
    assert AMOUNT.findall(text) and sorted(AMOUNT.findall(text)) == sorted(
        AMOUNT.findall(english)
    )
    # and English stays English by default
    assert "Bank reconciliation statements" in english
    assert khmer("Bank reconciliation statements") not in english


def _cells(path) -> tuple[list[str], list]:
    book = openpyxl.load_workbook(path)
    words, numbers = [], []
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                if isinstance(value, str):
                    words.append(value)
                elif isinstance(value, (int, float)):
                    numbers.append(value)
    return words, numbers


def test_a_khmer_xlsx_report_has_khmer_labels_and_the_same_numbers(merchant, tmp_path):
    en_words, en_numbers = _cells(_report(merchant, "xlsx", tmp_path / "e.xlsx").path)
    km_words, km_numbers = _cells(
        _report(merchant, "xlsx", tmp_path / "k.xlsx", lang="km").path
    )
    assert khmer("Summary") in km_words
    assert khmer("Adjusted balance") in km_words
    assert khmer("Matched automatically") in km_words
    assert "Adjusted balance" not in km_words and "Adjusted balance" in en_words
    assert km_numbers == en_numbers


def test_the_command_writes_the_language_asked_for(merchant, tmp_path):
    out = tmp_path / "cmd.pdf"
    args = [
        "--merchant",
        str(merchant.pk),
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
    ]
    printed = io.StringIO()
    call_command("render_reconciliation", *args, "--format", "pdf", "--out", str(out),
                 "--lang", "km", "--json", stdout=printed)  # fmt: skip
    first = json.loads(printed.getvalue())
    assert khmer("Bank reconciliation statements") in _pdf_text(out)
    printed = io.StringIO()
    call_command("render_reconciliation", *args, "--format", "pdf", "--out", str(out),
                 "--json", stdout=printed)  # fmt: skip
    second = json.loads(printed.getvalue())
    assert "Bank reconciliation statements" in _pdf_text(out)  # en by default
    assert first["difference"] == second["difference"]
    assert first["matched"] == second["matched"]


def test_the_khmer_pdf_reports_match_rows_in_words_not_codes(merchant, tmp_path):
    from reconciliation.models import Match, MatchStatus
    from reconciliation.rule_words import RULE_WORDS

    english = _pdf_text(_report(merchant, "pdf", tmp_path / "en.pdf").path)
    text = _pdf_text(_report(merchant, "pdf", tmp_path / "km.pdf", lang="km").path)
    matches = list(
        Match.objects.filter(merchant=merchant).exclude(status=MatchStatus.REJECTED)
    )
    assert matches
    labels = dict(MatchStatus.choices)
    for match in matches:
        # the English report keeps the codes it always printed
        assert match.rule in english
        # the Khmer one prints the status and the rule in words, found by search
        assert khmer(str(labels[match.status])) in text, match.status
        rule = khmer(str(RULE_WORDS[match.rule]))
        assert rule[:8] in text, match.rule
        assert f"{match.tier} {match.rule}" not in text


def test_the_khmer_xlsx_names_each_exceptions_status_in_words(merchant, tmp_path):
    from reconciliation.models import ReconciliationException

    statuses = set(
        ReconciliationException.objects.filter(merchant=merchant).values_list(
            "status", flat=True
        )
    )
    assert statuses
    en_words, _ = _cells(_report(merchant, "xlsx", tmp_path / "e.xlsx").path)
    km_words, _ = _cells(_report(merchant, "xlsx", tmp_path / "k.xlsx", lang="km").path)
    labels = {"open": "Open", "resolved": "Resolved", "carried": "Carried forward"}
    for status in statuses:
        assert status in en_words  # the English workbook keeps its codes
        assert khmer(labels[status]) in km_words, status
        assert status not in km_words
