"""A bank statement feed stand-in at /sandbox/feed/ that speaks the Hattha-style
contract of statements.clients.feed (token endpoint + paged `POST /statement`).

Lines are generated, deterministic per (acct_id, day): KHQR sales, transfers, bill
payments, top-ups and cross-border ThaiQR debits in THB with an FX rate and a fee.
Balances follow from the lines from SANDBOX_EPOCH on, so opening + Σ lines = closing.

Switches (kept in the shared Django cache, so tests and the demo can flip them while
a server runs) make it misbehave like real feeds do: items drifting between pages,
429 with Retry-After, 5xx, a `pages` that lies, expired tokens, balances that do not
add up. See `switches_set()`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import random
import secrets
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.periods import zone_for_currency

SANDBOX_EPOCH = dt.date(2025, 1, 1)
SWITCHES_KEY = "sandbox.feed.switches"
TOKENS_KEY = "sandbox.feed.tokens"
CALLS_KEY = "sandbox.feed.calls"
SWITCH_TTL = 3600
DEFAULT_EXPIRES_IN = 1800
THB_RATES = {"USD": Decimal("0.0289"), "KHR": Decimal("118.5")}
OPENING = {
    "USD": Decimal("1500.00"),
    "KHR": Decimal("6000000"),
    "THB": Decimal("50000.00"),
}
_COUNTERPARTIES = [
    "Sok Dara",
    "Chan Sophea",
    "Lim Heng",
    "Keo Vanna",
    "ហាងកាហ្វេ ស្រីមុំ",
    "Bopha Mart",
    "EDC (Electricité du Cambodge)",
    "Smart Axiata",
    "7-Eleven Bangkok",
]

_BILLERS = ("utilities", "internet", "insurance")

DEFAULT_SWITCHES: dict[str, Any] = {
    "drift": 0,  # shift items by N between the pages of one read
    "drift_requests": 0,  # how many statement calls drift (then the feed is stable)
    "rate_limit": 0,  # the next N statement calls answer 429
    "retry_after": 7,
    "server_error": 0,  # the next N statement calls answer 503
    "pages_lie": "",  # "less": always says pages=1; "more": says 3 more than real
    "expire_tokens": False,  # every token issued so far is refused once (401)
    "balance_offset": "0",  # added to closing_balance (a feed that does not add up)
    "expires_in": DEFAULT_EXPIRES_IN,
    "currency": {},  # acct_id -> currency (default: a Tonle account's, else USD)
    "extra_items": {},  # acct_id -> list of raw items to serve as well
}


# --- switches (tests and the demo flip these) ------------------------------------


def switches_get() -> dict[str, Any]:
    return {**DEFAULT_SWITCHES, **(cache.get(SWITCHES_KEY) or {})}


def switches_set(**changes: Any) -> dict[str, Any]:
    unknown = set(changes) - set(DEFAULT_SWITCHES)
    if unknown:
        raise KeyError(f"unknown sandbox feed switch(es): {sorted(unknown)}")
    current = {**(cache.get(SWITCHES_KEY) or {}), **changes}
    cache.set(SWITCHES_KEY, current, SWITCH_TTL)
    return switches_get()


def switches_reset() -> None:
    cache.delete_many([SWITCHES_KEY, TOKENS_KEY, CALLS_KEY])


def _decrement(name: str) -> bool:
    """Consume one unit of a countdown switch; True when it fired."""
    current = cache.get(SWITCHES_KEY) or {}
    left = int(current.get(name) or 0)
    if left <= 0:
        return False
    current[name] = left - 1
    cache.set(SWITCHES_KEY, current, SWITCH_TTL)
    return True


def calls() -> list[dict[str, Any]]:
    """The statement calls received (for tests): acct_id, page, status."""
    return list(cache.get(CALLS_KEY) or [])


def _record_call(entry: dict[str, Any]) -> int:
    log = list(cache.get(CALLS_KEY) or [])
    log.append(entry)
    cache.set(CALLS_KEY, log[-500:], SWITCH_TTL)
    return len(log)


# --- deterministic lines ----------------------------------------------------------


def currency_of(acct_id: str) -> str:
    configured = switches_get()["currency"].get(acct_id)
    if configured:
        return configured
    from merchants.models import Account

    found = (
        Account.objects.filter(number=acct_id)
        .values_list("currency", flat=True)
        .first()
    )
    return found or "USD"


def _money(value: Decimal, currency: str) -> str:
    places = 0 if currency == "KHR" else 2
    return f"{value:.{places}f}"


@lru_cache(maxsize=20_000)
def day_items(acct_id: str, day: dt.date, currency: str) -> tuple[dict, ...]:
    """The lines the bank posted on `day` (local), in time order."""
    rng = random.Random(f"sandbox-feed|{acct_id}|{day.isoformat()}")  # noqa: S311
    zone = zone_for_currency(currency)
    khr = currency == "KHR"
    items = []
    for n in range(rng.randint(0, 5)):
        posted = dt.datetime.combine(
            day, dt.time(7 + n * 3, rng.randint(0, 59), rng.randint(0, 59)), tzinfo=zone
        )
        roll = rng.random()
        digest = hashlib.sha256(f"{acct_id}|{day}|{n}".encode()).hexdigest()
        txn_id = f"SBX{digest[:16].upper()}"
        item: dict[str, Any] = {
            "txn_id": txn_id,
            "posted_at": posted.isoformat(),
            "value_date": day.isoformat(),
            "ccy": currency,
            "counterparty": rng.choice(_COUNTERPARTIES),
            "bakong_trace": "",
            "ref": "",
            "status": "SUCCESS",
        }
        if roll < 0.5:
            amount = (
                Decimal(rng.randint(200, 10000) * 100)
                if khr
                else Decimal(rng.randint(500, 25000)) / 100
            )
            item.update(
                channel="KHQR",
                ref=f"INV-{day:%m%d}-{n}",
                bakong_trace=hashlib.sha256(txn_id.encode()).hexdigest(),
            )
        elif roll < 0.65:
            amount = -(
                Decimal(rng.randint(200, 6000) * 100)
                if khr
                else Decimal(rng.randint(500, 15000)) / 100
            )
            item.update(channel="TRANSFER", ref=f"SUP-{day:%y%m%d}{n}")
        elif roll < 0.75:
            amount = -(
                Decimal(rng.randint(400, 3600) * 100)
                if khr
                else Decimal(rng.randint(1000, 9000)) / 100
            )
            item.update(
                channel="BILL",
                ref=f"BILL-{day:%y%m}",
                # the bill-payment analytics' categories (the Hattha brief)
                biller_category=_BILLERS[(day.toordinal() + n) % len(_BILLERS)],
            )
        elif roll < 0.85:
            amount = -(
                Decimal(rng.randint(1, 20) * 1000)
                if khr
                else Decimal(rng.randint(100, 2000)) / 100
            )
            item.update(
                channel="TOPUP",
                ref=f"TOP-{rng.randint(10**7, 10**8 - 1)}",
                biller_category="mobile",
            )
        elif currency != "THB":
            original = Decimal(rng.randint(10, 300)) * 10
            rate = THB_RATES[currency]
            places = Decimal(1) if khr else Decimal("0.01")
            converted = (original * rate).quantize(places, ROUND_HALF_UP)
            fee = Decimal(500) if khr else Decimal("0.50")
            amount = -(converted - fee)
            item.update(
                channel="CROSSBORDER",
                counterparty="7-Eleven Bangkok",
                ref=f"TQR-{txn_id[-8:]}",
                original_amount=f"{original:.2f}",
                original_ccy="THB",
                fx_rate=str(rate),
                fee=_money(fee, currency),
            )
        else:
            amount = Decimal(rng.randint(1000, 90000)) / 100
            item.update(channel="TRANSFER", ref=f"PP-{day:%m%d}{n}")
        item["amount"] = _money(amount, currency)
        items.append(item)
    return tuple(items)


def balance_before(acct_id: str, day: dt.date, currency: str) -> Decimal:
    """Opening balance of `day`: the epoch's opening plus every line before it."""
    total = OPENING[currency]
    current = SANDBOX_EPOCH
    end = min(day, timezone.localdate() + dt.timedelta(days=1))
    while current < end:
        for item in day_items(acct_id, current, currency):
            total += Decimal(item["amount"])
        current += dt.timedelta(days=1)
    return total


