"""What all the merchant's money is worth in its own currency today: the
accounts' current balances at the rates table's newest rate of the last 7 days,
saying which day's rate it used, exact, rounded half up once at the end, and
never a guessed rate."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import RequestFactory
from django.urls import reverse
from freezegun import freeze_time

from reconciliation.dashboard import (
    balances_converted,
    converted_total_widget,
)
from reconciliation.models import ExchangeRate
from tests.factories import AccountFactory

TODAY = dt.date(2026, 12, 3)


def rate(day: dt.date, base: str, quote: str, value: str) -> None:
    ExchangeRate.objects.create(date=day, base=base, quote=quote, rate=value)


def holds(merchant, currency: str, balance: str | None, **fields):
    return AccountFactory(
        merchant=merchant,
        currency=currency,
        current_balance=None if balance is None else Decimal(balance),
        **fields,
    )


@pytest.mark.django_db
def test_balances_are_converted_at_the_days_rate_and_say_which(merchant):
    # given a riel merchant with riel and dollars, and a week of USD/KHR rates
    holds(merchant, "KHR", "1000000")
    holds(merchant, "USD", "1000.00")
    holds(merchant, "USD", "234.56")
    rate(TODAY - dt.timedelta(days=8), "USD", "KHR", "3900")  # too old
    rate(TODAY - dt.timedelta(days=1), "USD", "KHR", "4012")
    rate(TODAY + dt.timedelta(days=1), "USD", "KHR", "4100")  # tomorrow's
    # when
    converted = balances_converted(merchant=merchant, day=TODAY)
    # then 1,234.56 × 4,012 = 4,953,054.72, rounded to the riel
    khr, usd = converted.parts
    assert (khr.currency, khr.converted) == ("KHR", Decimal(1000000))
    assert (usd.amount, usd.converted) == (Decimal("1234.56"), Decimal(4953055))
    assert converted.total == Decimal(5953055)
    [used] = converted.rates
    assert (used.day, str(used)) == (TODAY - dt.timedelta(days=1), "1 USD = 4,012 KHR")
    assert converted.missing == []


@pytest.mark.django_db
def test_a_rate_written_the_other_way_round_divides_exactly(merchant):
    # given a dollar merchant holding riel, and the table's USD/KHR rate
    merchant.default_currency = "USD"
    merchant.save()
    holds(merchant, "KHR", "10020")
    rate(TODAY, "USD", "KHR", "4000")
    # when: 10,020 / 4,000 = 2.505 exactly, a tie
    converted = balances_converted(merchant=merchant, day=TODAY)
    # then it rounds half up (banker's rounding would give 2.50)
    assert converted.total == Decimal("2.51")
    assert str(converted.rates[0]) == "1 USD = 4,000 KHR"


@pytest.mark.django_db
def test_baht_reach_riel_through_the_dollar_when_no_direct_rate_exists(merchant):
    holds(merchant, "THB", "1000.00")
    rate(TODAY - dt.timedelta(days=2), "THB", "USD", "0.0284")
    rate(TODAY, "USD", "KHR", "4000")
    converted = balances_converted(merchant=merchant, day=TODAY)
    # 1,000 THB = 28.40 USD = 113,600 KHR; both rates are named with their days
    assert converted.total == Decimal(113600)
    assert [(str(r), r.day) for r in converted.rates] == [
        ("1 THB = 0.0284 USD", TODAY - dt.timedelta(days=2)),
        ("1 USD = 4,000 KHR", TODAY),
    ]


@pytest.mark.django_db
def test_a_direct_rate_wins_over_the_way_through_the_dollar(merchant):
    holds(merchant, "THB", "100.00")
    rate(TODAY, "THB", "USD", "0.0284")
    rate(TODAY, "USD", "KHR", "4000")
    rate(TODAY, "THB", "KHR", "115")
    converted = balances_converted(merchant=merchant, day=TODAY)
    assert converted.total == Decimal(11500)
    assert [str(r) for r in converted.rates] == ["1 THB = 115 KHR"]


@pytest.mark.django_db
def test_a_currency_without_a_rate_is_left_out_and_named_never_guessed(merchant):
    # given baht and dollars, but only a dollar rate
    holds(merchant, "KHR", "500")
    holds(merchant, "USD", "1.00")
    holds(merchant, "THB", "350.00")
    rate(TODAY, "USD", "KHR", "4000")
    # when
    converted = balances_converted(merchant=merchant, day=TODAY)
    # then the total is what has a rate, and the baht are named as not counted
    assert converted.total == Decimal(4500)
    [missing] = converted.missing
    assert (missing.currency, missing.amount, missing.converted) == (
        "THB",
        Decimal("350.00"),
        None,
    )


@pytest.mark.django_db
def test_the_parts_are_added_exactly_and_rounded_once(merchant):
    # given two parts that are each half a riel over a whole one
    holds(merchant, "USD", "0.01")  # × 4,050 = 40.5 riel
    holds(merchant, "THB", "0.01")  # × 150 = 1.5 riel
    rate(TODAY, "USD", "KHR", "4050")
    rate(TODAY, "THB", "KHR", "150")
    converted = balances_converted(merchant=merchant, day=TODAY)
    # then the shown parts round each (41 and 2), the total rounds the sum (42)
    assert [p.converted for p in converted.parts] == [Decimal(41), Decimal(2)]
    assert converted.total == Decimal(42)


@pytest.mark.django_db
def test_accounts_without_a_balance_are_named_not_counted(merchant):
    holds(merchant, "USD", None, name="New wallet")
    holds(merchant, "USD", "2.00")
    rate(TODAY, "USD", "KHR", "4000")
    converted = balances_converted(merchant=merchant, day=TODAY)
    assert converted.without_balance == ["New wallet"]
    assert converted.total == Decimal(8000)


@pytest.mark.django_db
def test_no_widget_when_all_the_money_is_in_the_merchants_currency(merchant):
    holds(merchant, "KHR", "5000")
    request = RequestFactory().get("/")
    request.merchant = merchant
    assert converted_total_widget(request) is None


@pytest.mark.django_db
@freeze_time("2026-12-03 10:00:00")
def test_the_dashboard_shows_the_total_and_the_rate_it_used(owner_client, merchant):
    # given riel and dollars, and yesterday's rate
    holds(merchant, "KHR", "1000000")
    holds(merchant, "USD", "250.00")
    holds(merchant, "THB", "10.00")
    rate(dt.date(2026, 12, 2), "USD", "KHR", "4012")
    # when the owner opens the dashboard
    body = owner_client.get(reverse("dashboard")).content.decode()
    # then
    total = body.split('id="converted-total"')[1].split("</details>")[0]
    assert "All accounts in KHR" in total
    assert "2,003,000 KHR" in total  # 1,000,000 + 250 × 4,012
    assert "at the NBC rate of 2 Dec 2026: 1 USD = 4,012 KHR" in total
    assert "no rate in the last 7 days for THB: 10.00 THB not counted" in total
