"""Refunds: money sent back to the payer for a paid request, recorded with the bank
reference of the transfer. Several partial refunds may follow each other; together
they never exceed what was paid."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_noop

from core.exceptions import Conflict, InvalidInput, NotFound
from core.money import MoneyError, parse_amount
from merchants.models import Merchant
from merchants.services import audit_event_record
from payments.models import PaymentRequest, PaymentStatus, Refund
from payments.services.webhook_deliveries import webhook_deliveries_enqueue

REFUNDABLE = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED)


@transaction.atomic
def refund_create(
    *,
    merchant: Merchant,
    payment_request_id: int,
    amount: Decimal | str | None = None,
    bank_reference: str,
    reason: str = "",
    actor: Any = None,
) -> Refund:
    """Record a refund (the whole remaining amount when `amount` is None); the
    request becomes partially_refunded or refunded and the shop is told."""
    payment_request = (
        PaymentRequest.objects.for_merchant(merchant)
        .select_for_update()
        .filter(pk=payment_request_id)
        .first()
    )
    if payment_request is None:
        raise NotFound(gettext_noop("no such payment request"))
    if payment_request.status not in REFUNDABLE:
        raise Conflict(
            "only a paid request can be refunded (this one is "
            f"{payment_request.get_status_display().lower()})",
            field="amount",
        )
    currency = payment_request.paid_currency or payment_request.currency
    paid = payment_request.paid_amount or Decimal(0)
    remaining = paid - payment_request.refunded_amount
    if amount is None or str(amount).strip() == "":
        value = remaining
    else:
        try:
            value = parse_amount(amount, currency)
        except MoneyError as exc:
            raise InvalidInput(f"amount: {exc}", field="amount") from None
    if value <= 0:
        raise InvalidInput(
            gettext_noop("amount: must be more than zero"), field="amount"
        )
    if value > remaining:
        raise InvalidInput(
            f"amount: {value} {currency} is more than the {remaining} {currency} "
            "not yet refunded",
            field="amount",
        )
    bank_reference = (bank_reference or "").strip()
    if not bank_reference:
        raise InvalidInput(
            gettext_noop("bank_reference: required"), field="bank_reference"
        )
    if len(bank_reference) > 100:
        raise InvalidInput(
            gettext_noop("bank_reference: at most 100 characters"),
            field="bank_reference",
        )
    try:
        with transaction.atomic():
            refund = Refund.objects.create(
                merchant=merchant,
                payment_request=payment_request,
                amount=value,
                currency=currency,
                bank_reference=bank_reference,
                reason=(reason or "").strip()[:200],
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
    except IntegrityError:
        raise Conflict(
            f"bank_reference: {bank_reference} is already recorded for a refund",
            field="bank_reference",
        ) from None
    refunded = payment_request.refunded_amount + value
    status = (
        PaymentStatus.REFUNDED if refunded == paid else PaymentStatus.PARTIALLY_REFUNDED
    )
    PaymentRequest.objects.filter(pk=payment_request.pk).update(
        refunded_amount=refunded, status=status
    )
    payment_request.refresh_from_db()
    refund.payment_request = payment_request
    webhook_deliveries_enqueue(
        payment_request=payment_request, event="transaction.refunded", refund=refund
    )
    audit_event_record(
        merchant=merchant,
        action="refund.created",
        obj=refund,
        actor=actor,
        details={
            "payment_request": payment_request.pk,
            "amount": str(value),
            "currency": currency,
            "bank_reference": bank_reference,
            "refunded_total": str(refunded),
        },
    )
    return refund
