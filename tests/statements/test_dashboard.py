"""The ledger's part of the dashboard: each local day's money in and out per
currency, money in and out by channel, and the cash position at each day's end
from an opening that is the balance history's (or the bank's current balance,
or the lines' own sum, saying which)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from freezegun import freeze_time

from statements.dashboard import OPENING_CURRENT, account_openings, ledger_activity
from statements.services.balances import (
    OPENING_COMPUTED,
    OPENING_HISTORY,
    balance_before,
    balances_before_many,
)
from tests.factories import AccountFactory
from tests.statements.factories import PP, line

NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=PP)
FIRST = dt.date(2026, 11, 4)  # 30 days to 3 Dec
START = dt.datetime(2026, 11, 4, tzinfo=PP)
END = dt.datetime(2026, 12, 4, tzinfo=PP)


def at(day: int, hour: int = 10, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=PP)


def by_day(activity) -> dict[dt.date, tuple[Decimal, Decimal, Decimal]]:
    return {d.day: (d.money_in, d.money_out, d.position) for d in activity.days}


@pytest.fixture
def accounts(merchant):
    """Five histories, one of each kind the opening has to read."""
    anchored = AccountFactory(merchant=merchant, currency="USD", name="anchored")
    line(anchored, at(1), "999.00")
    line(anchored, at(2), "10.00", balance_after=Decimal("500.00"))
    # two lines at one instant: the one with the higher id is the later
    line(anchored, at(3), "-20.00")
    line(anchored, at(3), "5.00")
    line(anchored, at(5), "7.00")  # inside the window
    anchored_later = AccountFactory(merchant=merchant, currency="USD", name="later")
    line(anchored_later, at(1), "40.00")
    line(anchored_later, at(6), "60.00", balance_after=Decimal("1060.00"))
    summed = AccountFactory(merchant=merchant, currency="USD", name="summed")
    line(summed, at(1), "30.00")
    line(summed, at(2), "-5.50")
    empty = AccountFactory(merchant=merchant, currency="USD", name="empty")
    too_late = AccountFactory(merchant=merchant, currency="USD", name="too late")
    line(too_late, at(2), "3.00")
    line(too_late, at(5, month=12), "1.00", balance_after=Decimal("99.00"))
    return [anchored, anchored_later, summed, empty, too_late]


@pytest.mark.django_db
def test_openings_of_many_accounts_are_the_balance_history_of_each(
    accounts, django_assert_num_queries
):
    # when the openings of all five are read at once
    with django_assert_num_queries(2):
        many = balances_before_many(accounts=accounts, instant=START, until=END)
    # then each is the account's own balance history
    assert many == {
        a.pk: balance_before(account=a, instant=START, until=END) for a in accounts
    }
    anchored, later, summed, empty, too_late = (many[a.pk] for a in accounts)
    assert anchored == (Decimal("485.00"), OPENING_HISTORY)  # 500 - 20 + 5
    assert later == (Decimal("1000.00"), OPENING_HISTORY)  # 1060 - 60 - 0
    assert summed == (Decimal("24.50"), OPENING_COMPUTED)
    assert empty == (Decimal(0), OPENING_COMPUTED)
    # a bank balance after the window's end is not read back into it
    assert too_late == (Decimal("3.00"), OPENING_COMPUTED)


@pytest.mark.django_db
def test_an_account_without_bank_balances_opens_from_its_current_balance(merchant):
    # given the bank says 5,000.00 now, and 100 + 200 came in since the window began
    account = AccountFactory(
        merchant=merchant,
        currency="USD",
        current_balance=Decimal("5000.00"),
        balance_as_of=NOW,
    )
    line(account, at(1), "50.00")
    line(account, at(10), "100.00")
    line(account, at(2, month=12), "200.00")
    # when
    openings = account_openings(accounts=[account], start=START, end=END)
    # then the window opened with what the bank holds less what came in since
    assert openings[account.pk] == (Decimal("4700.00"), OPENING_CURRENT)


@pytest.mark.django_db
def test_a_current_balance_older_than_the_window_adds_the_lines_after_it(merchant):
    account = AccountFactory(
        merchant=merchant,
        currency="KHR",
        current_balance=Decimal(10000),
        balance_as_of=at(1, 12),
    )
    line(account, at(1, 11), "-500")  # before the bank's figure: in it already
    line(account, at(2), "4000")
    line(account, at(20), "1500")
    openings = account_openings(accounts=[account], start=START, end=END)
    assert openings[account.pk] == (Decimal(14000), OPENING_CURRENT)


@pytest.mark.django_db
@freeze_time(NOW)
def test_each_local_day_sums_its_money_in_and_out_and_ends_with_its_position(
    merchant,
):
    # given an account the bank said held 1,000.00 on 1 Nov
    account = AccountFactory(merchant=merchant, currency="USD", name="Hattha")
    line(account, at(1), "1.00", balance_after=Decimal("1000.00"))
    # 23:30 on 10 Nov and 00:30 on 11 Nov local time: two days, one UTC date
    line(account, at(10, 23, 30), "300.00", channel="KHQR")
    line(account, at(11, 0, 30), "-45.50", channel="TRANSFER")
    line(account, at(11, 9), "20.00", channel="TRANSFER")
    line(account, at(3, 8, month=12), "12.25", channel="KHQR")
    # when
    [usd] = ledger_activity(merchant=merchant)
    # then 30 days to today, each with its own lines
    days = by_day(usd)
    assert (usd.days[0].day, usd.days[-1].day, len(days)) == (
        FIRST,
        dt.date(2026, 12, 3),
        30,
    )
    assert usd.opening == Decimal("1000.00")
    assert days[dt.date(2026, 11, 9)] == (0, 0, Decimal("1000.00"))
    assert days[dt.date(2026, 11, 10)] == (
        Decimal("300.00"),
        0,
        Decimal("1300.00"),
    )
    assert days[dt.date(2026, 11, 11)] == (
        Decimal("20.00"),
        Decimal("-45.50"),
        Decimal("1274.50"),
    )
    assert days[dt.date(2026, 12, 3)][2] == usd.closing == Decimal("1286.75")
    assert (usd.money_in, usd.money_out) == (Decimal("332.25"), Decimal("-45.50"))
    # and money in and out by channel, the larger inflow first, named for people
    assert [(c.label, c.money_in, c.money_out, c.lines) for c in usd.channels] == [
        ("KHQR", Decimal("312.25"), 0, 2),
        ("Transfer", Decimal("20.00"), Decimal("-45.50"), 2),
    ]
    assert usd.accounts == ["Hattha"] and usd.computed == usd.from_current == []


@pytest.mark.django_db
@freeze_time(NOW)
def test_each_currency_has_its_own_series_the_merchants_own_first(merchant):
    # given a KHR merchant with USD, THB and KHR accounts
    merchant.default_currency = "KHR"
    merchant.save()
    usd = AccountFactory(merchant=merchant, currency="USD", name="usd")
    thb = AccountFactory(merchant=merchant, currency="THB", name="thb")
    khr = AccountFactory(merchant=merchant, currency="KHR", name="khr")
    line(usd, at(20), "5.00")
    line(khr, at(20), "4000")
    line(khr, at(21), "-1000")
    # 23:30 in Bangkok is the same day there
    line(thb, dt.datetime(2026, 11, 20, 23, 30, tzinfo=PP), "35.00")
    # when
    series = ledger_activity(merchant=merchant)
    # then
    assert [s.currency for s in series] == ["KHR", "USD", "THB"]
    khr_series, usd_series, thb_series = series
    assert khr_series.closing == Decimal(3000)
    assert by_day(thb_series)[dt.date(2026, 11, 20)][0] == Decimal("35.00")
    # no bank balance anywhere: each says its position is its lines from zero
    assert usd_series.computed == ["usd"]


@pytest.mark.django_db
@freeze_time(NOW)
def test_inactive_accounts_and_other_merchants_are_left_out(merchant, other_merchant):
    mine = AccountFactory(merchant=merchant, currency="USD")
    line(mine, at(20), "5.00")
    closed = AccountFactory(merchant=merchant, currency="USD", is_active=False)
    line(closed, at(20), "70.00")
    theirs = AccountFactory(merchant=other_merchant, currency="USD")
    line(theirs, at(20), "900.00")
    [usd] = ledger_activity(merchant=merchant)
    assert (usd.money_in, usd.closing) == (Decimal("5.00"), Decimal("5.00"))


@pytest.mark.django_db
@freeze_time(NOW)
def test_a_merchant_without_accounts_has_no_series(merchant):
    assert ledger_activity(merchant=merchant) == []
