"""StatementFeedClient against httpx.MockTransport: token flow, paging answer,
exact amounts, and every failure mapped to our errors."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import httpx
import pytest

from core.exceptions import TransientError
from core.http import RateLimited
from statements.clients.feed import (
    FeedProtocolError,
    FeedToken,
    FeedUnauthorized,
    StatementFeedClient,
)

NOW = dt.datetime(2026, 4, 30, 3, 0, tzinfo=dt.UTC)
PAGE = {
    "opening_balance": 1820.55,
    "closing_balance": "2143.10",
    "page": 1,
    "pages": 3,
    "items": [
        {
            "txn_id": "T2604A",
            "posted_at": "2026-04-03T09:21:04+07:00",
            "amount": -12.50,
            "ccy": "USD",
            "channel": "KHQR",
            "counterparty": "Merchant ABC",
            "bakong_trace": "FT26X",
            "ref": "INV-7781",
            "status": "SUCCESS",
        },
        {
            "txn_id": "T2604B",
            "posted_at": "2026-04-04T10:00:00+07:00",
            "amount": "-57.30",
            "ccy": "USD",
            "channel": "CROSSBORDER",
            "ref": "TQR-1",
            "status": "SUCCESS",
            "original_amount": 2000.00,
            "original_ccy": "THB",
            "fx_rate": 0.0289,
            "fee": "0.50",
        },
    ],
}


class Feed:
    """A scripted feed: answers in order, records what was asked."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def token_answer(access: str = "tok-1", expires_in: int = 1800) -> httpx.Response:
    return httpx.Response(200, json={"access_token": access, "expires_in": expires_in})


def client(feed: Feed, **kwargs) -> StatementFeedClient:
    kwargs.setdefault("client_id", "cid")
    kwargs.setdefault("client_secret", "secret")
    return StatementFeedClient(
        base_url="https://feed.example/api/v1/hattha",
        transport=httpx.MockTransport(feed),
        clock=lambda: NOW,
        **kwargs,
    )


def page(**kwargs):
    return dict(
        acct_id="0010123",
        from_date=dt.date(2026, 4, 1),
        to_date=dt.date(2026, 4, 30),
        **kwargs,
    )


def test_first_call_gets_a_token_then_sends_it_as_bearer():
    # given a feed that issues a token then answers one page
    feed = Feed(token_answer("tok-1"), httpx.Response(200, json=PAGE))
    seen = []
    # when
    result = client(feed, on_token=seen.append).statement_page(**page(page=2))
    # then
    token_request, statement_request = feed.requests
    assert token_request.url.path == "/api/v1/hattha/token"
    assert json.loads(token_request.content) == {
        "client_id": "cid",
        "client_secret": "secret",
    }
    assert statement_request.url.path == "/api/v1/hattha/statement"
    assert statement_request.headers["Authorization"] == "Bearer tok-1"
    body = json.loads(statement_request.content)
    assert body == {
        "acct_id": "0010123",
        "from_date": "2026-04-01",
        "to_date": "2026-04-30",
        "channel": ["KHQR", "TRANSFER", "BILL", "TOPUP", "CROSSBORDER"],
        "page": 2,
        "page_size": 100,
    }
    assert seen[0].access_token == "tok-1"
    assert seen[0].expires_at == NOW + dt.timedelta(seconds=1800)
    assert result.pages == 3


def test_numbers_in_the_json_are_read_exactly_as_decimal():
    # given amounts as JSON numbers and strings
    feed = Feed(httpx.Response(200, json=PAGE))
    token = FeedToken("tok", NOW + dt.timedelta(hours=1))
    # when
    result = client(feed, token=token).statement_page(**page())
    # then
    assert result.opening_balance == Decimal("1820.55")
    assert result.closing_balance == Decimal("2143.10")
    khqr, thaiqr = result.items
    assert khqr.amount == Decimal("-12.50") and isinstance(khqr.amount, Decimal)
    assert khqr.posted_at == dt.datetime(2026, 4, 3, 2, 21, 4, tzinfo=dt.UTC)
    assert (khqr.bakong_trace, khqr.ref, khqr.is_posted) == ("FT26X", "INV-7781", True)
    assert thaiqr.original_amount == Decimal("2000.00")
    assert thaiqr.fx_rate == Decimal("0.0289") and thaiqr.fee == Decimal("0.50")
    assert thaiqr.original_ccy == "THB"


