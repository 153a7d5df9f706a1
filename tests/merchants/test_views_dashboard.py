"""The dashboard page: the widgets the apps above merchants register, each in
its slot; three charts per currency; the KHQR figures; each connection's last
sync with its outcome; and a cost in queries that does not grow with the days
of lines, the accounts or the codes."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from merchants.dashboard import DashboardWidget
from payments.models import PaymentStatus
from tests.factories import AccountFactory, ConnectionFactory, TransactionFactory
from tests.payments.makers import payment_request_make

PP = dt.timezone(dt.timedelta(hours=7))
NOW = "2026-12-03 03:00:00"  # 10:00 in Phnom Penh
TODAY = dt.date(2026, 12, 3)


def lines_on(account, days: range, amount: str = "10.00") -> None:
    for back in days:
        posted = dt.datetime.combine(
            TODAY - dt.timedelta(days=back), dt.time(9), tzinfo=PP
        )
        for sign, channel in (("", "KHQR"), ("-", "TRANSFER")):
            TransactionFactory(
                account=account,
                merchant=account.merchant,
                posted_at=posted,
                value_date=posted.date(),
                amount=Decimal(sign + amount),
                channel=channel,
            )


def paid_code(merchant, amount: str = "5.00") -> None:
    code = payment_request_make(merchant=merchant, amount=amount)
    code.status = PaymentStatus.PAID
    code.paid_at = code.created_at
    code.paid_amount = Decimal(amount)
    code.paid_currency = "USD"
    code.save()


def chart_ids(body: str) -> list[str]:
    return re.findall(r'<svg class="chart [^"]*" id="([^"]+)"', body)


@pytest.mark.django_db
@freeze_time(NOW)
def test_the_dashboard_draws_three_charts_for_each_currency(owner_client, merchant):
    # given riel and dollar accounts with a few days of lines
    usd = AccountFactory(merchant=merchant, currency="USD")
    khr = AccountFactory(merchant=merchant, currency="KHR")
    lines_on(usd, range(3))
    lines_on(khr, range(2), amount="4000")
    # when
    response = owner_client.get(reverse("dashboard"))
    body = response.content.decode()
    # then each currency has its money in and out, its channels and its position,
    # the merchant's own currency (riel) first
    assert chart_ids(body) == [
        "chart-khr-in-out",
        "chart-khr-position",
        "chart-khr-channels",
        "chart-usd-in-out",
        "chart-usd-position",
        "chart-usd-channels",
    ]
    usd_card = body.split('id="charts-usd"')[1]
    assert 'In <span class="credit">30.00 USD</span>' in usd_card
    # and the figures are there to read as a table too
    assert "<summary>The figures</summary>" in usd_card
    assert "<td>Thu 3 Dec</td>" in usd_card


@pytest.mark.django_db
@freeze_time(NOW)
def test_the_dashboard_shows_the_days_and_months_khqr_collections(
    owner_client, merchant
):
    paid_code(merchant, "5.00")
    paid_code(merchant, "7.50")
    payment_request_make(merchant=merchant, amount="1.00")  # still waiting
    body = owner_client.get(reverse("dashboard")).content.decode()
    today = body.split('id="khqr-today"')[1].split('id="khqr-month"')[0]
    assert "12.50 USD" in today and "2 codes paid" in today
    waiting = body.split('id="khqr-pending"')[1].split("</a>")[0]
    assert '<div class="stat-value">1</div>' in waiting


@pytest.mark.django_db
def test_each_connection_shows_its_last_sync_and_what_it_said(owner_client, merchant):
    account = AccountFactory(merchant=merchant)
    ConnectionFactory(
        account=account,
        last_sync_at=dt.datetime(2026, 12, 3, 2, tzinfo=dt.UTC),
        last_sync_status="failed",
        last_sync_message="The bank answered 503: try again later",
    )
    body = owner_client.get(reverse("dashboard")).content.decode()
    cell = body.split('class="last-sync"')[1].split("</td>")[0]
    assert "Failed" in cell
    assert "The bank answered 503: try again later" in cell


@pytest.mark.django_db
def test_a_merchant_without_accounts_sees_no_charts(owner_client):
    body = owner_client.get(reverse("dashboard")).content.decode()
    assert chart_ids(body) == []
    assert 'id="charts"' not in body


def test_a_widget_must_name_a_slot_of_the_page():
    with pytest.raises(ValueError, match="slot: 'sidebar' is not one of totals"):
        DashboardWidget(template="x.html", slot="sidebar")


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.django_db
@freeze_time(NOW)
def test_the_dashboard_costs_as_many_queries_with_30_days_of_lines_as_with_3(
    owner_client, merchant
):
    # given three currencies, each with a connection, three days of lines and a
    # current balance; a paid code
    accounts = []
    for currency in ("KHR", "USD", "THB"):
        account = AccountFactory(
            merchant=merchant,
            currency=currency,
            current_balance=Decimal(100),
            balance_as_of=dt.datetime(2026, 12, 3, 2, tzinfo=dt.UTC),
        )
        ConnectionFactory(account=account)
        lines_on(account, range(3), amount="100")
        accounts.append(account)
    paid_code(merchant)
    _queries(owner_client)  # sessions and caches warmed
    few = _queries(owner_client)
    # when there are thirty days of lines, more accounts and more codes
    for account in accounts:
        lines_on(account, range(3, 30), amount="100")
        more = AccountFactory(merchant=merchant, currency=account.currency)
        lines_on(more, range(30), amount="100")
    for _ in range(10):
        paid_code(merchant)
    many = _queries(owner_client)
    # then the page asks the database no more often
    assert many == few
