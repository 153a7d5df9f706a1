"""Slip verification: a customer shows a payment slip (a Bakong transaction, by its
full hash, or its first 8 characters with the amount and currency); is it real,
did it pay one of this merchant's codes, and was it shown before for another order?

A transaction already recorded for this merchant is answered from the record;
anything else is asked of Bakong (through BakongAccess: token, Retry-After pause,
breaker). A transaction another merchant recorded answers exactly as one nobody
recorded: Bakong's own facts, never the other merchant's code. Every presentation
is kept (SlipCheck), so a slip presented for a second, different order is flagged
`reused` with the earlier order named.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_noop

from core.exceptions import InvalidInput, TonleError, TransientError
from core.money import MoneyError, parse_amount
from merchants.models import Account, ApiKey, Merchant
from merchants.services import audit_event_record
from payments.bakong_access import BakongAccess
from payments.clients.bakong_types import (
    BakongTransactionInfo,
    CheckResult,
    CheckStatus,
)
from payments.models import BakongTransaction, PaymentRequest, SlipCheck
from payments.services.payment_requests import ORDER_ID_MAX
from payments.services.settlement import bakong_transaction_apply

logger = logging.getLogger("tonle.payments")

HASH_LENGTH = 64
SHORT_HASH_LENGTH = 8
SLIP_CURRENCIES = ("KHR", "USD")  # what Bakong's short-hash check takes
_HEX = re.compile(r"[0-9a-f]+")


class BakongUnavailable(TransientError):
    """Bakong could not be asked just now (outage, Retry-After pause, breaker)."""

    code = "bakong_unavailable"


@dataclass(frozen=True)
class SlipTransaction:
    """The Bakong transaction on the slip: Bakong's own facts."""

    hash: str
    amount: Decimal
    currency: str
    from_account_id: str
    to_account_id: str
    description: str
    paid_at: dt.datetime | None
    external_ref: str

    @property
    def short_hash(self) -> str:
        return self.hash[:SHORT_HASH_LENGTH]


@dataclass(frozen=True)
class SlipAnswer:
    """What a slip check found. `payment_request` is the merchant's code the slip
    paid (None when unknown here); `to_merchant` says whether the money went to
    one of the merchant's Bakong accounts."""

    check: SlipCheck
    result: str  # SlipCheck.Result
    source: str  # recorded | bakong
    transaction: SlipTransaction | None
    payment_request: PaymentRequest | None
    to_merchant: bool
    reused: bool
    reused_for: str
    previous_checks: int

    @property
    def hash(self) -> str:
        return self.check.hash


def _instant_from_ms(value: int | None) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)


def _clean_hash(value: str, *, field: str, length: int) -> str:
    text = (value or "").strip().lower()
    if len(text) != length or not _HEX.fullmatch(text):
        raise InvalidInput(
            f"{field}: a {'short ' if length < HASH_LENGTH else ''}Bakong hash is "
            f"{length} hexadecimal characters (got {len(text)})",
            field=field,
        )
    return text


def _clean_order_id(value: str) -> str:
    text = (value or "").strip()
    if len(text) > ORDER_ID_MAX:
        raise InvalidInput(
            f"order_id: at most {ORDER_ID_MAX} characters (got {len(text)})",
            field="order_id",
        )
    if any(ord(ch) < 32 for ch in text):
        raise InvalidInput(
            gettext_noop("order_id: control characters are not allowed"),
            field="order_id",
        )
    return text


def _clean_amount(amount: Any, currency: str) -> Decimal:
    if amount is None or amount == "":
        raise InvalidInput(
            gettext_noop("amount: a short hash needs the slip's amount and currency"),
            field="amount",
        )
    try:
        value = parse_amount(amount, currency)
    except MoneyError as exc:
        raise InvalidInput(f"amount: {exc}", field="amount") from None
    if value <= 0:
        raise InvalidInput(
            gettext_noop("amount: must be more than zero"), field="amount"
        )
    return value


def _from_record(row: BakongTransaction) -> SlipTransaction:
    return SlipTransaction(
        hash=row.hash,
        amount=row.amount,
        currency=row.currency,
        from_account_id=row.from_account_id,
        to_account_id=row.to_account_id,
        description=row.description,
        paid_at=row.created_at_bakong or row.acknowledged_at,
        external_ref=row.external_ref,
    )