def test_a_token_about_to_expire_is_renewed_before_the_call():
    # given a stored token that expires in 30 s
    feed = Feed(token_answer("tok-new"), httpx.Response(200, json=PAGE))
    token = FeedToken("tok-old", NOW + dt.timedelta(seconds=30))
    # when
    client(feed, token=token).statement_page(**page())
    # then
    assert feed.requests[1].headers["Authorization"] == "Bearer tok-new"


def test_401_gets_a_new_token_once_and_retries():
    # given a token the feed has expired on its side
    feed = Feed(
        httpx.Response(401, json={"error": "expired"}),
        token_answer("tok-2"),
        httpx.Response(200, json=PAGE),
    )
    token = FeedToken("tok-1", NOW + dt.timedelta(hours=1), refresh_token="r-1")
    seen = []
    # when
    result = client(feed, token=token, on_token=seen.append).statement_page(**page())
    # then
    assert len(result.items) == 2
    assert json.loads(feed.requests[1].content) == {
        "grant_type": "refresh_token",
        "refresh_token": "r-1",
    }
    assert feed.requests[2].headers["Authorization"] == "Bearer tok-2"
    assert [t.access_token for t in seen] == ["tok-2"]


def test_a_fresh_token_refused_again_is_unauthorized():
    # given a feed that refuses every token
    feed = Feed(httpx.Response(401), token_answer("tok-2"), httpx.Response(401))
    token = FeedToken("tok-1", NOW + dt.timedelta(hours=1))
    # when / then
    with pytest.raises(FeedUnauthorized, match="fresh token was refused"):
        client(feed, token=token).statement_page(**page())


def test_wrong_client_credentials_are_unauthorized():
    # given a token endpoint that refuses the secret
    feed = Feed(httpx.Response(401, json={"error": "invalid client"}))
    # when / then
    with pytest.raises(FeedUnauthorized, match="refused the credentials"):
        client(feed).statement_page(**page())


def test_429_is_rate_limited_with_its_retry_after():
    # given a feed that is rate limiting us
    feed = Feed(httpx.Response(429, headers={"Retry-After": "12"}))
    token = FeedToken("tok", NOW + dt.timedelta(hours=1))
    # when / then
    with pytest.raises(RateLimited) as info:
        client(feed, token=token).statement_page(**page())
    assert info.value.retry_after == 12.0


@pytest.mark.parametrize(
    "answer",
    [httpx.Response(503), httpx.ReadTimeout("slow"), httpx.ConnectError("refused")],
)
def test_5xx_timeouts_and_connection_errors_are_transient(answer):
    # given a feed that is down in some way
    feed = Feed(answer)
    token = FeedToken("tok", NOW + dt.timedelta(hours=1))
    # when / then
    with pytest.raises(TransientError):
        client(feed, token=token).statement_page(**page())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"items": "nope"}, "no items list"),
        (
            {"items": [{"posted_at": "2026-04-03T09:00:00+07:00", "amount": 1}]},
            "txn_id",
        ),
        (
            {"items": [{"txn_id": "A", "posted_at": "2026-04-03 09:00", "amount": 1}]},
            "no UTC offset",
        ),
        (
            {
                "items": [
                    {
                        "txn_id": "A",
                        "posted_at": "2026-04-03T09:00+07:00",
                        "amount": "1,00",
                    }
                ]
            },
            "not a number",
        ),
    ],
)
def test_answers_outside_the_contract_are_protocol_errors(body, message):
    # given a malformed answer
    feed = Feed(httpx.Response(200, json=body))
    token = FeedToken("tok", NOW + dt.timedelta(hours=1))
    # when / then
    with pytest.raises(FeedProtocolError, match=message):
        client(feed, token=token).statement_page(**page())


def test_non_json_answer_is_a_protocol_error():
    # given an HTML error page with 200
    feed = Feed(httpx.Response(200, text="<html>maintenance</html>"))
    token = FeedToken("tok", NOW + dt.timedelta(hours=1))
    # when / then
    with pytest.raises(FeedProtocolError, match="not JSON"):
        client(feed, token=token).statement_page(**page())
