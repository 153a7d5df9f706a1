"""Opening and closing balances, the running balance, and the continuity check."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from freezegun import freeze_time

from statements.services.balances import (
    OPENING_BANK,
    OPENING_COMPUTED,
    OPENING_HISTORY,
    balance_jumps,
    period_balance,
    running_lines,
)
from tests.factories import AccountFactory
from tests.statements.factories import PP, StatementFactory, line

NOV_1, NOV_30 = dt.date(2026, 11, 1), dt.date(2026, 11, 30)
BKK = dt.timezone(dt.timedelta(hours=7))


@pytest.mark.django_db
def test_opening_is_computed_from_every_earlier_line_without_bank_balances(account):
    # given two October lines with no bank balance
    line(account, dt.datetime(2026, 10, 3, 9, tzinfo=PP), "100.00")
    line(account, dt.datetime(2026, 10, 9, 9, tzinfo=PP), "-30.25")
    line(account, dt.datetime(2026, 11, 2, 9, tzinfo=PP), "5.00")

    # when
    period = period_balance(account=account, date_from=NOV_1, date_to=NOV_30)

    # then
    assert (period.opening, period.opening_source) == (
        Decimal("69.75"),
        OPENING_COMPUTED,
    )
    assert period.closing == Decimal("74.75")
    assert (period.lines, period.credits, period.debits) == (1, Decimal("5.00"), 0)


@pytest.mark.django_db
def test_opening_follows_the_last_bank_balance_after_plus_later_lines(account):
    # given the bank said 500.00 after an October line, then a line without balance
    line(account, dt.datetime(2026, 10, 1, 9, tzinfo=PP), "999.00")
    line(
        account,
        dt.datetime(2026, 10, 20, 9, tzinfo=PP),
        "10.00",
        balance_after=Decimal("500.00"),
    )
    line(account, dt.datetime(2026, 10, 25, 9, tzinfo=PP), "-20.00")

    # when
    period = period_balance(account=account, date_from=NOV_1, date_to=NOV_30)

    # then the bank's figure is trusted over Σ of the lines (999 + 10 - 20)
    assert (period.opening, period.opening_source) == (
        Decimal("480.00"),
        OPENING_HISTORY,
    )


@pytest.mark.django_db
def test_opening_is_the_banks_statement_figure_and_a_different_history_is_flagged(
    account,
):
    # given history says 480.00 but the bank's November statement opens at 450.00
    line(
        account,
        dt.datetime(2026, 10, 20, 9, tzinfo=PP),
        "480.00",
        balance_after=Decimal("480.00"),
    )
    StatementFactory(
        account=account,
        opening_balance=Decimal("450.00"),
        closing_balance=Decimal("460.00"),
    )
    line(account, dt.datetime(2026, 11, 2, 9, tzinfo=PP), "10.00")

    # when
    period = period_balance(account=account, date_from=NOV_1, date_to=NOV_30)

    # then
    assert (period.opening, period.opening_source) == (Decimal("450.00"), OPENING_BANK)
    assert period.closing == Decimal("460.00")
    assert any("differs from the balance history" in w for w in period.warnings)


@pytest.mark.django_db
def test_a_bank_closing_that_is_not_opening_plus_lines_is_shown(account):
    # given the bank claims 470.00 but its lines add up to 460.00
    StatementFactory(
        account=account,
        opening_balance=Decimal("450.00"),
        closing_balance=Decimal("470.00"),
    )
    line(account, dt.datetime(2026, 11, 2, 9, tzinfo=PP), "10.00")

    # when
    period = period_balance(account=account, date_from=NOV_1, date_to=NOV_30)

    # then
    assert period.closing == Decimal("460.00")
    assert period.warnings == [
        "The bank's closing balance on 2026-11-30 (470.00 USD) is not opening + "
        "lines (460.00 USD): the difference is 10.00 USD."
    ]


@pytest.mark.django_db
def test_continuity_warns_of_a_gap_between_statements(account):
    # given October and December statements but none for 1..15 November
    StatementFactory(
        account=account,
        period_start=dt.date(2026, 10, 1),
        period_end=dt.date(2026, 10, 31),
        opening_balance=Decimal("0"),
        closing_balance=Decimal("100.00"),
    )
    StatementFactory(
        account=account,
        period_start=dt.date(2026, 11, 16),
        period_end=NOV_30,
        opening_balance=Decimal("100.00"),
        closing_balance=Decimal("100.00"),
    )

    # when
    period = period_balance(account=account, date_from=NOV_1, date_to=NOV_30)

    # then
    assert "Gap: no bank statement covers 2026-11-01..2026-11-15." in period.warnings


@pytest.mark.django_db
def test_continuity_warns_of_an_overlap_and_of_a_closing_that_is_not_the_next_opening(
    account,
):
    # given statements that overlap on 31 October, and a break in the balances
    StatementFactory(
        account=account,
        period_start=dt.date(2026, 10, 1),
        period_end=dt.date(2026, 10, 31),
        closing_balance=Decimal("100.00"),
    )
    StatementFactory(
        account=account,
        period_start=dt.date(2026, 10, 31),
        period_end=dt.date(2026, 11, 15),
        opening_balance=Decimal("90.00"),
        closing_balance=Decimal("90.00"),
    )
    StatementFactory(
        account=account,
        period_start=dt.date(2026, 11, 16),
        period_end=NOV_30,
        opening_balance=Decimal("95.00"),
        closing_balance=Decimal("95.00"),
    )

    # when
    period = period_balance(account=account, date_from=NOV_1, date_to=NOV_30)

    # then
    assert (
        "Overlap: the statements 2026-10-01..2026-10-31 and 2026-10-31..2026-11-15 "
        "cover the same days."
    ) in period.warnings
    assert (
        "The closing balance of 2026-10-31..2026-11-15 (90.00 USD) is not the "
        "opening of 2026-11-16..2026-11-30 (95.00 USD)."
    ) in period.warnings


@pytest.mark.django_db
def test_continuous_statements_give_no_warning(account):
    # given
    StatementFactory(
        account=account,
        period_start=dt.date(2026, 10, 1),
        period_end=dt.date(2026, 10, 31),
        closing_balance=Decimal("100.00"),
    )
    StatementFactory(
        account=account,
        opening_balance=Decimal("100.00"),
        closing_balance=Decimal("100.00"),
    )

    # when
    period = period_balance(account=account, date_from=NOV_1, date_to=NOV_30)

    # then
    assert period.warnings == []


@pytest.mark.django_db
@freeze_time("2026-11-30 16:30:00+00:00")  # 23:30 on 30 November in Phnom Penh
def test_a_line_at_23_30_local_belongs_to_that_local_day(khr_account):
    # given lines at 23:30 local on the last day of October and of November
    line(khr_account, dt.datetime(2026, 10, 31, 23, 30, tzinfo=PP), "1000")
    line(khr_account, dt.datetime(2026, 11, 30, 23, 30, tzinfo=PP), "200")
    line(khr_account, dt.datetime(2026, 12, 1, 0, 0, tzinfo=PP), "7")

    # when
    period = period_balance(account=khr_account, date_from=NOV_1, date_to=NOV_30)

    # then 16:30 UTC on 31 October is October's; 16:30 UTC on 30 November is November's
    assert (period.opening, period.lines, period.closing) == (
        Decimal("1000"),
        1,
        Decimal("1200"),
    )


@pytest.mark.django_db
def test_a_thb_account_uses_bangkok_days(merchant):
    # given a baht account and a line at 00:10 Bangkok time on 1 November
    thb = AccountFactory(merchant=merchant, currency="THB", provider="krungsri")
    line(thb, dt.datetime(2026, 11, 1, 0, 10, tzinfo=BKK), "50.00")

    # when
    period = period_balance(account=thb, date_from=NOV_1, date_to=NOV_30)

    # then
    assert period.start == dt.datetime(2026, 10, 31, 17, 0, tzinfo=dt.UTC)
    assert (period.opening, period.lines) == (0, 1)


@pytest.mark.django_db
def test_running_balance_and_jumps_show_lines_missing_inside_a_period(account):
    # given the bank's balances after each line skip 5.00 between the 2nd and 3rd
    for day, amount, after in (
        (2, "10.00", "10.00"),
        (3, "-2.00", "8.00"),
        (4, "1.00", "14.00"),
        (5, "1.00", "15.00"),
    ):
        line(
            account,
            dt.datetime(2026, 11, day, 9, tzinfo=PP),
            amount,
            balance_after=Decimal(after),
            external_id=f"L{day}",
        )
    period = period_balance(account=account, date_from=NOV_1, date_to=NOV_30)

    # when
    balances = [row[-1] for row in running_lines(account=account, period=period)]
    jumps, listed = balance_jumps(account=account, period=period)

    # then one jump is found and it is reported once
    assert balances == [Decimal(x) for x in ("10.00", "8.00", "9.00", "10.00")]
    assert jumps == 1
    assert listed == [
        "Line L4 (2026-11-04): the bank says the balance after it is 14.00 USD, "
        "the ledger gives 9.00 USD."
    ]


@pytest.mark.django_db
def test_period_balance_keeps_each_currency_and_cross_border_totals(account):
    # given a USD account with a ThaiQR payment
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
    line(account, dt.datetime(2026, 11, 7, 12, tzinfo=PP), "3.00", channel="KHQR")

    # when
    period = period_balance(account=account, date_from=NOV_1, date_to=NOV_30)

    # then
    assert period.original_totals == {"THB": Decimal("-1000.00")}
    assert period.fees == Decimal("0.50")
    by_channel = {c.channel: (c.count, c.net) for c in period.channels}
    assert by_channel == {
        "CROSSBORDER": (1, Decimal("-29.60")),
        "KHQR": (1, Decimal("3.00")),
    }


@pytest.mark.django_db
def test_opening_is_implied_by_the_first_bank_balance_when_none_comes_before(account):
    # given no earlier lines; the bank says 1,584.33 after the first line of +84.33
    line(
        account,
        dt.datetime(2026, 11, 2, 9, tzinfo=PP),
        "84.33",
        balance_after=Decimal("1584.33"),
    )
    line(account, dt.datetime(2026, 11, 3, 9, tzinfo=PP), "-4.33")

    # when
    period = period_balance(account=account, date_from=NOV_1, date_to=NOV_30)
    jumps, _ = balance_jumps(account=account, period=period)

    # then the account held 1,500.00 before November and nothing jumps
    assert (period.opening, period.opening_source) == (
        Decimal("1500.00"),
        OPENING_HISTORY,
    )
    assert period.closing == Decimal("1580.00")
    assert jumps == 0
