"""Read API: accounts, transactions (filters, cursor paging), statements."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from merchants.services import api_key_create
from tests.factories import AccountFactory
from tests.statements.factories import PP, StatementFactory, line


@pytest.fixture
def lines(account):
    made = [
        line(account, dt.datetime(2026, 11, d, 9, tzinfo=PP), a, external_id=f"T{d}",
             channel=c, counterparty_name=n)
        for d, a, c, n in (
            (2, "120.00", "KHQR", "Sok Dara"),
            (3, "-15.50", "BILL", "EDC"),
            (4, "7.25", "KHQR", "ហាងតេស្ត"),
        )
    ]  # fmt: skip
    line(
        account,
        dt.datetime(2026, 11, 5, 9, tzinfo=PP),
        "-29.60",
        external_id="X1",
        channel="CROSSBORDER",
        original_amount=Decimal("-1000.00"),
        original_currency="THB",
        fx_rate=Decimal("0.0291"),
        fee=Decimal("0.50"),
    )
    return made


@pytest.mark.django_db
def test_accounts_lists_the_merchants_accounts_with_string_balances(
    api_client, account, other_merchant
):
    # given
    account.current_balance = Decimal("1234.50")
    account.save()
    AccountFactory(merchant=other_merchant)

    # when
    response = api_client.get("/api/v1/accounts")

    # then
    assert response.status_code == 200
    (only,) = response.json()["results"]
    assert only["id"] == account.pk
    assert only["current_balance"] == "1234.50"
    assert response["X-RateLimit-Limit"]


@pytest.mark.django_db
def test_transactions_filters_and_sends_amounts_as_strings(api_client, lines, account):
    # when
    response = api_client.get(
        "/api/v1/transactions", {"account": account.pk, "channel": "KHQR"}
    )

    # then
    body = response.json()
    assert [r["txn_id"] for r in body["results"]] == ["T4", "T2"]
    assert body["results"][0]["amount"] == "7.25"
    assert body["results"][0]["counterparty"] == "ហាងតេស្ត"
    assert body["results"][0]["posted_at"] == "2026-11-04T09:00:00+07:00"
    assert (body["count"], body["count_capped"], body["next"]) == (2, False, None)


@pytest.mark.django_db
def test_transactions_cross_border_fields(api_client, lines):
    # when
    response = api_client.get("/api/v1/transactions", {"q": "X1"})

    # then
    (row,) = response.json()["results"]
    assert (row["amount"], row["original_amount"], row["original_currency"]) == (
        "-29.60",
        "-1000.00",
        "THB",
    )
    assert (row["fx_rate"], row["fee"]) == ("0.0291", "0.50")


@pytest.mark.django_db
def test_transactions_cursor_pages_through_everything_once(api_client, lines):
    # when
    seen, url, params = [], "/api/v1/transactions", {"limit": 1, "sort": "amount"}
    for _ in range(10):
        body = api_client.get(url, params).json()
        seen += [r["txn_id"] for r in body["results"]]
        if not body["next"]:
            break
        url, params = body["next"], None

    # then
    assert seen == ["X1", "T3", "T4", "T2"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-02-30"}, "from: Enter a valid date."),
        # the API takes ISO days only, as documented; pages read day first
        ({"to": "03/04/2026"}, "to: Enter a valid date."),
        ({"min_amount": "ten"}, "min_amount: Enter a number."),
        ({"limit": "0"}, "limit: between 1 and 500"),
        ({"sort": "name"}, "sort: use one of"),
        ({"cursor": "zzz"}, "cursor: not a cursor of this sort"),
        ({"account": "abc"}, "account: an account id"),
    ],
)
def test_transactions_names_the_bad_parameter(api_client, params, message):
    # when
    response = api_client.get("/api/v1/transactions", params)

    # then
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_input"
    assert response.json()["message"].startswith(message)


@pytest.mark.django_db
def test_another_merchants_account_is_not_found(api_client, other_merchant):
    # given
    foreign = AccountFactory(merchant=other_merchant)

    # when
    listing = api_client.get("/api/v1/transactions", {"account": foreign.pk})
    statement = api_client.get(
        "/api/v1/statements",
        {"account": foreign.pk, "from": "2026-11-01", "to": "2026-11-30"},
    )

    # then
    assert (listing.status_code, statement.status_code) == (404, 404)
    assert statement.json()["error"] == "not_found"


@pytest.mark.django_db
def test_statements_gives_opening_closing_totals_and_warnings(
    api_client, lines, account
):
    # given the bank's own November figures, which do not add up by 1.00
    StatementFactory(
        account=account,
        opening_balance=Decimal("50.00"),
        closing_balance=Decimal("133.15"),
    )

    # when
    response = api_client.get(
        "/api/v1/statements",
        {"account": account.pk, "from": "2026-11-01", "to": "2026-11-30"},
    )

    # then 50.00 + 120.00 - 15.50 + 7.25 - 29.60 = 132.15
    body = response.json()
    assert (body["opening"], body["opening_source"], body["closing"]) == (
        "50.00",
        "bank",
        "132.15",
    )
    assert body["lines"] == 4 and body["fees"] == "0.50"
    assert {c["channel"]: c["net"] for c in body["totals_by_channel"]} == {
        "BILL": "-15.50",
        "CROSSBORDER": "-29.60",
        "KHQR": "127.25",
    }
    assert body["original_totals"] == {"THB": "-1000.00"}
    assert "the difference is 1.00 USD" in body["warnings"][0]


@pytest.mark.django_db
def test_statements_requires_the_period(api_client, account):
    # when
    response = api_client.get("/api/v1/statements", {"account": account.pk})

    # then
    assert response.status_code == 400
    assert response.json()["message"] == "from: required (YYYY-MM-DD)"


@pytest.mark.django_db
def test_read_api_refuses_a_missing_key(account):
    # when
    response = APIClient().get("/api/v1/transactions")

    # then
    assert response.status_code == 401


@pytest.mark.django_db
def test_read_api_is_in_the_schema(client):
    # when
    response = client.get("/api/schema/")

    # then
    text = response.content.decode()
    for route in ("/api/v1/accounts", "/api/v1/transactions", "/api/v1/statements"):
        assert route in text


@pytest.mark.django_db
def test_a_key_of_another_merchant_sees_none_of_these_lines(lines, other_merchant):
    # given
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {api_key_create(merchant=other_merchant)[1]}"
    )

    # when
    body = client.get("/api/v1/transactions").json()

    # then
    assert body["results"] == [] and body["count"] == 0


@pytest.mark.django_db
def test_transactions_carry_the_biller_category_and_the_fx_flag(api_client, account):
    # given
    line(account, dt.datetime(2026, 11, 6, 9, tzinfo=PP), "-15.50",
         channel="BILL", biller_category="internet", external_id="B1")  # fmt: skip
    # when
    (row,) = api_client.get("/api/v1/transactions").json()["results"]
    # then
    assert (row["biller_category"], row["fx_mismatch"]) == ("internet", False)