def statement_items(
    acct_id: str, date_from: dt.date, date_to: dt.date, currency: str
) -> list[dict]:
    today = timezone.localdate()
    items: list[dict] = []
    day = max(date_from, SANDBOX_EPOCH)
    while day <= min(date_to, today):
        items.extend(day_items(acct_id, day, currency))
        day += dt.timedelta(days=1)
    return items


# --- views ------------------------------------------------------------------------


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _error(status: int, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


@csrf_exempt
@require_POST
def token(request: HttpRequest) -> HttpResponse:
    data = _body(request)
    tokens = dict(cache.get(TOKENS_KEY) or {})
    if data.get("grant_type") == "refresh_token":
        if not str(data.get("refresh_token") or "").startswith("sbx-refresh-"):
            return _error(401, "invalid refresh token")
    elif not data.get("client_id") or not data.get("client_secret"):
        return _error(400, "client_id and client_secret are required")
    elif data.get("client_secret") == "wrong":
        return _error(401, "invalid client credentials")
    access = f"sbx-{secrets.token_hex(12)}"
    tokens[access] = True
    cache.set(TOKENS_KEY, tokens, SWITCH_TTL)
    return JsonResponse(
        {
            "access_token": access,
            "expires_in": int(switches_get()["expires_in"]),
            "refresh_token": f"sbx-refresh-{secrets.token_hex(8)}",
            "token_type": "Bearer",
        }
    )


def _authorized(request: HttpRequest) -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return False
    access = header.removeprefix("Bearer ").strip()
    tokens = dict(cache.get(TOKENS_KEY) or {})
    switches = switches_get()
    if switches["expire_tokens"]:
        # every token issued so far has expired; new ones are good again
        cache.set(TOKENS_KEY, {}, SWITCH_TTL)
        switches_set(expire_tokens=False)
        return False
    return bool(tokens.get(access))


@csrf_exempt
@require_POST
def statement(request: HttpRequest) -> HttpResponse:
    data = _body(request)
    acct_id = str(data.get("acct_id") or "")
    page = data.get("page") or 1
    page_size = data.get("page_size") or 50
    if not _authorized(request):
        _record_call({"acct_id": acct_id, "page": page, "status": 401})
        return _error(401, "token expired or invalid")
    if _decrement("rate_limit"):
        _record_call({"acct_id": acct_id, "page": page, "status": 429})
        return _error(
            429,
            "too many requests",
            **{"Retry-After": str(switches_get()["retry_after"])},
        )
    if _decrement("server_error"):
        _record_call({"acct_id": acct_id, "page": page, "status": 503})
        return _error(503, "statement service unavailable")
    try:
        date_from = dt.date.fromisoformat(str(data.get("from_date")))
        date_to = dt.date.fromisoformat(str(data.get("to_date")))
        page = int(page)
        page_size = max(1, min(int(page_size), 500))
    except (TypeError, ValueError):
        return _error(
            400, "from_date/to_date must be YYYY-MM-DD; page, page_size numbers"
        )
    if not acct_id or date_to < date_from or page < 1:
        return _error(400, "acct_id, a from_date <= to_date and page >= 1 are required")
    currency = currency_of(acct_id)
    channels = {str(c).upper() for c in (data.get("channel") or [])}
    switches = switches_get()
    items = statement_items(acct_id, date_from, date_to, currency)
    extra = [
        i
        for i in switches["extra_items"].get(acct_id, [])
        if date_from.isoformat() <= i["posted_at"][:10] <= date_to.isoformat()
    ]
    items = sorted(items + extra, key=lambda i: (i["posted_at"], i["txn_id"]))
    opening = balance_before(acct_id, date_from, currency)
    closing = opening + sum((Decimal(i["amount"]) for i in items), Decimal(0))
    if channels:
        items = [i for i in items if i["channel"] in channels]
    served = items
    n = _record_call({"acct_id": acct_id, "page": page, "status": 200})
    if switches["drift"] and _decrement("drift_requests"):
        k = int(switches["drift"])
        # odd calls: k lines posted "before" the read started appear (items slide
        # to later pages: a naive reader doubles them); even calls: k lines vanish
        # from the front (items slide to earlier pages: a naive reader loses them)
        served = items[:k] + items if n % 2 else items[k:]
    pages = max(1, math.ceil(len(served) / page_size))
    if switches["pages_lie"] == "less":
        shown_pages = 1
    elif switches["pages_lie"] == "more":
        shown_pages = pages + 3
    else:
        shown_pages = pages
    chunk = served[(page - 1) * page_size : page * page_size]
    offset = Decimal(str(switches["balance_offset"]))
    return JsonResponse(
        {
            "acct_id": acct_id,
            "opening_balance": _money(opening, currency),
            "closing_balance": _money(closing + offset, currency),
            "page": page,
            "pages": shown_pages,
            "page_size": page_size,
            "items": list(chunk),
        }
    )


HOLD_RATE = Decimal("0.05")  # the share of the balance the sandbox bank holds back


@csrf_exempt
@require_POST
def balance(request: HttpRequest) -> HttpResponse:
    """The Hattha brief's Account & balance API: current and available balance of
    one account, now. Available is current less a hold on today's card-like lines
    (here: a fixed share), so the two visibly differ in the demo."""
    data = _body(request)
    acct_id = str(data.get("acct_id") or "")
    if not _authorized(request):
        return _error(401, "token expired or invalid")
    if not acct_id:
        return _error(400, "acct_id is required")
    currency = currency_of(acct_id)
    zone = zone_for_currency(currency)
    now = timezone.now().astimezone(zone).replace(microsecond=0)
    current = balance_before(acct_id, now.date() + dt.timedelta(days=1), currency)
    current += sum(
        (
            Decimal(i["amount"])
            for i in switches_get()["extra_items"].get(acct_id, [])
            if i["posted_at"][:10] <= now.date().isoformat()
        ),
        Decimal(0),
    )
    places = Decimal(1) if currency == "KHR" else Decimal("0.01")
    hold = (abs(current) * HOLD_RATE).quantize(places, ROUND_HALF_UP)
    return JsonResponse(
        {
            "acct_id": acct_id,
            "ccy": currency,
            "current_balance": _money(current, currency),
            "available_balance": _money(current - hold, currency),
            "as_of": now.isoformat(),
        }
    )


# --- push events (the bank's side of `transaction.posted`) ------------------------


def push_payload(acct_id: str, item: dict[str, Any], balance_after: str | None = None):
    """The bank's push for one of its feed items (the Hattha brief's shape)."""
    amount = Decimal(item["amount"])
    return {
        "event": "transaction.posted",
        "acct_id": acct_id,
        "direction": "CREDIT" if amount > 0 else "DEBIT",
        "amount": _money(abs(amount), item["ccy"]),
        "ccy": item["ccy"],
        "balance_after": balance_after,
        "channel": item["channel"],
        "ref": item["ref"],
        "occurred_at": item["posted_at"],
    }


def push_send(*, webhook_url: str, secret: str, payload: dict[str, Any]) -> int:
    """POST a signed push to Tonle's inbound webhook (/webhooks/in/<connection>/),
    as the bank would; returns the HTTP status."""
    import httpx

    from core.signing import signature_header

    body = json.dumps(payload, separators=(",", ":")).encode()
    response = httpx.post(
        webhook_url,
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Tonle-Signature": signature_header(secret=secret, body=body),
            "X-Tonle-Event": "transaction.posted",
        },
        timeout=10,
    )
    return response.status_code


