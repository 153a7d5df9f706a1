"""Settling a flagged payment by hand, with a note: money arrived that settlement
did not accept as the code's payment (another amount or currency, after expiry, a
second payment), and a person decides what it is.

- accept: the money received is the payment (the code turns paid and the shop is
  told), or, for a code already paid, the extra money is kept as the customer's
  credit;
- refund: the money went back to the payer (recorded with the bank's reference);
- reconciliation: nothing changes but the note; the exception is worked there.

The flag itself stays (it is what happened); the resolution is kept beside it. The
rules of settlement (payments.services.settlement) are not changed by any of this.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from core.exceptions import Conflict, InvalidInput, NotFound
from merchants.models import Merchant
from merchants.services import audit_event_record
from payments.models import (
    BakongTransaction,
    FlagResolution,
    PaymentRequest,
    PaymentStatus,
    Refund,
)
from payments.services.settlement import PAID_STATUSES
from payments.services.webhook_deliveries import webhook_deliveries_enqueue

NOTE_MAX_CHARS = 500
ACCEPT, REFUND, RECONCILIATION = "accept", "refund", "reconciliation"
RESOLUTIONS = {
    ACCEPT: FlagResolution.ACCEPTED,
    REFUND: FlagResolution.REFUNDED,
    RECONCILIATION: FlagResolution.RECONCILIATION,
}


def settle_choices(payment_request: PaymentRequest) -> list[tuple[str, str]]:
    """The resolutions offered for this request's flag, in words."""
    if payment_request.status in PAID_STATUSES:
        accept = gettext("Keep the extra money as the customer's credit")
        refund = gettext("Refund the extra money (you sent it back from your bank)")
    else:
        accept = gettext("Accept the amount received as the payment")
        refund = gettext("Refund the amount received (you sent it back from your bank)")
    return [
        (ACCEPT, accept),
        (REFUND, refund),
        (RECONCILIATION, gettext("Leave it for reconciliation")),
    ]


def _unaccepted(payment_request: PaymentRequest) -> tuple[Decimal, str]:
    """The money Bakong reported for this code that settlement did not accept as
    its payment (a second payment, another amount or currency, a late one)."""
    rows = list(
        BakongTransaction.objects.filter(payment_request=payment_request)
        .exclude(outcome=BakongTransaction.Outcome.MATCHED)
        .order_by()
        .values("currency")
        .annotate(total=Sum("amount"))
    )
    if not rows:
        raise Conflict(
            gettext_noop(
                "Bakong reported no money for this code that was not accepted"
            ),
            field="resolution",
        )
    if len(rows) > 1:
        raise Conflict(
            gettext_noop(
                "the money not accepted came in several currencies: record each refund "
                "with the refund form"
            ),
            field="resolution",
        )
    return rows[0]["total"], rows[0]["currency"]


@transaction.atomic
def flagged_payment_settle(
    *,
    merchant: Merchant,
    payment_request_id: int,
    resolution: str,
    note: str,
    bank_reference: str = "",
    actor: Any = None,
) -> PaymentRequest:
    """Settle a flagged request once, with a note (required): accept, refund or
    leave for reconciliation. Audited; a second settlement is refused."""
    payment_request = (
        PaymentRequest.objects.for_merchant(merchant)
        .select_for_update()
        .filter(pk=payment_request_id)
        .first()
    )
    if payment_request is None:
        raise NotFound(gettext_noop("no such payment request"))
    if resolution not in RESOLUTIONS:
        raise InvalidInput(
            gettext_noop(
                "resolution: choose accept, refund or leave for reconciliation"
            ),
            field="resolution",
        )
    note = (note or "").strip()
    if not note:
        raise InvalidInput(gettext_noop("note: say what you did and why"), field="note")
    if len(note) > NOTE_MAX_CHARS:
        raise InvalidInput(f"note: at most {NOTE_MAX_CHARS} characters", field="note")
    if not payment_request.flag:
        raise Conflict(gettext_noop("this payment is not flagged: nothing to settle"))
    if payment_request.flag_resolution:
        raise Conflict(
            "this flag is already settled "
            f"({payment_request.get_flag_resolution_display().lower()})"
        )

    person = actor if getattr(actor, "is_authenticated", False) else None
    updates: dict[str, Any] = {
        "flag_resolution": RESOLUTIONS[resolution],
        "flag_note": note,
        "flag_resolved_at": timezone.now(),
        "flag_resolved_by": person,
    }
    details: dict[str, Any] = {"flag": payment_request.flag, "resolution": resolution}
    newly_paid = False
    refund = None
    if resolution == ACCEPT and payment_request.status not in PAID_STATUSES:
        if payment_request.paid_amount is None:
            raise Conflict(
                gettext_noop("no money was received for this code"), field="resolution"
            )
        updates.update(
            status=PaymentStatus.PAID,
            paid_at=payment_request.paid_at or _first_paid_at(payment_request),
            next_check_at=None,
        )
        details.update(
            amount=str(payment_request.paid_amount),
            currency=payment_request.paid_currency or payment_request.currency,
        )
        newly_paid = True
    elif resolution == REFUND:
        refund = _refund_record(
            payment_request=payment_request,
            merchant=merchant,
            bank_reference=bank_reference,
            note=note,
            person=person,
        )
        details.update(
            amount=str(refund.amount),
            currency=refund.currency,
            bank_reference=refund.bank_reference,
        )
        if payment_request.status not in PAID_STATUSES:
            # the only money this code saw went back: it is refunded in full
            updates.update(
                status=PaymentStatus.REFUNDED,
                refunded_amount=refund.amount,
                next_check_at=None,
            )
    for name, value in updates.items():
        setattr(payment_request, name, value)
    payment_request.save(update_fields=list(updates))
    if newly_paid:
        webhook_deliveries_enqueue(
            payment_request=payment_request, event="transaction.paid"
        )
    audit_event_record(
        merchant=merchant,
        action="payment_request.flag_settled",
        obj=payment_request,
        actor=actor,
        details={**details, "note": note},
    )
    return payment_request


def _first_paid_at(payment_request: PaymentRequest):
    first = (
        BakongTransaction.objects.filter(payment_request=payment_request)
        .order_by("received_at", "pk")
        .values_list("created_at_bakong", "received_at")
        .first()
    )
    if first is None:
        return timezone.now()
    return first[0] or first[1]


def _refund_record(
    *,
    payment_request: PaymentRequest,
    merchant: Merchant,
    bank_reference: str,
    note: str,
    person: Any,
) -> Refund:
    bank_reference = (bank_reference or "").strip()
    if not bank_reference:
        raise InvalidInput(
            gettext_noop(
                "bank_reference: the reference of your bank's transfer back is "
                "required for a refund"
            ),
            field="bank_reference",
        )
    if len(bank_reference) > 100:
        raise InvalidInput(
            gettext_noop("bank_reference: at most 100 characters"),
            field="bank_reference",
        )
    amount, currency = _unaccepted(payment_request)
    try:
        with transaction.atomic():
            return Refund.objects.create(
                merchant=merchant,
                payment_request=payment_request,
                amount=amount,
                currency=currency,
                bank_reference=bank_reference,
                reason=f"{payment_request.get_flag_display()}: {note}"[:200],
                created_by=person,
            )
    except IntegrityError:
        raise Conflict(
            f"bank_reference: {bank_reference} is already recorded for a refund",
            field="bank_reference",
        ) from None
