"""A bank's `transaction.posted` push event -> one ledger line, at most once.

Payload (flat): acct_id, direction (CREDIT | DEBIT, any case), amount (unsigned,
number or string), ccy, balance_after, channel, ref, occurred_at (ISO 8601 with
offset); optionally, as on feed lines, biller_category (BILL / TOPUP lines) and the
cross-border fields original_amount, original_ccy (or original_currency), fx_rate
and fee. A rate is best sent as a string: its printed places set the tolerance of
the FX check (statements.imports.fx), and a difference beyond it is flagged on the
line, never refused. A bakong_hash (or bakong_trace) links the line to the Bakong
transaction it carries. The webhook receiver (payments) verifies the signature and
stores the raw event; this only applies the payload.

De-duplication is on (account, ref, occurred_at) (a unique constraint on
PushEvent). Matching against the statement feed, either order:
- push first: the line is posted at once (source push); when the feed later brings
  its own line with the same ref and amount within PUSH_MATCH_WINDOW of the push
  time, feed_sync records the feed's txn_id on the PushEvent (confirmed) and does not
  insert a second line;
- feed first: a push matching a feed line already in the ledger is recorded as
  confirmed by that line, and no new line is made.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.exceptions import InvalidInput
from core.money import CURRENCIES, MoneyError, decimal_from_wire, parse_amount
from core.periods import zone_for_currency
from merchants.models import Account, Connection
from statements.imports.fx import fx_check, rate_from_text
from statements.imports.parse import AMOUNT_MAX_DIGITS, instant_problem
from statements.models import Channel, PushEvent, Source, Transaction
from statements.services.bakong_lines import bakong_lines_link

logger = logging.getLogger("tonle.statements")

PUSH_MATCH_WINDOW = dt.timedelta(hours=36)
REQUIRED = ("acct_id", "direction", "amount", "ccy", "ref", "occurred_at")


def _amount(value: Any, field: str, currency: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise InvalidInput(f"{field}: is missing or not a number", field=field)
    text = str(value).strip()
    whole = text.lstrip("+-").partition(".")[0].lstrip("0")
    # checked first: past 28 digits Decimal's rounding itself raises
    if len(whole) > AMOUNT_MAX_DIGITS:
        raise InvalidInput(f"{field}: {text[:40]} is out of range", field=field)
    try:
        return parse_amount(text, currency)
    except MoneyError as exc:
        raise InvalidInput(f"{field}: {exc}", field=field) from None


def _validated(
    connection: Connection, payload: dict[str, Any]
) -> tuple[Account, dict[str, Any]]:
    if not isinstance(payload, dict):
        raise InvalidInput("payload: must be a JSON object", field="payload")
    account = connection.account
    if account is None:
        raise InvalidInput("connection: has no account to post to", field="connection")
    for name in REQUIRED:
        if payload.get(name) in (None, ""):
            raise InvalidInput(f"{name}: is required", field=name)
    acct_id = str(payload["acct_id"]).strip()
    if acct_id != account.number:
        raise InvalidInput(
            f"acct_id: {acct_id!r} is not the account of this connection",
            field="acct_id",
        )
    direction = str(payload["direction"]).strip().upper()
    if direction not in ("CREDIT", "DEBIT"):
        raise InvalidInput(
            f"direction: {payload['direction']!r} is neither CREDIT nor DEBIT",
            field="direction",
        )
    ccy = str(payload["ccy"]).strip().upper()
    if ccy != account.currency:
        raise InvalidInput(
            f"ccy: {ccy} does not match the account's currency {account.currency}",
            field="ccy",
        )
    amount = _amount(payload["amount"], "amount", ccy)
    if amount <= 0:
        raise InvalidInput(
            "amount: must be a positive number (the direction gives the sign)",
            field="amount",
        )
    balance_after = None
    if payload.get("balance_after") not in (None, ""):
        balance_after = _amount(payload["balance_after"], "balance_after", ccy)
    try:
        occurred_at = dt.datetime.fromisoformat(str(payload["occurred_at"]).strip())
    except ValueError:
        raise InvalidInput(
            f"occurred_at: {payload['occurred_at']!r} is not an ISO 8601 time",
            field="occurred_at",
        ) from None
    if occurred_at.tzinfo is None:
        raise InvalidInput(
            "occurred_at: needs a UTC offset, e.g. +07:00", field="occurred_at"
        )
    zone = zone_for_currency(account.currency)
    problem = instant_problem(
        occurred_at, zone=zone, today=timezone.localdate(timezone=zone)
    )
    if problem is not None:
        raise InvalidInput(f"occurred_at: {problem}", field="occurred_at")
    ref = str(payload["ref"]).strip()
    if len(ref) > 200:
        raise InvalidInput("ref: longer than 200 characters", field="ref")
    channel = str(payload.get("channel") or "").strip().upper()
    bakong_hash = payload.get("bakong_hash") or payload.get("bakong_trace") or ""
    if not isinstance(bakong_hash, str):
        raise InvalidInput("bakong_hash: must be text", field="bakong_hash")
    if len(bakong_hash.strip()) > 64:
        raise InvalidInput(
            "bakong_hash: longer than 64 characters", field="bakong_hash"
        )
    biller_category = str(payload.get("biller_category") or "").strip()
    if len(biller_category) > 64:
        raise InvalidInput(
            "biller_category: longer than 64 characters", field="biller_category"
        )
    signed = amount if direction == "CREDIT" else -amount
    return account, {
        "amount": signed,
        "currency": ccy,
        "balance_after": balance_after,
        "occurred_at": occurred_at,
        "ref": ref,
        "channel": channel if channel in Channel.values else Channel.OTHER,
        "bakong_hash": bakong_hash.strip(),
        "biller_category": biller_category,
        **_cross_border(payload, amount=signed, currency=ccy),
    }


def _cross_border(
    payload: dict[str, Any], *, amount: Decimal, currency: str
) -> dict[str, Any]:
    """The optional FX fields, read exactly; all of original_amount, its currency
    and fx_rate, or none of them. A difference from original × rate beyond the
    bank's rounding sets fx_mismatch; it never refuses the push."""
    original_raw = payload.get("original_amount")
    rate_raw = payload.get("fx_rate")
    original_ccy = (
        str(payload.get("original_ccy") or payload.get("original_currency") or "")
        .strip()
        .upper()
    )
    fee = None
    if payload.get("fee") not in (None, ""):
        fee = _amount(payload["fee"], "fee", currency)
    given = [original_raw not in (None, ""), rate_raw not in (None, ""), original_ccy]
    if not any(given):
        return {"fee": fee}
    for name, present in zip(
        ("original_amount", "fx_rate", "original_ccy"), given, strict=True
    ):
        if not present:
            raise InvalidInput(
                f"{name}: is required with the other cross-border fields", field=name
            )
    if original_ccy not in CURRENCIES:
        raise InvalidInput(
            f"original_ccy: {original_ccy!r} is not KHR, USD or THB",
            field="original_ccy",
        )
    original = _amount(original_raw, "original_amount", original_ccy)
    try:
        rate = rate_from_text(
            rate_raw if isinstance(rate_raw, str) else decimal_from_wire(rate_raw)
        )
    except (ValueError, MoneyError) as exc:
        raise InvalidInput(f"fx_rate: {exc}", field="fx_rate") from None
    return {
        "fee": fee,
        "original_amount": original,
        "original_currency": original_ccy,
        "fx_rate": rate,
        "fx_mismatch": fx_check(original, rate, amount, fee, currency) is not None,
    }


