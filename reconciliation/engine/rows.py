"""The engine's plain rows: what it is given and what it answers.

Rows are named tuples: immutable, and cheap to make by the million.

Amounts are signed integer minor units (exponent 2 for every currency, as the
ledger stores them): money that should arrive or did arrive is positive, money that
should leave or did leave is negative. Days are `date.toordinal()` numbers, so a
window is two integers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

KHQR = "khqr"  # a KHQR payment request
INVOICE = "invoice"
REFUND = "refund"  # a refund the merchant owes or paid: money out

AUTO = "auto"
PROPOSED = "proposed"


class Expected(NamedTuple):
    """Something that should show up in the ledger."""

    id: str
    kind: str
    ref_keys: tuple[str, ...]  # order id, bill number, invoice number … as written
    amount_minor: int
    currency: str
    date_from: int  # issue date; a code's creation day
    date_to: int  # due date; a code's expiry day
    counterparty: str = ""  # the customer as the merchant names them
    counterparty_account: str = ""
    identity: tuple[str, ...] = ()  # tokens from engine.identity: md5, hashes
    refunds: str = ""  # a refund: the id of the expected item it gives back
    flags: tuple[str, ...] = ()  # facts the source already knows: "late"
    label: str = ""  # how people call it: "INV-0042", "order 1001"


class FxLeg(NamedTuple):
    """A cross-border line's own conversion: original × rate = |amount| + fee."""

    original_minor: int
    original_currency: str
    rate: str  # as the bank printed it
    fee_minor: int = 0


class Posted(NamedTuple):
    """Money that moved: a ledger line, or a verified Bakong transaction that no
    ledger line carries yet."""

    id: str
    ref_text: str  # reference and description, as the bank wrote them
    amount_minor: int
    currency: str
    day: int
    counterparty: str = ""
    counterparty_account: str = ""
    hash: str = ""  # the line's Bakong hash, short hash or trace, as written
    identity: tuple[str, ...] = ()  # tokens known from links (the Bakong record)
    fx: FxLeg | None = None
    fx_mismatch: bool = False
    label: str = ""


@dataclass(frozen=True, slots=True)
class Tolerances:
    """How far a match may stretch. Defaults are the merchant defaults of the
    reconciliation brief."""

    fee_bp: int = 100  # a bank fee may take 1% (basis points) …
    fee_floor_minor: Mapping[str, int] = field(
        default_factory=lambda: {"USD": 100, "KHR": 400_000, "THB": 3_500}
    )  # … or at least USD 1.00 / KHR 4,000 / THB 35
    fx_bp: int = 150  # a converted amount may differ by 1.5%
    days_before_issue: int = 0
    days_after_due: int = 7
    khqr_days_after_expiry: int = 1
    rate_days_back: int = 7  # how old the day's rate may be
    suggestion_days: int = 45  # how far apart a suggestion may be


@dataclass(frozen=True, slots=True)
class Settings:
    tolerances: Tolerances = field(default_factory=Tolerances)
    # a payer's name as the bank writes it (normalised by engine.refs.party_key)
    # -> the customer an accountant confirmed it is (normalised the same way)
    aliases: Mapping[str, str] = field(default_factory=dict)
    rejected: frozenset[tuple[str, str]] = frozenset()  # (expected id, posted id)
    locked: frozenset[str] = frozenset()  # ids held by confirmed or signed-off work
    # (day, base, quote) -> rate text: one unit of base is `rate` units of quote
    rates: Mapping[tuple[int, str, str], str] = field(default_factory=dict)
    as_of: int | None = None  # the day the run looks from (overdue is before it)
    debits_are_exceptions: bool = False  # an unexplained debit is an exception too


class Match(NamedTuple):
    expected_ids: tuple[str, ...]
    posted_ids: tuple[str, ...]
    tier: int
    rule: str
    score: int  # 0..100
    reason: str
    status: str  # auto | proposed
    difference: int  # received − expected, minor units of `currency`
    currency: str


class Finding(NamedTuple):
    """An exception with its reason code."""

    reason: str
    expected_ids: tuple[str, ...]
    posted_ids: tuple[str, ...]
    amount_minor: int
    currency: str
    detail: str


class Unmatched(NamedTuple):
    """An item or line left open, with its nearest candidates and what kept each
    one out."""

    id: str
    side: str  # expected | posted
    nearest: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Result:
    matches: tuple[Match, ...]
    findings: tuple[Finding, ...]
    unmatched: tuple[Unmatched, ...]

    def counts(self) -> dict[str, int]:
        """Matches by tier and by status, exceptions by reason."""
        out: dict[str, int] = {}
        for match in self.matches:
            for key in (f"tier_{match.tier}", match.status):
                out[key] = out.get(key, 0) + 1
        for finding in self.findings:
            key = f"exception_{finding.reason}"
            out[key] = out.get(key, 0) + 1
        return out
