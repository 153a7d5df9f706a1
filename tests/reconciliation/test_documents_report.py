"""The reconciliation report: every total of the PDF and the XLSX against the
database to the riel, the bank reconciliation statement (tying out, or its
difference in red), the command, the page's download and the statement pack."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from decimal import Decimal

import openpyxl
import pypdf
import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.urls import reverse
from freezegun import freeze_time

from merchants.models import AuditEvent
from payments.models import BakongTransaction
from reconciliation.documents import render_reconciliation
from reconciliation.models import (
    DifferenceKind,
    Match,
    MatchItem,
    ReconciliationException,
)
from reconciliation.rule_words import RULE_WORDS
from reconciliation.services.review import (
    exception_resolve,
    match_confirm,
    match_manual_create,
)
from statements.models import PushEvent, Transaction
from statements.services.packs import statement_pack_build, statement_pack_verify
from tests.core.khmer import khmer
from tests.factories import AccountFactory
from tests.reconciliation.review_makers import (
    NOV_1,
    NOV_30,
    match_of,
    month_with_proposals,
    paid,
    run,
)
from tests.statements.factories import StatementFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


@pytest.fixture
def frozen():
    with freeze_time("2026-12-05 10:00:00"):
        yield


@pytest.fixture
def worked_month(merchant, account, khr_account, owner_client):
    """November after a day's work: a fee confirmed, a hand match, one exception
    written off, one left open; riel lines beside."""
    user = owner_client.user
    invoices, lines = month_with_proposals(merchant, account)
    paid(khr_account, 14, "123457", reference="deposit", external_id="K-1")
    paid(khr_account, 15, "-20000", reference="fee", external_id="K-2")
    run(merchant)
    fee = match_of(merchant, invoices["fee"], lines["fee"])
    match_confirm(merchant=merchant, match_id=fee.pk, actor=user, difference_kind="fee")
    match_manual_create(
        merchant=merchant,
        expected_refs=[("invoice", invoices["open"].pk)],
        posted_refs=[("line", lines["stray"].pk)],
        actor=user,
        difference_kind="write_off",
        note="rest paid in cash",
    )
    riel = ReconciliationException.objects.get(currency="KHR")
    exception_resolve(
        merchant=merchant,
        exception_id=riel.pk,
        actor=user,
        resolution="ignored",
        note="owner's own deposit",
    )
    return invoices, lines


def _db_figures(
    merchant, currency: str, first: dt.date = NOV_1, last: dt.date = NOV_30
) -> dict[str, Decimal]:
    """The summary recomputed from the rows, apart from the report's code."""

    def total(queryset, field="amount") -> Decimal:
        return queryset.aggregate(t=Sum(field))["t"] or Decimal(0)

    live = Match.objects.filter(merchant=merchant, day__gte=first, day__lte=last)
    live = live.exclude(status="rejected")
    money_side = MatchItem.objects.filter(
        match__in=live, kind__in=("line", "bakong"), currency=currency
    )
    period = ReconciliationException.objects.filter(
        merchant=merchant, currency=currency, day__gte=first, day__lte=last
    )
    open_ = period.filter(status__in=("open", "carried"))
    return {
        "received": total(
            Transaction.objects.filter(
                merchant=merchant,
                currency=currency,
                amount__gt=0,
                value_date__gte=first,
                value_date__lte=last,
            )
        ),
        "expected": total(
            MatchItem.objects.filter(
                match__in=live,
                kind__in=("invoice", "khqr", "refund"),
                currency=currency,
            )
        )
        + total(
            period.filter(reason="unpaid_item").exclude(
                resolution__in=("matched", "cleared")
            )
        ),  # fmt: skip
        "auto": total(money_side.filter(match__status="auto")),
        "reviewed": total(
            money_side.filter(match__status="confirmed", match__tier__gt=0)
        ),
        "manual": total(money_side.filter(match__status="confirmed", match__tier=0)),
        "proposed": total(money_side.filter(match__status="proposed")),
        "unpaid": total(open_.filter(reason="unpaid_item")),
        "unmatched": total(open_.filter(reason="unmatched_line")),
    }