def transaction_posted_receive(
    *, connection: Connection, payload: dict[str, Any]
) -> str:
    """A provider's `transaction.posted` webhook (payments hands it over): what it
    did, in one line."""
    line, created = transaction_posted_apply(connection=connection, payload=payload)
    if line is None:
        return "already covered by the ledger; nothing to do"
    return f"ledger line {line.external_id} {'created' if created else 'already there'}"


def push_external_id(*, ref: str, occurred_at: dt.datetime) -> str:
    key = f"{ref}|{occurred_at.astimezone(dt.UTC).isoformat()}"
    return f"PUSH-{hashlib.sha256(key.encode()).hexdigest()[:32]}"


def transaction_posted_apply(
    *, connection: Connection, payload: dict[str, Any]
) -> tuple[Transaction | None, bool]:
    """Apply a `transaction.posted` payload once: (the ledger line, created?).
    A replay, or a push that a feed line already covers, creates nothing."""
    account, data = _validated(connection, payload)
    try:
        return _apply(connection, account, data)
    except IntegrityError:
        # the same event applied concurrently: the other one won
        existing = (
            PushEvent.objects.select_related("transaction")
            .filter(account=account, ref=data["ref"], occurred_at=data["occurred_at"])
            .first()
        )
        if existing is None:
            raise
        return existing.transaction, False


