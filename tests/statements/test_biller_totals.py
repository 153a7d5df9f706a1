"""The bill / top-up category is kept from files, feeds and pushes, and totalled by
biller category on the Statements page and in the PDF and XLSX summaries (tracker
issue 11, point 5; the Hattha brief's bill-payment analytics)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import openpyxl
import pypdf
import pytest
from django.db.models import Count, Q, Sum
from django.urls import reverse

from core.periods import PHNOM_PENH
from statements.documents import render_statement
from statements.imports import parse_table, read_table
from statements.models import Transaction
from tests.statements.factories import PP, line
from tests.statements.ingest_files import canonical, csv_bytes

NOV_1, NOV_30 = dt.date(2026, 11, 1), dt.date(2026, 11, 30)


def _parse(data: bytes, preset: str | None):
    table = read_table(
        data, "s.csv", max_rows=100, max_bytes=100_000, encodings=["utf-8"]
    )
    return parse_table(
        table, preset=preset, mapping=None, currency="USD", zone=PHNOM_PENH
    )


def test_the_canonical_csv_reads_the_optional_biller_category():
    # given a canonical file with a bill payment and a top-up
    day = {"posted_at": "2026-11-03T09:00:00+07:00", "currency": "USD"}
    data = canonical(
        [
            {**day, "txn_id": "B1", "amount": "-45.50", "channel": "BILL",
             "biller_category": "utilities"},
            {**day, "txn_id": "B2", "amount": "-5.00", "channel": "TOPUP",
             "biller_category": "mobile"},
        ]
    )  # fmt: skip
    # when
    result = _parse(data, preset=None)
    # then
    assert result.errors == []
    assert [(x.channel, x.biller_category) for x in result.lines] == [
        ("BILL", "utilities"),
        ("TOPUP", "mobile"),
    ]


def test_the_hattha_preset_maps_its_biller_category_column():
    # given Hattha's export with its Biller Category column
    data = csv_bytes(
        ["Txn ID", "Posting Date", "Channel", "Debit", "Credit", "Biller Category"],
        [["H1", "03-11-2026 09:21", "BILL", "30.00", "", "internet"]],
    )
    # when
    result = _parse(data, preset=None)
    # then
    assert result.preset == "hattha" and result.errors == []
    assert result.lines[0].biller_category == "internet"


@pytest.fixture
def billers_ledger(account):
    """November bills and top-ups in three categories (one line without one), a
    sale, and an October bill outside the period."""
    at = dt.datetime(2026, 11, 3, 9, tzinfo=PP)
    lines = [
        ("-45.50", "BILL", "utilities"),
        ("-30.25", "BILL", "utilities"),
        ("-19.99", "BILL", "internet"),
        ("-12.00", "BILL", ""),
        ("-5.00", "TOPUP", "mobile"),
        ("-2.50", "TOPUP", "mobile"),
        ("1.00", "TOPUP", "mobile"),  # a refunded top-up
        ("250.00", "KHQR", ""),
    ]
    for n, (amount, channel, category) in enumerate(lines):
        line(
            account,
            at + dt.timedelta(hours=n),
            amount,
            channel=channel,
            biller_category=category,
        )
    line(
        account,
        dt.datetime(2026, 10, 30, 9, tzinfo=PP),
        "-99.00",
        channel="BILL",
        biller_category="utilities",
    )
    return account


def _ledger_totals(account) -> dict[tuple[str, str], tuple[int, Decimal, Decimal]]:
    """(channel, category) -> (lines, credits, debits), straight from the ledger."""
    start = dt.datetime(2026, 11, 1, tzinfo=PP)
    end = dt.datetime(2026, 12, 1, tzinfo=PP)
    rows = (
        Transaction.objects.filter(
            account=account,
            channel__in=["BILL", "TOPUP"],
            posted_at__gte=start,
            posted_at__lt=end,
        )
        .values("channel", "biller_category")
        .annotate(
            n=Count("pk"),
            credits=Sum("amount", filter=Q(amount__gt=0)),
            debits=Sum("amount", filter=Q(amount__lt=0)),
        )
    )
    return {
        (r["channel"], r["biller_category"]): (
            r["n"],
            r["credits"] or Decimal(0),
            r["debits"] or Decimal(0),
        )
        for r in rows
    }


@pytest.mark.django_db
def test_statements_page_totals_bills_and_top_ups_by_biller_category(
    viewer_client, billers_ledger
):
    # when
    response = viewer_client.get(
        reverse("statements:statements"),
        {"date_from": "2026-11-01", "date_to": "2026-11-30"},
    )
    # then the page's table is the ledger's
    (preview,) = response.context["previews"]
    shown = {
        (b.channel, b.category): (b.count, b.credits, b.debits)
        for b in preview["billers"]
    }
    assert shown == _ledger_totals(billers_ledger)
    assert shown[("BILL", "utilities")] == (2, Decimal(0), Decimal("-75.75"))
    body = response.content.decode()
    assert "Bill payments and top-ups by biller category" in body
    assert re.search(
        r"<td>Bill payment</td><td>utilities</td><td class=\"num\">2</td>"
        r"<td class=\"num\">0.00</td><td class=\"num\">-75.75</td>"
        r"<td class=\"num\">-75.75</td>",
        body,
    )
    assert "<td>(none given)</td>" in body


@pytest.mark.django_db
def test_the_pdf_summary_has_the_biller_totals_of_the_ledger(billers_ledger, tmp_path):
    # when
    result = render_statement(
        account=billers_ledger,
        date_from=NOV_1,
        date_to=NOV_30,
        fmt="pdf",
        out=tmp_path / "s.pdf",
    )
    # then each category's line in the summary carries the ledger's figures
    first = pypdf.PdfReader(result.path).pages[0].extract_text()
    assert "Bills and top-ups by biller category" in first
    for (channel, category), (n, credits, debits) in _ledger_totals(
        billers_ledger
    ).items():
        label = re.escape(f"{channel} · {category or '(none given)'}")
        figures = [f"{credits:,.2f}", f"{debits:,.2f}", f"{credits + debits:,.2f}"]
        pattern = label + rf"\s+{n}\s+" + r"\s+".join(map(re.escape, figures))
        assert re.search(pattern, first), (pattern, first)


@pytest.mark.django_db
def test_the_xlsx_summary_has_the_biller_totals_of_the_ledger(billers_ledger, tmp_path):
    # when
    result = render_statement(
        account=billers_ledger,
        date_from=NOV_1,
        date_to=NOV_30,
        fmt="xlsx",
        out=tmp_path / "s.xlsx",
    )
    # then the summary sheet's table is the ledger's, as numbers
    book = openpyxl.load_workbook(result.path)
    rows = [[c.value for c in r] for r in book["Summary"].iter_rows()]
    start = next(
        i for i, r in enumerate(rows) if r[0] == "Bills and top-ups by biller category"
    )
    assert rows[start + 1][:6] == [
        "Channel",
        "Biller category",
        "Lines",
        "Credits",
        "Debits",
        "Net",
    ]
    table = {}
    for r in rows[start + 2 :]:
        if r[0] not in ("BILL", "TOPUP"):
            break
        category = "" if r[1] == "(none given)" else r[1]
        table[(r[0], category)] = (
            r[2],
            Decimal(str(r[3])),
            Decimal(str(r[4])),
        )
        assert Decimal(str(r[5])) == Decimal(str(r[3])) + Decimal(str(r[4]))
    assert table == _ledger_totals(billers_ledger)
    # and each line carries its category on the Lines sheet
    lines = book["Lines"]
    header = [c.value for c in lines[1]]
    column = header.index("Biller category")
    categories = [r[column].value for r in lines.iter_rows(min_row=2)]
    assert categories.count("utilities") == 2 and categories.count("mobile") == 3
