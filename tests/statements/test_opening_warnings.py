"""The statement warns when its opening cannot be trusted: the account's lines start
after the chosen date (no data before it), or the opening jumps from the previous
period's closing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from statements.services.balances import period_balance
from tests.statements.factories import PP, StatementFactory, line

pytestmark = pytest.mark.django_db

NOV_1, NOV_30 = dt.date(2026, 11, 1), dt.date(2026, 11, 30)


def test_lines_that_start_after_the_period_does_say_there_is_no_data_before(account):
    # given an account whose first line is on 3 November, with a bank balance
    line(
        account,
        dt.datetime(2026, 11, 3, 9, tzinfo=PP),
        "84.33",
        balance_after=Decimal("1584.33"),
    )
    # when November is asked for
    period = period_balance(account=account, date_from=NOV_1, date_to=NOV_30)
    # then the opening is implied, and the statement says why
    assert period.opening == Decimal("1500.00")
    assert (
        "No data before 2026-11-03: this account's lines start on 2026-11-03, so "
        "nothing is known before 2026-11-01 and the opening balance is implied by the "
        "bank's first balance. Import earlier statements for a true opening."
    ) in period.warnings


def test_without_any_bank_balance_the_opening_is_said_to_be_taken_as_zero(account):
    line(account, dt.datetime(2026, 11, 5, 9, tzinfo=PP), "10.00")
    period = period_balance(account=account, date_from=NOV_1, date_to=NOV_30)
    assert period.opening == 0
    assert any("the opening balance is taken as zero" in w for w in period.warnings)


def test_an_account_without_lines_says_its_opening_is_not_known(account):
    period = period_balance(account=account, date_from=NOV_1, date_to=NOV_30)
    assert period.warnings == [
        "This account has no lines yet: its opening balance on 2026-11-01 is not known."
    ]


def test_an_opening_that_jumps_from_the_previous_closing_is_named(account):
    # given October closes at 1,000.00 by the bank, and November's first bank
    # balance implies it opened at 1,500.00
    line(
        account,
        dt.datetime(2026, 10, 30, 9, tzinfo=PP),
        "100.00",
        balance_after=Decimal("1000.00"),
    )
    line(
        account,
        dt.datetime(2026, 11, 2, 9, tzinfo=PP),
        "10.00",
        balance_after=Decimal("1510.00"),
    )
    # when
    period = period_balance(account=account, date_from=NOV_1, date_to=NOV_30)
    # then
    assert period.opening == Decimal("1000.00")
    assert (
        "The opening balance jumps on 2026-11-01: the previous period closes at "
        "1,000.00 USD, but the bank's balances in this period start from 1,500.00 USD "
        "(a difference of 500.00 USD): lines before 2026-11-01 may be missing."
    ) in period.warnings


def test_a_continuous_history_gives_no_opening_warning(account):
    line(
        account,
        dt.datetime(2026, 10, 30, 9, tzinfo=PP),
        "100.00",
        balance_after=Decimal("1000.00"),
    )
    line(
        account,
        dt.datetime(2026, 11, 2, 9, tzinfo=PP),
        "10.00",
        balance_after=Decimal("1010.00"),
    )
    period = period_balance(account=account, date_from=NOV_1, date_to=NOV_30)
    assert period.warnings == []


def test_a_banks_own_opening_needs_no_history_before_it(account):
    StatementFactory(
        account=account,
        opening_balance=Decimal("50.00"),
        closing_balance=Decimal("60.00"),
    )
    line(account, dt.datetime(2026, 11, 2, 9, tzinfo=PP), "10.00")
    period = period_balance(account=account, date_from=NOV_1, date_to=NOV_30)
    assert period.opening == Decimal("50.00")
    assert not any("No data before" in w for w in period.warnings)


def test_the_statements_page_shows_the_jump_and_the_missing_history(
    viewer_client, account, khr_account
):
    # given one account whose opening jumps and one whose lines start late
    line(
        account,
        dt.datetime(2026, 10, 30, 9, tzinfo=PP),
        "100.00",
        balance_after=Decimal("1000.00"),
    )
    line(
        account,
        dt.datetime(2026, 11, 2, 9, tzinfo=PP),
        "10.00",
        balance_after=Decimal("1510.00"),
    )
    line(khr_account, dt.datetime(2026, 11, 20, 9, tzinfo=PP), "4000")
    # when both are previewed
    response = viewer_client.get(
        reverse("statements:statements"),
        {"date_from": "2026-11-01", "date_to": "2026-11-30"},
    )
    # then each preview warns
    body = response.content.decode()
    assert "The opening balance jumps on 2026-11-01" in body
    assert "No data before 2026-11-20" in body
