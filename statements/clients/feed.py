"""The Hattha-style bank statement feed over httpx.

Wire contract (DESIGN.md "Bank statement feed", the Hattha integration brief):

    POST {base}/token      {"client_id", "client_secret"}             (or
                           {"grant_type": "refresh_token", "refresh_token"})
                        -> {"access_token", "expires_in", "refresh_token"?}
    POST {base}/statement  Authorization: Bearer <access_token>
                           {"acct_id", "from_date", "to_date", "channel": [...],
                            "page", "page_size"}
                        -> {"opening_balance", "closing_balance", "page", "pages",
                            "items": [{"txn_id", "posted_at", "amount", "ccy",
                                       "channel", "counterparty", "bakong_trace",
                                       "ref", "status", and for CROSSBORDER lines
                                       "original_amount", "original_ccy", "fx_rate",
                                       "fee"; optionally "value_date",
                                       "counterparty_account", "description",
                                       "balance_after", "biller_category"}]}
    POST {base}/balance    Authorization: Bearer <access_token>
                           {"acct_id"}     (the brief's Account & balance API)
                        -> {"acct_id", "ccy", "current_balance",
                            "available_balance", "as_of"?}
                           404: this feed has no balance API (not an error)

Numbers arrive as JSON numbers or strings; both are read as Decimal from their text
(the JSON is parsed with parse_float=Decimal, so no float ever exists). A 401 on the
statement call gets a new token once and retries; 429 / 5xx / timeouts raise
TransientError (with Retry-After) for the task to retry with backoff.

No ORM, no Celery: the caller persists a refreshed token via `on_token`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from django.utils.translation import gettext_noop
from django.views.decorators.debug import sensitive_variables

from core.exceptions import PermanentError, Unauthorized
from core.http import HttpClient
from core.money import MoneyError, decimal_from_wire

CHANNELS = ("KHQR", "TRANSFER", "BILL", "TOPUP", "CROSSBORDER")
POSTED_STATUSES = {"SUCCESS", "POSTED", "COMPLETED", ""}
TOKEN_EARLY_SECONDS = 60


class FeedUnauthorized(Unauthorized):
    """The feed refused our credentials (not just an expired token)."""

    code = "feed_unauthorized"


class FeedProtocolError(PermanentError):
    """The feed answered something that is not its contract."""

    code = "feed_protocol_error"


@dataclass(frozen=True)
class FeedToken:
    access_token: str
    expires_at: dt.datetime
    refresh_token: str = ""

    def is_fresh(self, now: dt.datetime) -> bool:
        return bool(self.access_token) and self.expires_at - now > dt.timedelta(
            seconds=TOKEN_EARLY_SECONDS
        )


@dataclass(frozen=True)
class FeedItem:
    txn_id: str
    posted_at: dt.datetime
    amount: Decimal
    ccy: str
    channel: str
    counterparty: str
    bakong_trace: str
    ref: str
    status: str
    value_date: dt.date | None = None
    counterparty_account: str = ""
    description: str = ""
    balance_after: Decimal | None = None
    original_amount: Decimal | None = None
    original_ccy: str = ""
    fx_rate: Decimal | None = None
    fee: Decimal | None = None
    biller_category: str = ""

    @property
    def is_posted(self) -> bool:
        return self.status.upper() in POSTED_STATUSES


@dataclass(frozen=True)
class AccountBalance:
    """Current and available balance per the bank, true at `as_of` (the bank's own
    time where it gives one, else when it answered)."""

    current_balance: Decimal | None
    available_balance: Decimal | None
    as_of: dt.datetime
    ccy: str = ""


@dataclass(frozen=True)
class StatementPage:
    opening_balance: Decimal | None
    closing_balance: Decimal | None
    page: int
    pages: int
    items: tuple[FeedItem, ...]


def _decimal(value: Any, name: str) -> Decimal:
    try:
        return decimal_from_wire(value)
    except MoneyError:
        raise FeedProtocolError(f"feed: {name} {value!r} is not a number") from None


def _optional_decimal(value: Any, name: str) -> Decimal | None:
    return None if value in (None, "") else _decimal(value, name)


def _instant(value: Any, name: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise FeedProtocolError(f"feed: {name} {value!r} is not ISO 8601") from None
    if parsed.tzinfo is None:
        raise FeedProtocolError(f"feed: {name} {value!r} has no UTC offset")
    return parsed


def parse_item(raw: dict[str, Any]) -> FeedItem:
    """One feed item as a typed line; a malformed one is a protocol error."""
    if not isinstance(raw, dict):
        raise FeedProtocolError(gettext_noop("feed: an item is not an object"))
    txn_id = str(raw.get("txn_id") or "").strip()
    if not txn_id:
        raise FeedProtocolError(gettext_noop("feed: an item has no txn_id"))
    value_date = raw.get("value_date")
    try:
        value_date = dt.date.fromisoformat(value_date) if value_date else None
    except (TypeError, ValueError):
        raise FeedProtocolError(
            f"feed: item {txn_id} value_date {value_date!r} is not a date"
        ) from None

    def text(key: str) -> str:
        value = raw.get(key)
        return "" if value is None else str(value).strip()

    return FeedItem(
        txn_id=txn_id,
        posted_at=_instant(raw.get("posted_at"), f"item {txn_id} posted_at"),
        amount=_decimal(raw.get("amount"), f"item {txn_id} amount"),
        ccy=text("ccy").upper(),
        channel=text("channel").upper(),
        counterparty=text("counterparty"),
        bakong_trace=text("bakong_trace"),
        ref=text("ref"),
        status=text("status").upper(),
        value_date=value_date,
        counterparty_account=text("counterparty_account"),
        description=text("description"),
        balance_after=_optional_decimal(raw.get("balance_after"), "balance_after"),
        original_amount=_optional_decimal(
            raw.get("original_amount"), f"item {txn_id} original_amount"
        ),
        original_ccy=(text("original_ccy") or text("original_currency")).upper(),
        fx_rate=_optional_decimal(raw.get("fx_rate"), f"item {txn_id} fx_rate"),
        fee=_optional_decimal(raw.get("fee"), f"item {txn_id} fee"),
        biller_category=text("biller_category"),
    )


class StatementFeedClient(HttpClient):
    """One feed (one bank) for one set of credentials."""

    system = "statement_feed"

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str = "",
        client_secret: str = "",
        token: FeedToken | None = None,
        on_token: Callable[[FeedToken], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        super().__init__(base_url=base_url, transport=transport)
        self.client_id = client_id
        self.client_secret = client_secret
        self.token = token
        self.on_token = on_token
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def _json(self, response: httpx.Response) -> Any:
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise FeedProtocolError(
                f"feed: answered {response.status_code} with a body that is not JSON"
            ) from None

    @sensitive_variables()
    def token_request(self) -> FeedToken:
        """A new access token (refresh token first, else the client credentials)."""
        bodies = []
        if self.token is not None and self.token.refresh_token:
            bodies.append(
                {
                    "grant_type": "refresh_token",
                    "refresh_token": self.token.refresh_token,
                }
            )
        if self.client_id:
            bodies.append(
                {"client_id": self.client_id, "client_secret": self.client_secret}
            )
        if not bodies:
            raise FeedUnauthorized(
                "feed: no client_id/client_secret in the connection's credentials"
            )
        response = None
        for body in bodies:
            response = self.request("POST", "/token", json=body)
            if response.status_code == 200:
                break
        assert response is not None
        if response.status_code in (400, 401, 403):
            raise FeedUnauthorized(
                f"feed: the token endpoint refused the credentials "
                f"({response.status_code})"
            )
        if response.status_code != 200:
            raise FeedProtocolError(
                f"feed: token endpoint answered {response.status_code}"
            )
        data = self._json(response)
        if not isinstance(data, dict) or not data.get("access_token"):
            raise FeedProtocolError(
                gettext_noop("feed: token answer has no access_token")
            )
        try:
            seconds = int(data.get("expires_in") or 1800)
        except (TypeError, ValueError):
            raise FeedProtocolError(
                gettext_noop("feed: expires_in is not a number")
            ) from None
        token = FeedToken(
            access_token=str(data["access_token"]),
            expires_at=self.clock() + dt.timedelta(seconds=seconds),
            refresh_token=str(data.get("refresh_token") or ""),
        )
        self.token = token
        if self.on_token is not None:
            self.on_token(token)
        return token

    def _bearer(self) -> str:
        if self.token is None or not self.token.is_fresh(self.clock()):
            self.token_request()
        assert self.token is not None
        return self.token.access_token

    def statement_page(
        self,
        *,
        acct_id: str,
        from_date: dt.date,
        to_date: dt.date,
        channels: Sequence[str] = CHANNELS,
        page: int = 1,
        page_size: int = 100,
    ) -> StatementPage:
        """One page of the account's posted lines for [from_date, to_date]."""
        body = {
            "acct_id": acct_id,
            "from_date": from_date.isoformat(),
            "to_date": to_date.isoformat(),
            "channel": list(channels),
            "page": page,
            "page_size": page_size,
        }
        response = self.request(
            "POST",
            "/statement",
            json=body,
            headers={"Authorization": f"Bearer {self._bearer()}"},
        )
        if response.status_code == 401:
            # expired or revoked token: get a new one once, then retry once
            self.token = FeedToken(
                "", self.clock(), getattr(self.token, "refresh_token", "")
            )
            self.token_request()
            response = self.request(
                "POST",
                "/statement",
                json=body,
                headers={"Authorization": f"Bearer {self.token.access_token}"},
            )
            if response.status_code == 401:
                raise FeedUnauthorized("feed: a fresh token was refused too (401)")
        if response.status_code != 200:
            raise FeedProtocolError(
                f"feed: statement answered {response.status_code}: "
                f"{response.text[:200]}"
            )
        data = self._json(response)
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            raise FeedProtocolError(
                gettext_noop("feed: statement answer has no items list")
            )
        try:
            got_page = int(data.get("page") or page)
            pages = int(data.get("pages") or 0)
        except (TypeError, ValueError):
            raise FeedProtocolError(
                gettext_noop("feed: page/pages are not numbers")
            ) from None
        return StatementPage(
            opening_balance=_optional_decimal(
                data.get("opening_balance"), "opening_balance"
            ),
            closing_balance=_optional_decimal(
                data.get("closing_balance"), "closing_balance"
            ),
            page=got_page,
            pages=pages,
            items=tuple(parse_item(item) for item in data["items"]),
        )

    def account_balance(self, *, acct_id: str) -> AccountBalance | None:
        """The account's current and available balance, or None when the feed has
        no balance API (404)."""
        body = {"acct_id": acct_id}
        response = self.request(
            "POST",
            "/balance",
            json=body,
            headers={"Authorization": f"Bearer {self._bearer()}"},
        )
        if response.status_code == 401:
            # the same once-only token renewal as the statement call
            self.token = FeedToken(
                "", self.clock(), getattr(self.token, "refresh_token", "")
            )
            self.token_request()
            response = self.request(
                "POST",
                "/balance",
                json=body,
                headers={"Authorization": f"Bearer {self.token.access_token}"},
            )
            if response.status_code == 401:
                raise FeedUnauthorized("feed: a fresh token was refused too (401)")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise FeedProtocolError(
                f"feed: balance answered {response.status_code}: {response.text[:200]}"
            )
        data = self._json(response)
        if not isinstance(data, dict):
            raise FeedProtocolError(
                gettext_noop("feed: balance answer is not an object")
            )
        as_of = data.get("as_of")
        return AccountBalance(
            current_balance=_optional_decimal(
                data.get("current_balance"), "current_balance"
            ),
            available_balance=_optional_decimal(
                data.get("available_balance"), "available_balance"
            ),
            as_of=_instant(as_of, "as_of") if as_of else self.clock(),
            ccy=str(data.get("ccy") or "").strip().upper(),
        )