@transaction.atomic
def _apply(
    connection: Connection, account: Account, data: dict[str, Any]
) -> tuple[Transaction, bool]:
    existing = (
        PushEvent.objects.select_related("transaction")
        .filter(account=account, ref=data["ref"], occurred_at=data["occurred_at"])
        .first()
    )
    if existing is not None:
        logger.info("statements.push.replay", extra={"push": existing.pk})
        return existing.transaction, False
    occurred_at = data["occurred_at"]
    feed_line = (
        Transaction.objects.filter(
            account=account,
            source=Source.FEED,
            reference=data["ref"],
            amount=data["amount"],
            posted_at__gte=occurred_at - PUSH_MATCH_WINDOW,
            posted_at__lte=occurred_at + PUSH_MATCH_WINDOW,
            push_event__isnull=True,
        )
        .order_by("posted_at", "pk")
        .first()
    )
    zone = zone_for_currency(account.currency)
    if feed_line is not None:
        PushEvent.objects.create(
            merchant=account.merchant,
            account=account,
            connection=connection,
            transaction=feed_line,
            confirmed_txn_id=feed_line.external_id,
            confirmed_at=timezone.now(),
            **_event_fields(data),
        )
        _balance_from_push(account, data)
        return feed_line, False
    line = Transaction.objects.create(
        merchant=account.merchant,
        account=account,
        external_id=push_external_id(ref=data["ref"], occurred_at=occurred_at),
        posted_at=occurred_at,
        value_date=occurred_at.astimezone(zone).date(),
        amount=data["amount"],
        currency=data["currency"],
        channel=data["channel"],
        reference=data["ref"],
        balance_after=data["balance_after"],
        biller_category=data["biller_category"],
        original_amount=data.get("original_amount"),
        original_currency=data.get("original_currency", ""),
        fx_rate=data.get("fx_rate"),
        fee=data["fee"],
        fx_mismatch=data.get("fx_mismatch", False),
        bakong_hash=data["bakong_hash"],
        source=Source.PUSH,
    )
    bakong_lines_link(account=account, hashes=[line.bakong_hash])
    PushEvent.objects.create(
        merchant=account.merchant,
        account=account,
        connection=connection,
        transaction=line,
        **_event_fields(data),
    )
    _balance_from_push(account, data)
    logger.info("statements.push.posted", extra={"transaction": line.pk})
    return line, True


def _event_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "ref": data["ref"],
        "occurred_at": data["occurred_at"],
        "amount": data["amount"],
        "currency": data["currency"],
        "channel": data["channel"],
        "balance_after": data["balance_after"],
    }


def _balance_from_push(account: Account, data: dict[str, Any]) -> None:
    """The push's balance_after is the account's balance as of the push, unless a
    newer balance is already known."""
    if data["balance_after"] is None:
        return
    occurred_at = data["occurred_at"]
    Account.objects.filter(pk=account.pk).filter(
        Q(balance_as_of__isnull=True) | Q(balance_as_of__lte=occurred_at)
    ).update(current_balance=data["balance_after"], balance_as_of=occurred_at)
