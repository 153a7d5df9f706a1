"""The reconciliation report on the demo (seed_demo): after a run and a sync of the
Hattha feed, every account's bank reconciliation statement ties out, and the
summary is the database's to the riel."""

from __future__ import annotations

import datetime as dt
import io
import json

import httpx
import openpyxl
import pytest
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.utils import timezone

from merchants.models import Connection, Merchant
from reconciliation.documents import render_reconciliation
from statements.services.feed_sync import statement_feed_sync
from tests.reconciliation.review_makers import demo_invoices, run
from tests.reconciliation.test_documents_report import _db_figures, _xlsx_summary

# the feed is read through the WSGI app in this process, whose request end
# closes the connection: the test cannot sit in one transaction
pytestmark = pytest.mark.django_db(transaction=True)


def _last_month() -> tuple[dt.date, dt.date]:
    last = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
    return last.replace(day=1), last


def test_the_demo_months_bank_statements_tie_out(tmp_path, sandbox_bakong):
    # given the demo, its invoices, the month reconciled and the feed synced
    out = io.StringIO()
    call_command("seed_demo", "--json", stdout=out)
    merchant = Merchant.objects.get(pk=json.loads(out.getvalue())["merchant_id"])
    first, last = _last_month()
    demo_invoices(merchant, first, tmp_path)
    run(merchant, date_from=first, date_to=last)
    feed = Connection.objects.get(merchant=merchant, provider="statement_feed")
    statement_feed_sync(
        connection_id=feed.pk,
        date_from=first,
        date_to=last,
        transport=httpx.WSGITransport(app=get_wsgi_application()),
    )

    # when the month's report is written
    result = render_reconciliation(
        merchant=merchant, date_from=first, date_to=last, fmt="xlsx",
        out=tmp_path / "demo.xlsx",
    )  # fmt: skip

    # then every account ties, bank by bank, and nothing is left unexplained
    for bank in result.data.banks:
        assert bank.bank is not None, bank.account.label
        assert bank.difference == 0, (bank.account.label, bank.bank_source)
    sources = {b.account.provider: b.bank_source for b in result.data.banks}
    assert sources["bakong"] == "wallet" and sources["hattha"] == "statement"
    assert set(result.difference.values()) == {0}
    # and the summary is the database's, currency by currency
    summary = _xlsx_summary(result.path)
    for currency, figures in summary.items():
        assert figures == _db_figures(merchant, currency, first, last), currency
    assert result.matched > 0 and result.exceptions > 0
    book = openpyxl.load_workbook(result.path)
    assert book["Matches"].max_row - 2 == result.matched