@csrf_exempt
@require_POST
def push(request: HttpRequest) -> HttpResponse:
    """Demo helper: the bank posts a new KHQR sale on a connected account and
    pushes it to Tonle's signed inbound webhook. Body {"connection_id": N}."""
    from merchants.models import Connection

    data = _body(request)
    connection = (
        Connection.objects.select_related("account")
        .filter(pk=data.get("connection_id"), provider="statement_feed")
        .first()
    )
    if connection is None or connection.account is None:
        return _error(404, "no statement feed connection with that connection_id")
    secret = (connection.credentials or {}).get("webhook_secret")
    if not secret:
        return _error(400, "the connection has no webhook_secret credential")
    account = connection.account
    # a new KHQR sale "now", which the feed will also list from now on (for an hour),
    # so a later sync confirms the pushed line instead of adding a second one
    zone = zone_for_currency(account.currency)
    now = timezone.now().astimezone(zone).replace(microsecond=0)
    token = secrets.token_hex(4).upper()
    khr = account.currency == "KHR"
    amount = Decimal(secrets.randbelow(900) + 100) * (100 if khr else Decimal("0.01"))
    item = {
        "txn_id": f"SBXP{token}",
        "posted_at": now.isoformat(),
        "value_date": now.date().isoformat(),
        "amount": _money(amount, account.currency),
        "ccy": account.currency,
        "channel": "KHQR",
        "counterparty": "Walk-in customer",
        "bakong_trace": hashlib.sha256(token.encode()).hexdigest(),
        "ref": f"PUSH-DEMO-{token}",
        "status": "SUCCESS",
    }
    extra = dict(switches_get()["extra_items"])
    extra[account.number] = [*extra.get(account.number, []), item]
    switches_set(extra_items=extra)
    closing = balance_before(
        account.number, now.date() + dt.timedelta(days=1), account.currency
    ) + sum(Decimal(i["amount"]) for i in extra[account.number])
    payload = push_payload(account.number, item, _money(closing, account.currency))
    status = push_send(
        webhook_url=request.build_absolute_uri(f"/webhooks/in/{connection.pk}/"),
        secret=secret,
        payload=payload,
    )
    return JsonResponse({"pushed": payload, "webhook_status": status})