SUMMARY_LABELS = {
    "expected": "Expected",
    "received": "Received",
    "auto": "Matched automatically",
    "reviewed": "Matched after review",
    "manual": "Matched by hand",
    "proposed": "Awaiting review",
    "unpaid": "Outstanding: unpaid items",
    "unmatched": "Outstanding: unmatched money in",
}


def _xlsx_summary(path) -> dict[str, dict[str, Decimal]]:
    book = openpyxl.load_workbook(path)
    rows = list(book["Summary"].iter_rows(values_only=True))
    header = next(r for r in rows if not r[0] and r[1] in ("KHR", "USD", "THB"))
    currencies = [c for c in header[1:] if c]
    out: dict[str, dict[str, Decimal]] = {c: {} for c in currencies}
    for row in rows:
        for key, label in SUMMARY_LABELS.items():
            if isinstance(row[0], str) and row[0].startswith(label + " · "):
                for currency, value in zip(currencies, row[1:], strict=False):
                    out[currency][key] = Decimal(str(value))
    return out


def test_xlsx_totals_agree_with_the_database_to_the_riel(
    merchant, worked_month, tmp_path
):
    # when the report is written as XLSX
    result = render_reconciliation(
        merchant=merchant, date_from=NOV_1, date_to=NOV_30, fmt="xlsx",
        out=tmp_path / "r.xlsx",
    )  # fmt: skip

    # then each summary figure of each currency is the database's
    summary = _xlsx_summary(result.path)
    assert set(summary) == {"KHR", "USD"}
    for currency in ("KHR", "USD"):
        assert summary[currency] == _db_figures(merchant, currency), currency
    assert summary["KHR"]["received"] == Decimal("123457")  # whole riel, exact
    # the matches sheet: one row per live match, amounts as numbers
    book = openpyxl.load_workbook(result.path)
    rows = list(book["Matches"].iter_rows(min_row=3, values_only=True))
    assert (
        len(rows) == result.matched == Match.objects.exclude(status="rejected").count()
    )
    cells = list(book["Matches"].iter_rows(min_row=3, max_row=3))[0]
    assert (
        isinstance(cells[9].value, (int, float))
        and cells[9].number_format == "#,##0.00"
    )
    received = sum(Decimal(str(r[9])) for r in rows)
    assert (
        received
        == _db_figures(merchant, "USD")["auto"]
        + _db_figures(merchant, "USD")["reviewed"]
        + _db_figures(merchant, "USD")["manual"]
        + _db_figures(merchant, "USD")["proposed"]
    )
    differences = {
        (r[7], r[11]): Decimal(str(r[10])) for r in rows if r[10]
    }  # (currency, kind)
    # the kind and the rule in words, not their codes
    assert differences == {
        ("USD", str(DifferenceKind.FEE.label)): Decimal("-1.00"),
        ("USD", str(DifferenceKind.WRITE_OFF.label)): Decimal("-62.65"),
    }
    assert str(RULE_WORDS["manual"]) in {r[4] for r in rows}
    exceptions = list(book["Exceptions"].iter_rows(min_row=2, values_only=True))
    assert (
        len(exceptions) == result.exceptions == ReconciliationException.objects.count()
    )


