"""StatementFeedClient.account_balance (the Hattha brief's Account & balance API):
current and available, exact, with the bank's as-of time; a feed without the API
answers None, not an error."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import httpx
import pytest

from core.http import RateLimited
from statements.clients.feed import FeedProtocolError
from tests.statements.test_clients_feed import NOW, Feed, client, token_answer


def test_the_balance_call_reads_current_and_available_exactly():
    # given a feed answering the brief's balance shape (numbers and strings)
    feed = Feed(
        token_answer(),
        httpx.Response(
            200,
            content=b'{"acct_id": "0010123", "ccy": "USD", "current_balance": '
            b'2393.10, "available_balance": "2100.05", '
            b'"as_of": "2026-05-12T14:02:11+07:00"}',
        ),
    )
    # when
    balance = client(feed).account_balance(acct_id="0010123")
    # then
    assert balance.current_balance == Decimal("2393.10")
    assert balance.available_balance == Decimal("2100.05")
    assert balance.as_of == dt.datetime(2026, 5, 12, 7, 2, 11, tzinfo=dt.UTC)
    assert balance.ccy == "USD"
    sent = feed.requests[1]
    assert sent.url.path.endswith("/balance")
    assert json.loads(sent.content) == {"acct_id": "0010123"}
    assert sent.headers["Authorization"] == "Bearer tok-1"


def test_a_balance_without_an_as_of_time_is_as_of_the_answer():
    feed = Feed(
        token_answer(),
        httpx.Response(200, json={"current_balance": "5", "available_balance": "4"}),
    )
    assert client(feed).account_balance(acct_id="1").as_of == NOW


def test_a_feed_without_a_balance_api_answers_none():
    feed = Feed(token_answer(), httpx.Response(404, json={"error": "not found"}))
    assert client(feed).account_balance(acct_id="1") is None


def test_an_expired_token_on_the_balance_call_is_renewed_once():
    feed = Feed(
        token_answer("old"),
        httpx.Response(401),
        token_answer("new"),
        httpx.Response(200, json={"current_balance": "5", "available_balance": "4"}),
    )
    balance = client(feed).account_balance(acct_id="1")
    assert balance.available_balance == Decimal("4")
    assert feed.requests[3].headers["Authorization"] == "Bearer new"


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        (
            httpx.Response(200, json={"current_balance": "x"}),
            FeedProtocolError,
            "current_balance 'x' is not a number",
        ),
        (
            httpx.Response(200, json={"as_of": "2026-05-12T14:02:11"}),
            FeedProtocolError,
            "has no UTC offset",
        ),
        (httpx.Response(200, json=[1]), FeedProtocolError, "not an object"),
        (httpx.Response(418), FeedProtocolError, "balance answered 418"),
        (
            httpx.Response(429, headers={"Retry-After": "3"}),
            RateLimited,
            "429",
        ),
    ],
)
def test_balance_answers_outside_the_contract_are_errors(answer, error, message):
    with pytest.raises(error, match=message):
        client(Feed(token_answer(), answer)).account_balance(acct_id="1")