def _from_bakong(info: BakongTransactionInfo) -> SlipTransaction:
    return SlipTransaction(
        hash=info.hash.lower(),
        amount=info.amount,
        currency=info.currency,
        from_account_id=info.from_account_id,
        to_account_id=info.to_account_id,
        description=info.description,
        paid_at=_instant_from_ms(info.created_date_ms)
        or _instant_from_ms(info.acknowledged_date_ms),
        external_ref=info.external_ref,
    )


def _recorded(
    *, merchant: Merchant, tx_hash: str, short_hash: str, amount, currency: str
) -> BakongTransaction | None:
    """This merchant's own record of the transaction, if there is exactly one."""
    rows = BakongTransaction.objects.for_merchant(merchant).select_related(
        "payment_request"
    )
    if tx_hash:
        return rows.filter(hash=tx_hash).first()
    found = list(
        rows.filter(short_hash=short_hash, amount=amount, currency=currency)[:2]
    )
    return found[0] if len(found) == 1 else None


def _ask_bakong(
    *,
    tx_hash: str,
    short_hash: str,
    amount: Decimal | None,
    currency: str,
    access: BakongAccess | None,
) -> CheckResult:
    own = access is None
    access = access or BakongAccess.from_settings()
    try:
        if tx_hash:
            return access.check_transaction_by_hash(hash=tx_hash)
        return access.check_transaction_by_short_hash(
            hash=short_hash, amount=amount, currency=currency
        )
    except TransientError as exc:
        raise BakongUnavailable(
            f"Bakong could not be reached to check the slip ({exc.message}); "
            "try again in a moment",
            retry_after=exc.retry_after,
        ) from exc
    finally:
        if own:
            access.close()


def _linked_request(
    *, merchant: Merchant, info: BakongTransactionInfo
) -> PaymentRequest | None:
    """The merchant's code this transaction paid, from what is known here: the
    recorded transaction, the code's Bakong hash, or Bakong's md5 of the code (the
    transaction is then recorded against the code, as the poller would)."""
    tx_hash = info.hash.lower()
    recorded = _recorded(
        merchant=merchant, tx_hash=tx_hash, short_hash="", amount=None, currency=""
    )
    if recorded is not None:
        return recorded.payment_request
    requests = PaymentRequest.objects.for_merchant(merchant)
    paid = requests.filter(bakong_hash=tx_hash).first()
    if paid is not None:
        return paid
    md5 = (info.md5 or "").strip().lower()
    code = requests.filter(md5=md5).first() if md5 else None
    if code is None:
        return None
    if BakongTransaction.objects.filter(hash=info.hash).exists():
        # recorded elsewhere: nothing here to say about it
        return None
    try:
        return bakong_transaction_apply(payment_request_id=code.pk, info=info)
    except TonleError as exc:
        # the slip still paid this code; the poller will record it in its turn
        logger.warning(
            "payments.slip.apply_failed",
            extra={"payment_request": code.pk, "error": exc.message},
        )
        return code


def _merchant_accounts(merchant: Merchant) -> set[str]:
    ids = set(
        Account.objects.for_merchant(merchant)
        .exclude(bakong_account_id="")
        .values_list("bakong_account_id", flat=True)
    )
    if merchant.bakong_account_id:
        ids.add(merchant.bakong_account_id)
    return {i.lower() for i in ids}


