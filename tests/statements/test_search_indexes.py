"""The Transactions page's free-text search is served by indexes on PostgreSQL:
every arm of its OR by one (statements migrations 0014, 0015 and 0017), so a rare
word never reads the whole ledger."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from statements.filters import TransactionFilter
from statements.models import Transaction
from statements.selectors import transaction_list
from tests.statements.factories import PP, line

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's indexes (SQLite scans)"
)


def _plan(merchant, q: str) -> str:
    """The plan of the search's condition alone (the merchant's fence and the
    page's order aside), on a planner told a table scan is the last resort."""
    found = TransactionFilter(
        {"q": q}, queryset=Transaction.objects.order_by(), merchant=merchant
    ).qs
    sql, params = found.query.sql_with_params()
    with connection.cursor() as cursor:
        # a test's few lines would rightly be scanned whole
        cursor.execute("SET LOCAL enable_seqscan TO off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.django_db
def test_free_text_search_reads_every_arm_from_an_index(merchant, account):
    # given
    line(account, dt.datetime(2026, 11, 2, 9, tzinfo=PP), "12.00",
         counterparty_name="Sok Dara", counterparty_account="012@wing",
         reference="INV-1", description="rent", external_id="A1")  # fmt: skip

    # when
    plan = _plan(merchant, "Dara")

    # then
    assert "Seq Scan" not in plan
    assert "txn_search_trgm_idx" in plan
    # the account's `=`, by the same GIN index (btree_gin, statements 0017)
    scans = plan.split("Bitmap Index Scan")
    assert any(
        "txn_search_trgm_idx" in scan and "(counterparty_account)::text = " in scan
        for scan in scans
    ), plan


@pytest.mark.django_db
def test_free_text_search_finds_a_counterparty_account_exactly(merchant, account):
    # given
    line(account, dt.datetime(2026, 11, 2, 9, tzinfo=PP), "12.00",
         counterparty_account="012 345 678", external_id="A1")  # fmt: skip
    line(account, dt.datetime(2026, 11, 3, 9, tzinfo=PP), "13.00",
         counterparty_account="012 345 6789", external_id="A2")  # fmt: skip

    # when
    found = TransactionFilter(
        {"q": "012 345 678"},
        queryset=transaction_list(merchant=merchant),
        merchant=merchant,
    ).qs

    # then
    assert [t.external_id for t in found] == ["A1"]
