"""Identity tokens: the facts that name one payment on both sides.

A KHQR code is known by its md5 and by the Bakong transactions that paid it; a
ledger line by the hash, short hash or trace the bank printed, and by the Bakong
record it is linked to. Two rows sharing a token are the same payment (tier 1).
A short hash is only an identity together with its amount and currency.
"""

from __future__ import annotations

import re

_FULL_HASH = re.compile(r"^[0-9a-f]{64}$")
_SHORT_HASH = re.compile(r"^[0-9a-f]{8}$")


def md5_token(md5: str) -> str:
    return f"md5:{md5.strip().lower()}" if md5 else ""


def hash_tokens(text: str, *, amount_minor: int, currency: str) -> tuple[str, ...]:
    """What a hash-like text on a line or record proves: a full Bakong hash, a
    short hash (with its amount and currency), or a bank's trace id."""
    value = text.strip()
    if not value:
        return ()
    lowered = value.lower()
    if _FULL_HASH.match(lowered):
        return (f"hash:{lowered}", short_token(lowered[:8], amount_minor, currency))
    if _SHORT_HASH.match(lowered):
        return (short_token(lowered, amount_minor, currency),)
    return (f"trace:{value.upper()}",)


def hash_token(hash_: str) -> str:
    return f"hash:{hash_.strip().lower()}" if hash_ else ""


def trace_token(trace: str) -> str:
    return f"trace:{trace.strip().upper()}" if trace and trace.strip() else ""


def short_token(short: str, amount_minor: int, currency: str) -> str:
    return f"short:{short.lower()}:{abs(amount_minor)}:{currency.upper()}"


def bakong_tokens(
    *, hash: str, md5: str, external_ref: str, amount_minor: int, currency: str
) -> tuple[str, ...]:
    """Everything a recorded Bakong transaction is known by."""
    tokens = [*hash_tokens(hash, amount_minor=amount_minor, currency=currency)]
    if md5:
        tokens.append(md5_token(md5))
    tokens.append(trace_token(external_ref))
    return tuple(t for t in tokens if t)
