"""One run's working state: both sides as lists, what is still open, and the
matches and findings made so far. Tiers read and write it; nothing else does."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

from core.money import format_amount, from_minor
from reconciliation.engine.refs import account_key, party_key, ref_keys
from reconciliation.engine.rows import (
    KHQR,
    Expected,
    Finding,
    Match,
    Posted,
    Settings,
)


@dataclass(slots=True)
class Draft:
    """A match while the run may still extend it (a chained invoice)."""

    expected: list[int]
    posted: list[int]
    tier: int
    rule: str
    score: int
    reason: str
    status: str
    difference: int
    currency: str


class Pool:
    def __init__(
        self, expected: list[Expected], posted: list[Posted], settings: Settings
    ) -> None:
        self.settings = settings
        self.tol = settings.tolerances
        locked = settings.locked
        self.E = sorted((e for e in expected if e.id not in locked), key=_by_id)
        self.P = sorted((p for p in posted if p.id not in locked), key=_by_id)
        self.e_open = [True] * len(self.E)
        self.p_open = [True] * len(self.P)
        self.e_match = [-1] * len(self.E)
        self.p_match = [-1] * len(self.P)
        self.p_duplicate: dict[int, int] = {}  # posted -> the expected it repeats
        self.drafts: list[Draft] = []
        self.findings: list[Finding] = []
        self.rejected = settings.rejected
        self.e_index = {e.id: i for i, e in enumerate(self.E)}
        # filled by the reference tier, read by later tiers and the explanations
        self.e_keys: list[tuple[str, ...]] = [
            tuple(dict.fromkeys(k for r in e.ref_keys for k in ref_keys(r)))
            for e in self.E
        ]
        self.ref_hits_p: dict[int, list[int]] = {}
        self.ref_hits_e: dict[int, list[int]] = {}
        self._e_party: dict[int, str] = {}  # computed when a tier asks
        self._p_party: dict[int, str] = {}
        self.paid_before: dict[str, str] = {}  # payer account -> customer
        days = [p.day for p in self.P]
        self.as_of = settings.as_of if settings.as_of is not None else max(days or [0])

    # -- windows and tolerances ---------------------------------------------------

    def window(self, i: int) -> tuple[int, int]:
        e = self.E[i]
        if e.kind == KHQR:
            return e.date_from, e.date_to + self.tol.khqr_days_after_expiry
        return (
            e.date_from - self.tol.days_before_issue,
            e.date_to + self.tol.days_after_due,
        )

    def in_window(self, i: int, j: int) -> bool:
        low, high = self.window(i)
        return low <= self.P[j].day <= high

    def fee_tolerance(self, amount_minor: int, currency: str) -> int:
        floor = self.tol.fee_floor_minor.get(currency, 0)
        return max(abs(amount_minor) * self.tol.fee_bp // 10_000, floor)

    def allowed(self, i: int, j: int) -> bool:
        """Not rejected by an accountant, and money in the same direction."""
        e, p = self.E[i], self.P[j]
        if (e.amount_minor > 0) != (p.amount_minor > 0):
            return False
        return (e.id, p.id) not in self.rejected

    # -- parties ------------------------------------------------------------------

    def e_party(self, i: int) -> str:
        key = self._e_party.get(i)
        if key is None:
            key = self._e_party[i] = party_key(self.E[i].counterparty)
        return key

    def p_party(self, j: int) -> str:
        key = self._p_party.get(j)
        if key is None:
            key = self._p_party[j] = party_key(self.P[j].counterparty)
        return key

    def relation(self, i: int, j: int) -> str:
        """How the line's payer is known to be the item's customer: an alias an
        accountant confirmed, the same account, the same name, or an account
        that paid this customer earlier in the run; "" if not."""
        customer, payer = self.e_party(i), self.p_party(j)
        if payer and customer and self.settings.aliases.get(payer) == customer:
            return "alias"
        e_acct = account_key(self.E[i].counterparty_account)
        if e_acct and e_acct == account_key(self.P[j].counterparty_account):
            return "account"
        if customer and customer == payer:
            return "name"
        p_acct = account_key(self.P[j].counterparty_account)
        if p_acct and customer and self.paid_before.get(p_acct) == customer:
            return "history"
        return ""

    def learn_payers(self) -> None:
        """Remember which customer each payer account paid in the matches so
        far that named their item (tiers 1 to 3): that account is then known."""
        for draft in self.drafts:
            if draft.tier > 3 or len(draft.expected) != 1:
                continue
            customer = self.e_party(draft.expected[0])
            if not customer:
                continue
            for j in draft.posted:
                acct = account_key(self.P[j].counterparty_account)
                if acct:
                    # an account seen paying two customers proves neither
                    known = self.paid_before.setdefault(acct, customer)
                    if known != customer:
                        self.paid_before[acct] = ""

    # -- recording ----------------------------------------------------------------

    def match(
        self,
        expected: list[int],
        posted: list[int],
        *,
        tier: int,
        rule: str,
        score: int,
        reason: str,
        status: str,
        difference: int | None = None,
    ) -> Draft:
        currency = self.E[expected[0]].currency
        if difference is None:
            difference = sum(self.P[j].amount_minor for j in posted) - sum(
                self.E[i].amount_minor for i in expected
            )
        draft = Draft(
            expected, posted, tier, rule, score, reason, status, difference, currency
        )
        number = len(self.drafts)
        self.drafts.append(draft)
        for i in expected:
            self.e_open[i] = False
            self.e_match[i] = number
        for j in posted:
            self.p_open[j] = False
            self.p_match[j] = number
        return draft

    def duplicate(self, i: int, j: int, detail: str) -> None:
        """A second payment of something already paid: explained, and an
        exception."""
        self.p_open[j] = False
        self.p_duplicate[j] = i
        p = self.P[j]
        self.find(
            "duplicate_payment", [i], [j], p.amount_minor, p.currency, detail=detail
        )

    def find(
        self,
        reason: str,
        expected: list[int],
        posted: list[int],
        amount_minor: int,
        currency: str,
        *,
        detail: str,
    ) -> None:
        self.findings.append(
            Finding(
                reason=reason,
                expected_ids=tuple(self.E[i].id for i in expected),
                posted_ids=tuple(self.P[j].id for j in posted),
                amount_minor=amount_minor,
                currency=currency,
                detail=detail,
            )
        )

    def frozen_matches(self) -> tuple[Match, ...]:
        return tuple(
            Match(
                expected_ids=tuple(self.E[i].id for i in d.expected),
                posted_ids=tuple(self.P[j].id for j in d.posted),
                tier=d.tier,
                rule=d.rule,
                score=d.score,
                reason=d.reason,
                status=d.status,
                difference=d.difference,
                currency=d.currency,
            )
            for d in self.drafts
        )

    # -- words --------------------------------------------------------------------

    def e_name(self, i: int) -> str:
        e = self.E[i]
        return e.label or (e.ref_keys[0] if e.ref_keys else e.id)

    def p_name(self, j: int) -> str:
        p = self.P[j]
        return p.label or p.id


def money(amount_minor: int, currency: str) -> str:
    return format_amount(from_minor(abs(amount_minor)), currency)


# the same input in any order gives the same answer: rows are taken in id order
_by_id = attrgetter("id")
