"""The account page: links to its transactions and its statement, and who pays in
and out most (one aggregate query)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from merchants.selectors import account_counterparties
from tests.factories import AccountFactory, TransactionFactory

pytestmark = pytest.mark.django_db


def _line(account, name, amount, *, days_ago=1):
    return TransactionFactory(
        account=account,
        merchant=account.merchant,
        counterparty_name=name,
        amount=Decimal(amount),
        posted_at=timezone.now() - dt.timedelta(days=days_ago),
    )


def test_counterparties_are_counted_and_summed_per_name_for_90_days(account):
    # given lines of two payers, one old line, one unnamed, another account's
    _line(account, "Sok Dara", "10.00")
    _line(account, "Sok Dara", "-4.00")
    _line(account, "Sok Dara", "2.50")
    _line(account, "Chan Vanna", "5.00")
    _line(account, "Chan Vanna", "100.00", days_ago=91)
    _line(account, "", "7.00")
    other = AccountFactory(merchant=account.merchant)
    _line(other, "Sok Dara", "99.00")
    # when
    with CaptureQueriesContext(connection) as queries:
        rows = account_counterparties(account=account)
    # then one query, most lines first, money in and out apart
    assert len(queries) == 1
    assert [(r.name, r.lines, r.money_in, r.money_out) for r in rows] == [
        ("Sok Dara", 3, Decimal("12.50"), Decimal("-4.00")),
        ("Chan Vanna", 1, Decimal("5.00"), Decimal("0")),
    ]


def test_the_account_page_shows_counterparties_and_links_onwards(
    viewer_client, account
):
    # given a line from a payer
    _line(account, "Sok Dara", "10.00")
    # when
    with freeze_time("2026-03-10T05:00:00Z"):
        page = viewer_client.get(
            reverse("account-detail", args=[account.pk])
        ).content.decode()
    # then links go to its transactions and to last month's statement, preselected
    assert f'href="/statements/transactions/?account={account.pk}"' in page
    assert (
        f'href="/statements/?accounts={account.pk}&amp;date_from=2026-02-01'
        '&amp;date_to=2026-02-28"' in page
    )
    assert "Statement for February 2026" in page
    assert 'id="counterparties"' in page


def test_the_counterparty_table_lists_the_payer_with_its_sums(viewer_client, account):
    _line(account, "Sok Dara", "10.00")
    _line(account, "Sok Dara", "-3.00")
    page = viewer_client.get(reverse("account-detail", args=[account.pk])).text
    counterparties = page[page.index('id="counterparties"') :]
    assert "Sok Dara" in counterparties
    assert "10.00" in counterparties and "-3.00" in counterparties
    assert f"?account={account.pk}&amp;q=Sok%20Dara" in counterparties


def test_the_statement_link_opens_a_preview_of_that_account(viewer_client, account):
    # given the link the account page gives
    other = AccountFactory(merchant=account.merchant, name="Other")
    url = f"/statements/?accounts={account.pk}&date_from=2026-02-01&date_to=2026-02-28"
    # when it is followed
    response = viewer_client.get(url)
    # then only that account is previewed
    previews = response.context["previews"]
    assert [p["account"] for p in previews] == [account]
    assert other not in [p["account"] for p in previews]
