"""Rows from plain values: the one mapping from Tonle's records (a payment
request, an invoice, a refund, a ledger line, a Bakong transaction) to the
engine's rows, used by the services that load them and by the scenario tests.
Ids are "<kind>:<primary key>".

A build passes one `Shared` to every call: its rows then hold one object per
distinct currency, day, amount, name and identity token (a token is on both
sides of a pair) instead of a copy each, a fifth of their memory at a million
rows."""

from __future__ import annotations

from collections.abc import Container, Iterable

from reconciliation.engine.identity import (
    bakong_tokens,
    hash_token,
    md5_token,
    trace_token,
)
from reconciliation.engine.rows import INVOICE, KHQR, REFUND, Expected, FxLeg, Posted

KHQR_PREFIX, INVOICE_PREFIX, REFUND_PREFIX = "pr", "inv", "rf"
LINE_PREFIX, BAKONG_PREFIX = "ln", "bk"


class Shared(dict):
    """`shared[value]` is the first equal value it was given: one object per
    distinct value for as long as the build keeps it (drop it with the build, it
    holds every value it has seen). Not for bools: True == 1."""

    __slots__ = ()

    def __missing__(self, value):
        self[value] = value
        return value


def _tokens(tokens: Iterable[str], shared: Shared) -> tuple[str, ...]:
    """The non-empty tokens in order, each shared."""
    return tuple([shared[t] for t in tokens if t])


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
    payment_tokens: Iterable[str] = (),
    flags: tuple[str, ...] = (),
    shared: Shared | None = None,
    askable: Container[str] | None = None,
) -> Expected:
    """A KHQR code; `payments` are its recorded Bakong transactions as (hash,
    md5, external_ref, amount_minor, currency): what their lines will carry.
    `payment_tokens` are the same already made by `khqr_payment_tokens`, in
    payment order after any `payments`. With `askable` (the run's
    `identity.PostedTokens`) the code holds only the tokens a line can ask it
    for, and its first (its md5: tier 1 indexes items by it): most codes of a
    run's look-back were paid by lines of earlier months."""
    shared = Shared() if shared is None else shared
    identity = [md5_token(md5)]
    for hash_, bt_md5, external_ref, _paid_minor, _paid_currency in payments:
        identity += khqr_payment_tokens(
            hash=hash_, md5=bt_md5, external_ref=external_ref
        )
    identity += payment_tokens
    keys = tuple(k for k in (order_id, bill_number) if k)
    tokens = _tokens(dict.fromkeys(identity), shared)  # md5 first
    if askable is not None and len(tokens) > 1:
        tokens = (tokens[0], *[t for t in tokens[1:] if t in askable])
    return Expected(
        id=f"{KHQR_PREFIX}:{pk}",
        kind=KHQR,
        ref_keys=keys,
        amount_minor=shared[amount_minor],
        currency=shared[currency],
        date_from=shared[created_day],
        date_to=shared[expires_day],
        identity=tokens,
        flags=flags,
    )


def khqr_payment_tokens(
    *, hash: str, md5: str, external_ref: str, shared: Shared | None = None
) -> tuple[str, str, str]:
    """What one recorded Bakong payment adds to its code's identity (some may be
    ""). A loader reading the payments before their codes keeps these few
    shared tokens per code instead of each payment's raw texts."""
    # its short hash is derived from the full one when a line needs it
    tokens = (hash_token(hash), md5_token(md5), trace_token(external_ref))
    return tokens if shared is None else tuple([shared[t] for t in tokens])


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
    shared: Shared | None = None,
) -> Expected:
    shared = Shared() if shared is None else shared
    return Expected(
        id=f"{INVOICE_PREFIX}:{pk}",
        kind=INVOICE,
        ref_keys=tuple(k for k in (number, reference) if k),
        amount_minor=shared[amount_minor],
        currency=shared[currency],
        date_from=shared[issue_day],
        date_to=shared[due_day],
        counterparty=shared[customer],
        counterparty_account=shared[customer_account],
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
    shared: Shared | None = None,
) -> Expected:
    """Money the merchant gives back: a debit the bank should show."""
    shared = Shared() if shared is None else shared
    return Expected(
        id=f"{REFUND_PREFIX}:{pk}",
        kind=REFUND,
        ref_keys=(bank_reference,) if bank_reference else (),
        amount_minor=shared[-abs(amount_minor)],
        currency=shared[currency],
        date_from=shared[day],
        date_to=shared[day],
        counterparty_account=shared[payer_account],
        refunds=f"{KHQR_PREFIX}:{refunds_pk}" if refunds_pk else "",
        label=f"refund {bank_reference}" if bank_reference else f"refund {pk}",
    )


def fx_leg(
    *,
    original_minor: int,
    original_currency: str,
    rate: str,
    fee_minor: int = 0,
    shared: Shared | None = None,
) -> FxLeg:
    """A cross-border line's conversion (its currency and rate shared)."""
    shared = Shared() if shared is None else shared
    return FxLeg(
        original_minor, shared[original_currency], shared[rate], shared[fee_minor]
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
    shared: Shared | None = None,
) -> Posted:
    """A ledger line; `linked` is its Bakong record's (hash, md5, external_ref):
    the record's md5 and hash identify it (the line's own printed hash is read
    only when it is not linked)."""
    shared = Shared() if shared is None else shared
    identity: tuple[str, ...] = ()
    if linked is not None:
        hash_, md5, _external_ref = linked
        identity = _tokens((md5_token(md5), hash_token(hash_)), shared)
    text = (
        f"{reference} {description}"
        if reference and description
        else (reference or description)
    )
    return Posted(
        id=f"{LINE_PREFIX}:{pk}",
        ref_text=text,
        amount_minor=shared[amount_minor],
        currency=shared[currency],
        day=shared[day],
        counterparty=shared[counterparty],
        counterparty_account=shared[counterparty_account],
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
    shared: Shared | None = None,
) -> Posted:
    """A verified Bakong transaction no ledger line carries yet (its bank has not
    reported it)."""
    shared = Shared() if shared is None else shared
    return Posted(
        id=f"{BAKONG_PREFIX}:{pk}",
        ref_text="",
        amount_minor=shared[amount_minor],
        currency=shared[currency],
        day=shared[day],
        counterparty_account=shared[payer_account],
        identity=_tokens(
            bakong_tokens(
                hash=hash,
                md5=md5,
                external_ref=external_ref,
                amount_minor=amount_minor,
                currency=currency,
            ),
            shared,
        ),
        label=f"Bakong {hash[:8]}",
    )