def test_pdf_prints_the_same_totals(merchant, worked_month, tmp_path):
    result = render_reconciliation(
        merchant=merchant, date_from=NOV_1, date_to=NOV_30, fmt="pdf",
        out=tmp_path / "r.pdf",
    )  # fmt: skip
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(result.path).pages)
    lines = text.splitlines()
    khr, usd = _db_figures(merchant, "KHR"), _db_figures(merchant, "USD")
    for key, label in SUMMARY_LABELS.items():
        # the summary table: the row's label, then its KHR and its USD figure
        at = next(i for i, line in enumerate(lines) if line.startswith(label + " · "))
        assert lines[at + 1] == f"{khr[key]:,.0f}", label
        assert lines[at + 2] == f"{usd[key]:,.2f}", label
    assert "123,457" in text  # riel, whole
    assert "Bank fees" in text and "-1.00" in text and "-62.65" in text
    assert "Bank reconciliation statements" in text
    assert "Difference" in text and "not reported: the bank gave no balance" in text
    assert "owner's own deposit" in text  # a resolved exception's reason
    assert "INV-1002" in text and "L-FEE" in text  # a matched pair
    assert text.count("#") >= result.matched


def _bank(merchant, **fields):
    return AccountFactory(
        merchant=merchant, provider="hattha", currency="USD",
        bakong_account_id="shop_a@hath", **fields,
    )  # fmt: skip


def _bank_rec(result, account):
    return next(b for b in result.data.banks if b.account.pk == account.pk)


def test_bank_statement_ties_with_its_outstanding_items(merchant, tmp_path):
    # given a bank account: lines the bank reported, a push it has not confirmed,
    # a Bakong payment it has not put on its statement yet, and its statement
    bank = _bank(merchant)
    paid(bank, 2, "100.00", balance_after=Decimal("100.00"), source="feed")
    paid(bank, 20, "50.00", balance_after=Decimal("150.00"), source="feed")
    pushed = paid(bank, 29, "7.00", source="push")
    PushEvent.objects.create(
        merchant=merchant, account=bank, ref="P1", amount=Decimal("7.00"),
        currency="USD", channel="KHQR", transaction=pushed,
        occurred_at=dt.datetime(2026, 11, 29, 3, tzinfo=dt.UTC),
    )  # fmt: skip
    BakongTransaction.objects.create(
        merchant=merchant, hash="c" * 64, short_hash="c" * 8,
        to_account_id="shop_a@hath", amount=Decimal("12.00"), currency="USD",
        outcome="matched",
        created_at_bakong=dt.datetime(2026, 11, 30, 5, tzinfo=dt.UTC),
    )  # fmt: skip
    StatementFactory(
        account=bank, opening_balance=Decimal("0"), closing_balance=Decimal("162.00")
    )

    # when the report is made
    result = render_reconciliation(
        merchant=merchant, date_from=NOV_1, date_to=NOV_30, fmt="pdf",
        out=tmp_path / "r.pdf",
    )  # fmt: skip

    # then 157 − 7 + 12 = 162, the bank's statement: it ties
    rec = _bank_rec(result, bank)
    assert (rec.ledger, rec.unreported_total, rec.unposted_total) == (
        Decimal("157.00"), Decimal("7.00"), Decimal("12.00"),
    )  # fmt: skip
    assert (rec.bank, rec.bank_source, rec.difference) == (
        Decimal("162.00"), "statement", Decimal("0.00"),
    )  # fmt: skip
    assert result.difference == {"USD": Decimal("0.00")}


def test_bank_statement_shows_an_unexplained_difference(merchant, tmp_path):
    bank = _bank(merchant)
    paid(bank, 2, "100.00", balance_after=Decimal("100.00"), source="feed")
    StatementFactory(
        account=bank, opening_balance=Decimal("0"), closing_balance=Decimal("98.50")
    )
    out = io.StringIO()
    call_command(
        "render_reconciliation", "--merchant", str(merchant.pk), "--from", "2026-11-01",
        "--to", "2026-11-30", "--format", "xlsx", "--out", str(tmp_path / "r.xlsx"),
        "--json", stdout=out,
    )  # fmt: skip
    printed = json.loads(out.getvalue())
    assert printed == {
        "path": str(tmp_path / "r.xlsx"),
        "matched": 0,
        "exceptions": 0,
        "difference": {"USD": "1.50"},
    }
    book = openpyxl.load_workbook(tmp_path / "r.xlsx")
    rows = list(book["Bank reconciliation"].iter_rows())
    difference = next(r for r in rows if str(r[0].value).startswith("Difference"))
    assert difference[1].value == 1.5 and difference[1].font.color.rgb.endswith(
        "B42318"
    )


