"""The PDF statement read back with pypdf: totals equal the ledger to the riel,
page X of Y, Khmer names present, times in Phnom Penh (Bangkok for THB)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pypdf
import pytest
from freezegun import freeze_time
from reportlab.pdfbase.pdfmetrics import stringWidth

from statements.documents import render_statement
from statements.documents.pdf_statement import COLUMNS, _runs, _shaped, fit
from tests.factories import AccountFactory
from tests.statements.factories import PP, line, november_ledger

NOV_1, NOV_30 = dt.date(2026, 11, 1), dt.date(2026, 11, 30)


def _november_pdf(account, out):
    return render_statement(
        account=account, date_from=NOV_1, date_to=NOV_30, fmt="pdf", out=out
    )


def _text(path) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(path).pages]


@pytest.mark.django_db
def test_pdf_statement_totals_equal_the_ledger_to_the_riel(khr_account, tmp_path):
    # given
    amounts = ["1234567", "-89", "4500", "-1000001"] * 30
    november_ledger(khr_account, amounts, channel="KHQR")
    line(khr_account, dt.datetime(2026, 11, 2, 8, tzinfo=PP), "-3000", channel="FEE")

    # when
    result = _november_pdf(khr_account, tmp_path / "s.pdf")

    # then the closing and the channel totals on page 1 are the ledger's
    pages = _text(result.path)
    first = pages[0]
    ledger = sum(Decimal(a) for a in amounts) - 3000
    assert result.closing == ledger == Decimal("7166310")
    assert "7,166,310 KHR" in first  # closing
    assert "0 KHR" in first  # opening
    assert re.search(r"FEE\s+1\s+0\s+-3,000\s+-3,000", first)
    assert re.search(r"KHQR\s+120\s+37,172,010\s+-30,002,700\s+7,169,310", first)
    # and the last line's running balance is the closing
    assert "7,166,310" in pages[-1].split("Balance", 1)[1]


@pytest.mark.django_db
def test_pdf_statement_numbers_its_pages_x_of_y(account, tmp_path):
    # given enough lines for several pages
    november_ledger(account, ["1.00"] * 150)

    # when
    result = _november_pdf(account, tmp_path / "s.pdf")

    # then every page says which of how many it is
    pages = _text(result.path)
    assert len(pages) >= 3
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
    drawn = sum(text.count("2026-11-") for text in pages)
    assert drawn >= 2 * 150  # posted + value date of each line


@pytest.mark.django_db
def test_pdf_statement_shows_khmer_names_shaped_and_searchable(account, tmp_path):
    # given a Khmer counterparty (with a coeng subscript and a pre-base vowel)
    name = "ហាងកាហ្វេ ស្រីមុំ"
    line(
        account, dt.datetime(2026, 11, 5, 9, tzinfo=PP), "4.00", counterparty_name=name
    )

    # when
    result = _november_pdf(account, tmp_path / "s.pdf")

    # then the name is in the text layer and the Khmer font is embedded
    assert name in _text(result.path)[0]
    fonts = pypdf.PdfReader(result.path).pages[0]["/Resources"]["/Font"]
    names = {str(font.get_object()["/BaseFont"]) for font in fonts.values()}
    assert any("NotoSansKhmer" in n for n in names)
    # and HarfBuzz reordered it: the pre-base vowel េ comes before its consonant
    shaped = _shaped("ហ្វេ", 7.5)
    assert str(shaped) != "ហ្វេ" and str(shaped).index("េ") < str(shaped).index("ហ")


def test_pdf_text_runs_split_khmer_latin_and_other_scripts():
    # given / when
    runs = _runs("Café ស្រី → OK")

    # then
    assert runs == (
        ("Helvetica", "Café "),
        ("khm", "ស្រី "),
        ("TonleNotoSans", "→"),
        ("Helvetica", " OK"),
    )


@pytest.mark.django_db
@freeze_time("2026-12-01 16:45:00+00:00")
def test_pdf_statement_says_when_it_was_generated_in_the_accounts_zone(
    merchant, tmp_path
):
    # given a riel and a baht account; 16:45 UTC is 23:45 in both zones
    khr = AccountFactory(merchant=merchant, currency="KHR", provider="acleda")
    thb = AccountFactory(merchant=merchant, currency="THB", provider="krungsri")

    # when
    khr_pdf = _november_pdf(khr, tmp_path / "k.pdf")
    thb_pdf = _november_pdf(thb, tmp_path / "t.pdf")

    # then
    assert "Generated 2026-12-01 23:45 (Asia/Phnom_Penh)" in _text(khr_pdf.path)[0]
    assert "Generated 2026-12-01 23:45 (Asia/Bangkok)" in _text(thb_pdf.path)[0]
    assert "No lines in this period." in _text(thb_pdf.path)[0]


@pytest.mark.django_db
def test_pdf_statement_shows_cross_border_original_amount_rate_and_fee(
    account, tmp_path
):
    # given
    line(
        account,
        dt.datetime(2026, 11, 6, 12, tzinfo=PP),
        "-29.60",
        channel="CROSSBORDER",
        original_amount=Decimal("-1000.00"),
        original_currency="THB",
        fx_rate=Decimal("0.0291"),
        fee=Decimal("0.50"),
    )

    # when
    result = _november_pdf(account, tmp_path / "s.pdf")

    # then
    text = _text(result.path)[0]
    assert "1,000.00 THB × 0.0291 + fee 0.50" in text
    assert "original amounts -1,000.00 THB; fees 0.50 USD" in text


@pytest.mark.django_db
def test_pdf_statement_shows_thai_names_of_a_baht_account(merchant, tmp_path):
    # given a Krungsri baht account paid by a Thai shop (tone marks above vowels)
    thb = AccountFactory(merchant=merchant, currency="THB", provider="krungsri")
    name = "ร้านกาแฟ สุขใจ"
    line(thb, dt.datetime(2026, 11, 5, 9, tzinfo=PP), "250.00", counterparty_name=name)

    # when
    result = _november_pdf(thb, tmp_path / "t.pdf")

    # then the Thai name is searchable and drawn in the embedded Thai font
    assert name in _text(result.path)[0]
    fonts = pypdf.PdfReader(result.path).pages[0]["/Resources"]["/Font"]
    names = {str(font.get_object()["/BaseFont"]) for font in fonts.values()}
    assert any("NotoSansThai" in n for n in names)
    assert _runs("Café ร้าน")[1] == ("tha", "ร้าน")


def _cells(path) -> list[tuple[float, float, str]]:
    """(x, y, text) of every string shown in Helvetica on page 1, read from the
    page's content stream (Tf, Tm, Tj)."""
    reader = pypdf.PdfReader(path)
    page = reader.pages[0]
    fonts = page["/Resources"]["/Font"]
    stream = pypdf.generic.ContentStream(page.get_contents(), reader)
    cells, font, x, y = [], "", 0.0, 0.0
    for operands, operator in stream.operations:
        if operator == b"Tf":
            font = str(fonts[operands[0]].get_object()["/BaseFont"])
        elif operator == b"Tm":
            x, y = float(operands[4]), float(operands[5])
        elif operator == b"Tj" and font.startswith("/Helvetica"):
            raw = operands[0]
            text = raw.original_bytes.decode("cp1252")
            cells.append((x, y, text))
    return cells


