"""Settlement: what a Bakong transaction does to a payment request.

A request is `paid` only when the md5, the amount and the currency agree. Anything
else that arrives (another amount or currency, a payment after expiry, a second
payment) is recorded as a BakongTransaction with its outcome and flags the request,
so it becomes a reconciliation exception instead of being accepted or lost. Every
recorded transaction is money that moved: the listeners of
`payments.hooks.bakong_transaction_recorded` (the ledger) hear of it in the same
database transaction.

Only what Bakong itself confirmed is recorded. The poller asks Bakong by the code's
md5; a provider's webhook is a claim, checked with Bakong first
(`paid_claim_check`): a Bakong hash is unique across all merchants, so an
unchecked claim could take another merchant's payment for one's own code.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import Conflict, InvalidInput, NotFound
from merchants.models import Account, Merchant
from merchants.services import audit_event_record
from payments import hooks
from payments.bakong_access import BakongAccess
from payments.clients.bakong_types import BakongTransactionInfo, CheckStatus
from payments.models import (
    BakongTransaction,
    PaymentFlag,
    PaymentRequest,
    PaymentStatus,
)
from payments.services.webhook_deliveries import webhook_deliveries_enqueue

logger = logging.getLogger("tonle.payments")

PAID_STATUSES = (
    PaymentStatus.PAID,
    PaymentStatus.PARTIALLY_REFUNDED,
    PaymentStatus.REFUNDED,
)
BAKONG_HASH = re.compile(r"[0-9a-f]{64}")
# A claim without a Bakong hash is the code's known payment when it names the
# same amount and a time this close to Bakong's (the clocks of a gateway and of
# Bakong differ a little).
SAME_PAYMENT_TOLERANCE = dt.timedelta(minutes=5)


def _instant_from_ms(value: int | None) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)


def _outcome_for(
    payment_request: PaymentRequest, info: BakongTransactionInfo, paid_at: dt.datetime
) -> str:
    if payment_request.status in PAID_STATUSES:
        return BakongTransaction.Outcome.DUPLICATE
    if payment_request.status != PaymentStatus.PENDING or (
        payment_request.expires_at is not None and paid_at > payment_request.expires_at
    ):
        return BakongTransaction.Outcome.LATE
    if info.currency.upper() != payment_request.currency:
        return BakongTransaction.Outcome.CURRENCY_MISMATCH
    if payment_request.amount is not None and info.amount != payment_request.amount:
        return BakongTransaction.Outcome.AMOUNT_MISMATCH
    return BakongTransaction.Outcome.MATCHED


_FLAG_OF = {
    BakongTransaction.Outcome.DUPLICATE: PaymentFlag.DUPLICATE,
    BakongTransaction.Outcome.LATE: PaymentFlag.LATE,
    BakongTransaction.Outcome.CURRENCY_MISMATCH: PaymentFlag.CURRENCY_MISMATCH,
    BakongTransaction.Outcome.AMOUNT_MISMATCH: PaymentFlag.AMOUNT_MISMATCH,
}


def _amount_minor_ok(info: BakongTransactionInfo) -> None:
    if not isinstance(info.amount, Decimal) or not info.amount.is_finite():
        raise InvalidInput("amount: Bakong sent an amount that is not a number")
    if info.amount != info.amount.quantize(Decimal("0.01")) or info.amount <= 0:
        raise InvalidInput(f"amount: {info.amount} cannot be a payment amount")


@transaction.atomic
def bakong_transaction_apply(
    *, payment_request_id: int, info: BakongTransactionInfo
) -> PaymentRequest:
    """Record a transaction Bakong confirmed for a request and settle the request:
    `paid` only when md5, amount and currency agree, otherwise recorded and flagged.
    Applying the same transaction again (or from two workers at once) changes
    nothing: the Bakong hash is unique and the status change is conditional."""
    payment_request = (
        PaymentRequest.objects.select_for_update()
        .select_related("merchant")
        .filter(pk=payment_request_id)
        .first()
    )
    if payment_request is None:
        raise NotFound(f"no payment request #{payment_request_id}")
    if info.md5 and info.md5.lower() != payment_request.md5:
        raise InvalidInput(
            f"md5: the transaction is for {info.md5}, not {payment_request.md5}",
            field="md5",
        )
    if not info.hash:
        raise InvalidInput("hash: the transaction has no Bakong hash", field="hash")
    _amount_minor_ok(info)
    seen = BakongTransaction.objects.filter(hash=info.hash).first()
    if seen is not None:
        if seen.merchant_id != payment_request.merchant_id:
            raise Conflict(
                f"Bakong transaction {info.hash[:8]}… is recorded for another "
                "merchant; it cannot pay this code",
                field="hash",
            )
        if seen.payment_request_id not in (None, payment_request.pk):
            raise Conflict(
                f"Bakong transaction {info.hash[:8]}… is already recorded for "
                "another payment request",
                field="hash",
            )
        logger.info(
            "payments.apply.replay",
            extra={"payment_request": payment_request.pk, "hash": info.hash},
        )
        # a line that a listener could not make before (or a deployment that
        # recorded it before there was a ledger hook) is made now
        hooks.bakong_transaction_recorded_send(bakong_transaction=seen)
        return payment_request

    now = timezone.now()
    paid_at = _instant_from_ms(info.created_date_ms) or now
    outcome = _outcome_for(payment_request, info, paid_at)
    try:
        with transaction.atomic():
            recorded = BakongTransaction.objects.create(
                merchant=payment_request.merchant,
                payment_request=payment_request,
                hash=info.hash,
                short_hash=info.short_hash,
                md5=payment_request.md5,
                from_account_id=info.from_account_id[:100],
                to_account_id=info.to_account_id[:100],
                amount=info.amount,
                currency=info.currency.upper()[:3],
                description=info.description,
                external_ref=info.external_ref[:100],
                created_at_bakong=_instant_from_ms(info.created_date_ms),
                acknowledged_at=_instant_from_ms(info.acknowledged_date_ms),
                outcome=outcome,
                raw=info.raw or {},
            )
    except IntegrityError:
        # a second worker recorded the same hash a moment ago
        payment_request.refresh_from_db()
        return payment_request

    received = {
        "paid_amount": info.amount,
        "paid_currency": info.currency.upper()[:3],
        "payer_account": info.from_account_id[:100],
    }
    if outcome == BakongTransaction.Outcome.MATCHED:
        changed = PaymentRequest.objects.filter(
            pk=payment_request.pk, status=PaymentStatus.PENDING
        ).update(
            status=PaymentStatus.PAID,
            paid_at=paid_at,
            bakong_hash=info.hash,
            next_check_at=None,
            **received,
        )
        if not changed:  # pragma: no cover - the row lock makes this unreachable
            raise Conflict("the payment request changed while being paid")
        payment_request.refresh_from_db()
        webhook_deliveries_enqueue(
            payment_request=payment_request, event="transaction.paid"
        )
        action = "payment_request.paid"
    else:
        updates: dict[str, Any] = {"flag": _FLAG_OF[outcome]}
        if payment_request.status not in PAID_STATUSES:
            # the first money seen for this code: keep what arrived, stop polling
            if payment_request.paid_amount is None:
                updates.update(received, bakong_hash=info.hash)
            updates["next_check_at"] = None
            if outcome == BakongTransaction.Outcome.LATE:
                updates["paid_at"] = paid_at
                if payment_request.status == PaymentStatus.PENDING:
                    updates["status"] = PaymentStatus.EXPIRED
        PaymentRequest.objects.filter(pk=payment_request.pk).update(**updates)
        payment_request.refresh_from_db()
        action = "payment_request.flagged"
        logger.warning(
            "payments.apply.flagged",
            extra={"payment_request": payment_request.pk, "outcome": outcome},
        )
    audit_event_record(
        merchant=payment_request.merchant,
        action=action,
        obj=payment_request,
        actor_label="bakong",
        details={
            "hash": info.hash,
            "outcome": outcome,
            "amount": str(info.amount),
            "currency": info.currency.upper(),
            "expected_amount": None
            if payment_request.amount is None
            else str(payment_request.amount),
            "expected_currency": payment_request.currency,
        },
    )
    hooks.bakong_transaction_recorded_send(bakong_transaction=recorded)
    return payment_request


@dataclass(frozen=True)
class ClaimCheck:
    """What Bakong says about a provider's claim that a code was paid: the
    transactions it confirms for the code (the code's payment first), and why the
    claimed transaction itself is not among them, if it is not."""

    confirmed: tuple[BakongTransactionInfo, ...]
    refusal: str = ""


def receiving_account_ids(*, merchant_id: int) -> set[str]:
    """The Bakong account ids that receive this merchant's money."""
    ids = set(
        Account.objects.filter(merchant_id=merchant_id)
        .exclude(bakong_account_id="")
        .values_list("bakong_account_id", flat=True)
    )
    own = Merchant.objects.filter(pk=merchant_id).values_list(
        "bakong_account_id", flat=True
    )
    ids.update(i for i in own if i)
    return ids


def paid_claim_check(
    *,
    payment_request: PaymentRequest,
    claimed_id: str,
    claimed_amount: Decimal,
    claimed_at_ms: int | None,
    access: BakongAccess,
) -> ClaimCheck:
    """Ask Bakong about a claim (a network call: make it outside any database
    transaction). Confirmed: the code's payment Bakong reports by md5, and the
    claimed Bakong hash when it is another transaction into one of the merchant's
    own accounts (a second payment). A claim Bakong does not confirm records
    nothing of its own."""
    md5 = payment_request.md5
    by_md5 = access.check_transaction_by_md5(md5=md5)
    claimed = claimed_id.strip().lower()
    first: BakongTransactionInfo | None = None
    if by_md5.status is CheckStatus.FOUND and by_md5.transaction is not None:
        first = replace(by_md5.transaction, md5=md5)
    elif by_md5.status is CheckStatus.FAILED:
        return ClaimCheck((), "Bakong reports this code's transaction as failed")
    elif by_md5.status is CheckStatus.NOT_FOUND:
        return ClaimCheck(
            (),
            f"Bakong reports no payment of this code (md5 {md5}); the claim is "
            "not applied, the poller settles the code once Bakong does",
        )
    if first is not None and claimed == first.hash.lower():
        return ClaimCheck((first,))
    if not BAKONG_HASH.fullmatch(claimed):
        # a provider's own transaction id: the code's payment, if it is the same
        if first is None:
            return ClaimCheck(
                (),
                "Bakong cannot check a static code by md5; send the Bakong hash "
                "(64 hexadecimal characters) as transaction_id",
            )
        if _same_payment(first, amount=claimed_amount, at_ms=claimed_at_ms):
            return ClaimCheck((first,))
        return ClaimCheck(
            (first,),
            f"the claimed payment ({claimed_amount}, id {claimed_id[:40]}) is not "
            f"the one Bakong reports for this code ({first.amount} {first.currency}, "
            f"hash {first.hash[:8]}…) and carries no Bakong hash to check: not "
            "recorded",
        )
    other = access.check_transaction_by_hash(hash=claimed)
    refused = ClaimCheck(
        (first,) if first else (),
        f"Bakong does not confirm transaction {claimed[:8]}… as a payment to this "
        "merchant: not recorded",
    )
    if other.status is not CheckStatus.FOUND or other.transaction is None:
        return refused
    info = other.transaction
    if info.to_account_id not in receiving_account_ids(
        merchant_id=payment_request.merchant_id
    ):
        return refused
    return ClaimCheck(((first,) if first else ()) + (replace(info, md5=md5),))


def _same_payment(
    info: BakongTransactionInfo, *, amount: Decimal, at_ms: int | None
) -> bool:
    if info.amount != amount:
        return False
    if at_ms is None or info.created_date_ms is None:
        return True
    gap = abs(at_ms - info.created_date_ms) / 1000
    return gap <= SAME_PAYMENT_TOLERANCE.total_seconds()
