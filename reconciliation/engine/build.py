"""Rows from plain values: the one mapping from Tonle's records (a payment
request, an invoice, a refund, a ledger line, a Bakong transaction) to the
engine's rows, used by the services that load them and by the scenario tests.
Ids are "<kind>:<primary key>"."""

from __future__ import annotations

from collections.abc import Iterable

from reconciliation.engine.identity import (
    bakong_tokens,
    hash_token,
    md5_token,
    trace_token,
)
from reconciliation.engine.rows import INVOICE, KHQR, REFUND, Expected, FxLeg, Posted

KHQR_PREFIX, INVOICE_PREFIX, REFUND_PREFIX = "pr", "inv", "rf"
LINE_PREFIX, BAKONG_PREFIX = "ln", "bk"


def khqr_expected(
    *,
    pk: int,
    md5: str,
    order_id: str,
    bill_number: str,
    amount_minor: int,
    currency: str,
    created_day: int,
    expires_day: int,
    payments: Iterable[tuple[str, str, str, int, str]] = (),
    flags: tuple[str, ...] = (),
) -> Expected:
    """A KHQR code; `payments` are its recorded Bakong transactions as (hash,
    md5, external_ref, amount_minor, currency): what their lines will carry."""
    identity = [md5_token(md5)]
    for hash_, bt_md5, external_ref, _paid_minor, _paid_currency in payments:
        # its short hash is derived from the full one when a line needs it
        identity += (hash_token(hash_), md5_token(bt_md5), trace_token(external_ref))
    keys = tuple(k for k in (order_id, bill_number) if k)
    return Expected(
        id=f"{KHQR_PREFIX}:{pk}",
        kind=KHQR,
        ref_keys=keys,
        amount_minor=amount_minor,
        currency=currency,
        date_from=created_day,
        date_to=expires_day,
        identity=tuple(dict.fromkeys(t for t in identity if t)),  # md5 first
        flags=flags,
    )


def invoice_expected(
    *,
    pk: int,
    number: str,
    customer: str,
    customer_account: str,
    reference: str,
    amount_minor: int,
    currency: str,
    issue_day: int,
    due_day: int,
) -> Expected:
    return Expected(
        id=f"{INVOICE_PREFIX}:{pk}",
        kind=INVOICE,
        ref_keys=tuple(k for k in (number, reference) if k),
        amount_minor=amount_minor,
        currency=currency,
        date_from=issue_day,
        date_to=due_day,
        counterparty=customer,
        counterparty_account=customer_account,
        label=number,
    )


def refund_expected(
    *,
    pk: int,
    bank_reference: str,
    amount_minor: int,
    currency: str,
    day: int,
    payer_account: str,
    refunds_pk: int | None,
) -> Expected:
    """Money the merchant gives back: a debit the bank should show."""
    return Expected(
        id=f"{REFUND_PREFIX}:{pk}",
        kind=REFUND,
        ref_keys=(bank_reference,) if bank_reference else (),
        amount_minor=-abs(amount_minor),
        currency=currency,
        date_from=day,
        date_to=day,
        counterparty_account=payer_account,
        refunds=f"{KHQR_PREFIX}:{refunds_pk}" if refunds_pk else "",
        label=f"refund {bank_reference}" if bank_reference else f"refund {pk}",
    )


def line_posted(
    *,
    pk: int,
    external_id: str,
    reference: str,
    description: str,
    counterparty: str,
    counterparty_account: str,
    amount_minor: int,
    currency: str,
    day: int,
    bakong_hash: str = "",
    linked: tuple[str, str, str] | None = None,
    fx: FxLeg | None = None,
    fx_mismatch: bool = False,
) -> Posted:
    """A ledger line; `linked` is its Bakong record's (hash, md5, external_ref):
    the record's md5 and hash identify it (the line's own printed hash is read
    only when it is not linked)."""
    identity: tuple[str, ...] = ()
    if linked is not None:
        hash_, md5, _external_ref = linked
        identity = tuple(t for t in (md5_token(md5), hash_token(hash_)) if t)
    text = (
        f"{reference} {description}"
        if reference and description
        else (reference or description)
    )
    return Posted(
        id=f"{LINE_PREFIX}:{pk}",
        ref_text=text,
        amount_minor=amount_minor,
        currency=currency,
        day=day,
        counterparty=counterparty,
        counterparty_account=counterparty_account,
        hash="" if identity else bakong_hash,
        identity=identity,
        fx=fx,
        fx_mismatch=fx_mismatch,
        # a linked line is named by its Bakong record; its id (the hash) is long
        label="" if identity else external_id,
    )


def bakong_posted(
    *,
    pk: int,
    hash: str,
    md5: str,
    external_ref: str,
    amount_minor: int,
    currency: str,
    day: int,
    payer_account: str,
) -> Posted:
    """A verified Bakong transaction no ledger line carries yet (its bank has not
    reported it)."""
    return Posted(
        id=f"{BAKONG_PREFIX}:{pk}",
        ref_text="",
        amount_minor=amount_minor,
        currency=currency,
        day=day,
        counterparty_account=payer_account,
        identity=bakong_tokens(
            hash=hash,
            md5=md5,
            external_ref=external_ref,
            amount_minor=amount_minor,
            currency=currency,
        ),
        label=f"Bakong {hash[:8]}",
    )