@pytest.mark.django_db
def test_pdf_statement_keeps_each_cell_inside_its_column(account, tmp_path):
    # given a cross-border line (the longest channel) with long, wide texts
    line(
        account,
        dt.datetime(2026, 11, 6, 12, tzinfo=PP),
        "-29.60",
        channel="CROSSBORDER",
        counterparty_name="WWW MEGA WHOLESALE IMPORT EXPORT COMPANY LIMITED",
        reference="MMMMMMMMMMMMMMMMMMMMMMMMMMMMMM",
        description="PAYMENT FOR INVOICES 2026-11 WAREHOUSE MAINTENANCE AND WAGES",
        original_amount=Decimal("-1000.00"),
        original_currency="THB",
        fx_rate=Decimal("0.0291"),
        fee=Decimal("0.50"),
    )

    # when
    result = _november_pdf(account, tmp_path / "s.pdf")

    # then on the line's row every text ends before the next column begins
    cells = _cells(result.path)
    row_y = next(y for x, y, text in cells if text == "CROSSBORDER" and x > 100)
    row = sorted((x, text) for x, y, text in cells if abs(y - row_y) < 0.5)
    starts = [column[1] for column in COLUMNS[:6]] + [COLUMNS[6][1] - 62]
    for (x, text), next_start in zip(row[:6], starts[1:], strict=True):
        assert x + stringWidth(text, "Helvetica", 7.5) < next_start, text
    # and the long texts are cut visibly, not dropped
    assert row[3][1].startswith("WWW MEGA") and row[3][1].endswith("…")
    assert row[5][1].startswith("1,000.00 THB × 0.0291") and row[5][1].endswith("…")


def test_pdf_fit_cuts_the_longest_prefix_that_fits_with_an_ellipsis():
    # given
    text, width = "W" * 60, 100.0

    # when
    cut = fit(text, width)

    # then it fits, and one more character would not
    assert cut.endswith("…")
    assert stringWidth(cut, "Helvetica", 7.5) <= width
    longer = text[: len(cut)] + "…"
    assert stringWidth(longer, "Helvetica", 7.5) > width
    # and text that fits is left alone, whitespace folded
    assert fit("Chan  Sophea\n", width) == "Chan Sophea"


def test_pdf_fit_never_splits_a_khmer_cluster():
    # given a Khmer name of many clusters with subscripts (coeng) and vowels
    name = "ហាងទន្លេសាកល្បង ស្រីមុំ ក្រុមហ៊ុនសម្រាប់ពាណិជ្ជកម្ម"

    for width in range(20, 160, 3):
        # when
        cut = fit(name, float(width))

        # then the cut falls between clusters: not after a coeng, not before a mark
        if cut.endswith("…"):
            kept = cut[:-1]
            assert name.startswith(kept)
            assert not kept.endswith("\u17d2"), width
            following = name[len(kept)]
            assert following == " " or not (
                "\u17b6" <= following <= "\u17d3" or following == "\u17dd"
            ), width


@pytest.mark.django_db
def test_pdf_statement_draws_a_khmer_run_that_needs_no_shaping(account, tmp_path):
    # given a name whose Khmer part is one letter (HarfBuzz hands back plain text)
    line(
        account,
        dt.datetime(2026, 11, 5, 9, tzinfo=PP),
        "5.00",
        counterparty_name="Sok ក",
    )

    # when
    result = _november_pdf(account, tmp_path / "k.pdf")

    # then the statement is drawn and the name is searchable
    assert "Sok ក" in _text(result.path)[0]
