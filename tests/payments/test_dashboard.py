"""The KHQR figures of the dashboard: what paid codes collected today and this
month (Phnom Penh days, the currency paid in), and the codes still waiting."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from freezegun import freeze_time

from payments.dashboard import khqr_summary
from payments.models import PaymentStatus
from tests.payments.makers import payment_request_make

PP = dt.timezone(dt.timedelta(hours=7))
NOW = dt.datetime(2026, 12, 3, 23, 30, tzinfo=PP)  # late in the local day


def paid(merchant, when: dt.datetime, amount: str, currency="USD", **fields):
    code = payment_request_make(merchant=merchant, amount=amount, currency=currency)
    code.status = fields.pop("status", PaymentStatus.PAID)
    code.paid_at = when
    code.paid_amount = Decimal(fields.pop("paid_amount", amount))
    code.paid_currency = fields.pop("paid_currency", currency)
    for name, value in fields.items():
        setattr(code, name, value)
    code.save()
    return code


@pytest.mark.django_db
def test_collections_are_summed_by_local_day_and_month_per_currency(
    merchant, other_merchant
):
    with freeze_time(NOW):
        # given codes paid today (local), earlier this month, and last month
        paid(merchant, dt.datetime(2026, 12, 3, 0, 10, tzinfo=PP), "10.00")
        paid(merchant, dt.datetime(2026, 12, 3, 23, 0, tzinfo=PP), "2.50")
        paid(merchant, dt.datetime(2026, 12, 2, 23, 59, tzinfo=PP), "100.00")
        paid(merchant, dt.datetime(2026, 12, 1, 0, 0, tzinfo=PP), "4000", "KHR")
        paid(merchant, dt.datetime(2026, 11, 30, 23, 59, tzinfo=PP), "9.99")
        # refunded since, but paid this month all the same
        paid(
            merchant,
            dt.datetime(2026, 12, 2, 9, 0, tzinfo=PP),
            "1.00",
            status=PaymentStatus.REFUNDED,
        )
        paid(other_merchant, dt.datetime(2026, 12, 3, 9, 0, tzinfo=PP), "500.00")
        # when
        summary = khqr_summary(merchant=merchant)
    # then the merchant's currency comes first
    assert (summary.today, summary.month) == (
        dt.date(2026, 12, 3),
        dt.date(2026, 12, 1),
    )
    khr, usd = summary.collected
    assert (khr.currency, khr.today, khr.month, khr.month_codes) == (
        "KHR",
        0,
        Decimal(4000),
        1,
    )
    assert (usd.today, usd.today_codes) == (Decimal("12.50"), 2)
    assert (usd.month, usd.month_codes) == (Decimal("113.50"), 4)
    assert summary.collected_today == [usd]


@pytest.mark.django_db
@freeze_time(NOW)
def test_a_code_counts_in_the_currency_and_amount_it_was_paid_in(merchant):
    # given a USD code paid in riel, and another paid short
    paid(merchant, NOW, "5.00", paid_amount="20000", paid_currency="KHR")
    paid(merchant, NOW, "5.00", paid_amount="4.00", flag="amount_mismatch")
    # and codes made with a test API key
    paid(merchant, NOW, "1.00", is_test=True)
    summary = khqr_summary(merchant=merchant)
    by_currency = {c.currency: c for c in summary.collected}
    assert by_currency["KHR"].month == Decimal(20000)
    assert by_currency["USD"].month == Decimal("5.00")
    assert (by_currency["USD"].month_codes, by_currency["USD"].month_test_codes) == (
        2,
        1,
    )


@pytest.mark.django_db
def test_codes_waiting_are_the_pending_dynamic_ones_with_the_oldest(merchant):
    with freeze_time("2026-12-03 01:00:00"):
        oldest = payment_request_make(merchant=merchant, amount="3.00")
    with freeze_time("2026-12-03 02:00:00"):
        payment_request_make(merchant=merchant, amount="4.00")
        payment_request_make(merchant=merchant, amount=None)  # static: reusable
        expired = payment_request_make(merchant=merchant, amount="5.00")
        expired.status = PaymentStatus.EXPIRED
        expired.save()
        summary = khqr_summary(merchant=merchant)
    assert summary.pending == 2
    assert summary.oldest_pending_at == oldest.created_at
    assert summary.collected == []
