"""Identity tokens: the facts that name one payment on both sides.

A KHQR code is known by its md5 and by the Bakong transactions that paid it; a
ledger line by the hash, short hash or trace the bank printed, and by the Bakong
record it is linked to. Two rows sharing a token are the same payment (tier 1).
A short hash is only an identity together with its amount and currency.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciliation.engine.rows import Posted

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


class PostedTokens:
    """Every token a run's posted side carries: its rows' own, and what a line's
    printed hash text says (`hash_tokens`), with the short hashes among them.
    Tier 1 pairs an item with a line that shares one of its tokens, or that
    printed its hash's short form; an item's token outside these identifies
    nothing in that run, and need not be held (`token in posted_tokens`)."""

    __slots__ = ("shorts", "tokens")

    def __init__(self, posted: Iterable[Posted]) -> None:
        tokens: set[str] = set()
        for p in posted:
            tokens.update(p.identity)
            if p.hash:
                tokens.update(
                    hash_tokens(
                        p.hash, amount_minor=p.amount_minor, currency=p.currency
                    )
                )
        self.tokens = tokens
        self.shorts = {t.split(":", 2)[1] for t in tokens if t.startswith("short:")}

    def __contains__(self, token: str) -> bool:
        return token in self.tokens or (
            token.startswith("hash:") and token[5:13] in self.shorts
        )