def test_a_wallet_ties_by_definition_and_a_silent_bank_is_not_reported(
    merchant, tmp_path
):
    wallet = AccountFactory(
        merchant=merchant, provider="bakong", kind="wallet", currency="KHR",
        bakong_account_id="shop_a@wing",
    )  # fmt: skip
    silent = _bank(merchant)
    paid(wallet, 3, "4000", source="bakong")
    paid(silent, 3, "10.00", source="feed")
    result = render_reconciliation(
        merchant=merchant, date_from=NOV_1, date_to=NOV_30, fmt="xlsx",
        out=tmp_path / "r.xlsx",
    )  # fmt: skip
    assert _bank_rec(result, wallet).ties
    assert _bank_rec(result, wallet).bank_source == "wallet"
    assert _bank_rec(result, silent).difference is None
    assert result.difference == {"KHR": Decimal("0.00")}


def test_the_command_refuses_a_bad_format(merchant, tmp_path):
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command(
            "render_reconciliation", "--merchant", str(merchant.pk), "--from",
            "2026-11-01", "--to", "2026-11-30", "--format", "csv", "--out",
            str(tmp_path / "r.csv"), "--json", stdout=out,
        )  # fmt: skip
    assert json.loads(out.getvalue())["message"].startswith("format: 'csv'")


def test_the_statement_pack_holds_the_report_and_verifies(
    merchant, worked_month, tmp_path
):
    result = statement_pack_build(
        merchant=merchant, date_from=NOV_1, date_to=NOV_30, out=tmp_path / "p.zip"
    )
    reports = [f for f in result.files if f["kind"] == "reconciliation"]
    assert sorted(f["path"] for f in reports) == [
        "reconciliation/reconciliation-2026-11-01-2026-11-30.pdf",
        "reconciliation/reconciliation-2026-11-01-2026-11-30.xlsx",
    ]
    assert statement_pack_verify(path=result.path).ok
    with zipfile.ZipFile(result.path) as archive:
        data = archive.read(reports[1]["path"])
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert "Bank reconciliation" in book.sheetnames


@pytest.mark.parametrize(("role", "status"), [("auditor", 200), ("viewer", 403)])
def test_the_report_is_downloaded_by_auditors_and_logged(
    member_client_factory, merchant, worked_month, role, status
):
    client = member_client_factory(merchant, role)
    response = client.get(
        reverse("reconciliation:report-download"),
        {"date_from": "2026-11-01", "date_to": "2026-11-30", "format": "pdf"},
    )
    assert response.status_code == status
    if status == 200:
        assert b"".join(response.streaming_content).startswith(b"%PDF")
        event = AuditEvent.objects.get(action="reconciliation.report.downloaded")
        assert event.actor == client.user and event.details["format"] == "pdf"


def test_the_english_reports_khmer_headings_are_the_catalogues_glossary_words(
    merchant, worked_month, tmp_path
):
    # when the English report is written as XLSX
    result = render_reconciliation(
        merchant=merchant, date_from=NOV_1, date_to=NOV_30, fmt="xlsx",
        out=tmp_path / "r.xlsx",
    )  # fmt: skip
    # then each heading keeps its Khmer beside it, the Khmer report's own words
    book = openpyxl.load_workbook(result.path)
    cells = {
        str(cell) for sheet in book for row in sheet.iter_rows(values_only=True)
        for cell in row if cell
    }  # fmt: skip
    for english in ("Reconciliation report", "Summary", "Matched by hand",
                    "Balance per the bank statement"):  # fmt: skip
        assert any(c.startswith(f"{english} · {khmer(english)}") for c in cells), (
            english
        )
    assert khmer("Exceptions") == "ករណីលើកលែង"  # the glossary's term
    assert not any("ករណីមិនប្រក្រតី" in c for c in cells)