def slip_check(
    *,
    merchant: Merchant,
    hash: str = "",  # noqa: A002 - the API's name for it
    short_hash: str = "",
    amount: Decimal | str | int | None = None,
    currency: str = "",
    order_id: str = "",
    is_test: bool | None = None,
    actor: Any = None,
    api_key: ApiKey | None = None,
    access: BakongAccess | None = None,
) -> SlipAnswer:
    """Look a slip up (the full hash, or the short hash with amount and currency),
    record the presentation, and say whether it paid one of the merchant's codes
    and whether it was already presented for another order. Nothing is written
    when the input is refused or Bakong cannot be asked."""
    if bool(hash) == bool(short_hash):
        raise InvalidInput(
            gettext_noop(
                "hash: give the transaction's full hash (64 characters), or its short "
                "hash (the first 8) with the amount and currency"
            ),
            field="hash",
        )
    currency = (currency or "").strip().upper()
    value = None
    if hash:
        tx_hash = _clean_hash(hash, field="hash", length=HASH_LENGTH)
        short = tx_hash[:SHORT_HASH_LENGTH]
    else:
        tx_hash = ""
        short = _clean_hash(short_hash, field="short_hash", length=SHORT_HASH_LENGTH)
        if currency not in SLIP_CURRENCIES:
            raise InvalidInput(
                gettext_noop(
                    "currency: a short hash needs the slip's currency, KHR or USD"
                ),
                field="currency",
            )
        value = _clean_amount(amount, currency)
    order_id = _clean_order_id(order_id)

    record = _recorded(
        merchant=merchant,
        tx_hash=tx_hash,
        short_hash=short,
        amount=value,
        currency=currency,
    )
    payment_request = None
    if record is not None:
        source = "recorded"
        result = SlipCheck.Result.PAID
        slip = _from_record(record)
        payment_request = record.payment_request
    else:
        source = "bakong"
        # Bakong is asked outside any transaction: no lock is held on the network.
        answer = _ask_bakong(
            tx_hash=tx_hash,
            short_hash=short,
            amount=value,
            currency=currency,
            access=access,
        )
        slip = None
        if answer.status is CheckStatus.FOUND and answer.transaction is not None:
            result = SlipCheck.Result.PAID
            slip = _from_bakong(answer.transaction)
            payment_request = _linked_request(
                merchant=merchant, info=answer.transaction
            )
        elif answer.status is CheckStatus.FAILED:
            result = SlipCheck.Result.FAILED
        else:
            result = SlipCheck.Result.NOT_FOUND
    if payment_request is not None and is_test not in (None, payment_request.is_test):
        payment_request = None  # a test key sees test codes only, and so on
    full_hash = slip.hash if slip is not None else tx_hash
    to_merchant = slip is not None and (
        slip.to_account_id.lower() in _merchant_accounts(merchant)
    )
    return _slip_check_record(
        merchant=merchant,
        full_hash=full_hash,
        short_hash=short,
        amount=slip.amount if slip is not None else value,
        currency=slip.currency[:3] if slip is not None else currency,
        order_id=order_id,
        result=result,
        source=source,
        slip=slip,
        payment_request=payment_request,
        to_merchant=to_merchant,
        actor=actor,
        api_key=api_key,
    )


@transaction.atomic
def _slip_check_record(
    *,
    merchant: Merchant,
    full_hash: str,
    short_hash: str,
    amount: Decimal | None,
    currency: str,
    order_id: str,
    result: str,
    source: str,
    slip: SlipTransaction | None,
    payment_request: PaymentRequest | None,
    to_merchant: bool,
    actor: Any,
    api_key: ApiKey | None,
) -> SlipAnswer:
    # One presentation at a time per merchant: two clerks presenting the same slip
    # for two orders at once must not both see it as new.
    Merchant.objects.select_for_update().filter(pk=merchant.pk).first()
    earlier = (
        SlipCheck.objects.for_merchant(merchant)
        .filter(hash=full_hash)
        .order_by("checked_at", "pk")
        if full_hash
        else SlipCheck.objects.none()
    )
    previous_checks = earlier.count()
    # The orders this slip already stands for: the one its code was for, then the
    # ones it was presented for, first first.
    orders = []
    if payment_request is not None and payment_request.order_id:
        orders.append(payment_request.order_id)
    orders += earlier.exclude(order_id="").values_list("order_id", flat=True)
    reused_for = next((o for o in orders if o != order_id), "") if order_id else ""
    check = SlipCheck.objects.create(
        merchant=merchant,
        hash=full_hash,
        short_hash=short_hash,
        amount=amount,
        currency=currency,
        order_id=order_id,
        result=result,
        source=source,
        payment_request=payment_request,
        reused=bool(reused_for),
        reused_for=reused_for,
        user=actor if getattr(actor, "is_authenticated", False) else None,
        api_key=api_key,
    )
    audit_event_record(
        merchant=merchant,
        action="slip.checked",
        obj=check,
        actor=actor,
        actor_label="" if actor else (f"api_key:{api_key.prefix}" if api_key else ""),
        details={
            "hash": full_hash or short_hash,
            "order_id": order_id,
            "result": result,
            "payment_request": payment_request.pk if payment_request else None,
            "reused_for": reused_for,
        },
    )
    if reused_for:
        logger.warning(
            "payments.slip.reused",
            extra={"merchant": merchant.pk, "hash": full_hash, "order": order_id},
        )
    return SlipAnswer(
        check=check,
        result=result,
        source=source,
        transaction=slip,
        payment_request=payment_request,
        to_merchant=to_merchant,
        reused=bool(reused_for),
        reused_for=reused_for,
        previous_checks=previous_checks,
    )
