"""One run's working state: both sides as lists, what is still open, and the
matches and findings made so far. Tiers read and write it; nothing else does.

Rows are addressed by their position (i on the expected side, j on the posted
side); what is open is a bytearray, so a tier's inner loop costs an index."""

from __future__ import annotations

from itertools import compress
from operator import attrgetter, itemgetter

from core.money import CURRENCIES
from reconciliation.engine.refs import (
    account_key,
    party_key,
    ref_keys,
    ref_keys_many,
    text_keys,
)
from reconciliation.engine.rows import (
    KHQR,
    Expected,
    Finding,
    Match,
    Posted,
    Settings,
)

_by_id = itemgetter(0)  # the same input in any order gives the same answer
_new_row = tuple.__new__  # a named tuple from a tuple of its fields, in C
_KIND = attrgetter("kind")


class Pool:
    def __init__(
        self, expected: list[Expected], posted: list[Posted], settings: Settings
    ) -> None:
        self.settings = settings
        self.tol = tol = settings.tolerances
        locked = settings.locked
        if locked:
            expected = [e for e in expected if e.id not in locked]
            posted = [p for p in posted if p.id not in locked]
        self.E = E = sorted(expected, key=_by_id)
        self.P = P = sorted(posted, key=_by_id)
        self.e_open = bytearray(b"\x01") * len(E)
        self.p_open = bytearray(b"\x01") * len(P)
        self.e_match = [-1] * len(E)
        self.p_match = [-1] * len(P)
        # each item's window: issue to due + days (a code: creation to expiry + 1)
        after, before = tol.days_after_due, tol.days_before_issue
        khqr_after = tol.khqr_days_after_expiry
        # a run spans a few dozen days: one int object per day, not per row
        days: dict[int, int] = {}
        self.lo = [
            days.setdefault(d, d)
            for d in [
                e.date_from if e.kind == KHQR else e.date_from - before for e in E
            ]
        ]
        self.hi = [
            days.setdefault(d, d)
            for d in [e.date_to + (khqr_after if e.kind == KHQR else after) for e in E]
        ]
        self.p_duplicate: dict[int, int] = {}  # posted -> the item it pays again
        # the matches, column by column (a chained invoice may still join one)
        self.m_expected: list[list[int]] = []
        self.m_posted: list[list[int]] = []
        self.m_meta: list[tuple[int, str, int, str, str, int | None]] = []
        self.findings: list[Finding] = []
        self.rejected = settings.rejected
        # filled by the reference tier, read by later tiers and the explanations
        self.ref_hits_p: dict[int, list[int]] = {}
        self.ref_hits_e: dict[int, list[int]] = {}
        self._keys: dict[int, tuple[str, ...]] = {}
        self._text_keys: dict[int, list[str]] = {}
        # keyed by the name or number as written, not by row: a customer's
        # items and payments repeat it, so each is normalised once, and a run
        # keeps one entry per customer instead of one per row
        self._party: dict[str, str] = {}
        self._acct: dict[str, str] = {}
        self._paid_by: dict[str, int] = {}  # payer account -> an item it paid
        self._paid_clash: dict[str, list[int]] = {}
        self.as_of = (
            settings.as_of
            if settings.as_of is not None
            else max((p.day for p in P), default=0)
        )

    # -- windows, tolerances, keys ---------------------------------------------------

    def window(self, i: int) -> tuple[int, int]:
        return self.lo[i], self.hi[i]

    def in_window(self, i: int, j: int) -> bool:
        return self.lo[i] <= self.P[j].day <= self.hi[i]

    def fee_tolerance(self, amount_minor: int, currency: str) -> int:
        floor = self.tol.fee_floor_minor.get(currency, 0)
        return max(abs(amount_minor) * self.tol.fee_bp // 10_000, floor)

    def allowed(self, i: int, j: int) -> bool:
        """Not rejected by an accountant, and money in the same direction."""
        e, p = self.E[i], self.P[j]
        if (e.amount_minor > 0) != (p.amount_minor > 0):
            return False
        return not self.rejected or (e.id, p.id) not in self.rejected

    def keys(self, i: int) -> tuple[str, ...]:
        """The item's references as keys (computed when a tier first asks)."""
        found = self._keys.get(i)
        if found is None:
            refs = self.E[i].ref_keys
            found = self._keys[i] = (
                ref_keys(refs[0])  # most items have one reference: no duplicates
                if len(refs) == 1
                else tuple(dict.fromkeys(k for r in refs for k in ref_keys(r)))
            )
        return found

    def keys_of(self, indexes: list[int]) -> dict[int, tuple[str, ...]]:
        """keys(i) of many items at once (most have one reference: those are
        cleaned together); the cache keys() reads."""
        E, kept = self.E, self._keys
        single = [i for i in indexes if i not in kept and len(E[i].ref_keys) == 1]
        texts = [E[i].ref_keys[0] for i in single]
        kept.update(zip(single, ref_keys_many(texts), strict=True))
        for i in indexes:
            if i not in kept:
                self.keys(i)
        return kept

    def line_numbers(self, j: int) -> list[str]:
        """The keys of a line's text that hold a digit: where a typo can hide."""
        return [k for k in self.line_keys(j) if not k.isalpha()]

    def line_keys(self, j: int) -> list[str]:
        """The keys a line's text carries (computed when a tier first asks)."""
        found = self._text_keys.get(j)
        if found is None:
            found = self._text_keys[j] = text_keys(self.P[j].ref_text)
        return found

    def forget(self) -> None:
        """Drop what the tiers computed for themselves (keys of every text, names,
        accounts) before the result is built: at a million rows it is hundreds of
        megabytes the result does not need."""
        self._keys.clear()
        self._text_keys.clear()
        self._party.clear()
        self._acct.clear()

    # -- parties ------------------------------------------------------------------

    def e_party(self, i: int) -> str:
        return self._party_key(self.E[i].counterparty)

    def p_party(self, j: int) -> str:
        return self._party_key(self.P[j].counterparty)

    def e_acct(self, i: int) -> str:
        return self._account_key(self.E[i].counterparty_account)

    def p_acct(self, j: int) -> str:
        return self._account_key(self.P[j].counterparty_account)

    def _party_key(self, name: str) -> str:
        key = self._party.get(name)
        if key is None:
            key = self._party[name] = party_key(name)
        return key

    def _account_key(self, number: str) -> str:
        key = self._acct.get(number)
        if key is None:
            key = self._acct[number] = account_key(number)
        return key

    def payer(self, j: int) -> tuple[str, str, str, str]:
        """What is known of a line's payer: (name key, the customer an alias
        names, account key, the customer that account paid before)."""
        name, account = self.p_party(j), self.p_acct(j)
        return (
            name,
            self.settings.aliases.get(name, "") if name else "",
            account,
            self.paid_customer(account) if account else "",
        )

    def relation(
        self, i: int, j: int, payer: tuple[str, str, str, str] | None = None
    ) -> str:
        """How the line's payer is known to be the item's customer: an alias an
        accountant confirmed, the same account, the same name, or an account
        that paid this customer earlier in the run; "" if not."""
        name, alias, account, paid = payer or self.payer(j)
        customer = self.e_party(i)
        if alias and alias == customer:
            return "alias"
        if account and account == self.e_acct(i):
            return "account"
        if name and name == customer:
            return "name"
        if paid and paid == customer:
            return "history"
        return ""

    def learn_payers(self) -> None:
        """Remember which item each payer account paid in the matches so far
        that named their item (tiers 1 to 3): that account's customer is then
        known. Names are compared only when the account is asked about."""
        E, P, e_match = self.E, self.P, self.e_match
        m_meta, m_expected, m_posted = self.m_meta, self.m_expected, self.m_posted
        paid_by, clash = self._paid_by, self._paid_clash
        # from the items' side (not codes, with a customer, matched; an item is
        # in one match at most), then in match order: most matches are codes
        # paid by their md5
        named = [
            (e_match[i], i)
            for i in compress(range(len(E)), map(KHQR.__ne__, map(_KIND, E)))
            if e_match[i] >= 0 and E[i].counterparty
        ]
        named.sort()
        for number, i in named:
            if m_meta[number][0] > 3 or len(m_expected[number]) != 1:
                continue
            e = E[i]
            for j in m_posted[number]:
                if P[j].counterparty_account:
                    acct = self.p_acct(j)
                    first = paid_by.setdefault(acct, i)
                    if first != i and E[first].counterparty != e.counterparty:
                        clash.setdefault(acct, []).append(i)

    def paid_customer(self, account: str) -> str:
        """The customer this payer account paid before; "" if none, or if it
        paid two customers (then it proves neither)."""
        first = self._paid_by.get(account)
        if first is None:
            return ""
        customer = self.e_party(first)
        for other in self._paid_clash.get(account, ()):
            if self.e_party(other) != customer:
                return ""
        return customer

    # -- recording ----------------------------------------------------------------

    def match(
        self,
        expected: list[int],
        posted: list[int],
        tier: int,
        rule: str,
        score: int,
        reason: str,
        status: str,
        difference: int | None = None,
    ) -> int:
        """Record a match; its number."""
        number = len(self.m_meta)
        self.m_expected.append(expected)
        self.m_posted.append(posted)
        self.m_meta.append((tier, rule, score, reason, status, difference))
        e_open, e_match = self.e_open, self.e_match
        for i in expected:
            e_open[i] = 0
            e_match[i] = number
        p_open, p_match = self.p_open, self.p_match
        for j in posted:
            p_open[j] = 0
            p_match[j] = number
        return number

    def duplicate(self, i: int, j: int, detail: str) -> None:
        """A second payment of something already paid: explained, and an
        exception."""
        self.p_open[j] = 0
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
                reason,
                tuple(self.E[i].id for i in expected),
                tuple(self.P[j].id for j in posted),
                amount_minor,
                currency,
                detail,
            )
        )

    def hand_over_matches(self) -> tuple[Match, ...]:
        """The matches as rows, the last thing a run asks of the pool: each
        match's working lists are let go as its row is made, so the memory they
        held makes the rows (at a million rows the run's peak is here)."""
        E, P = self.E, self.P
        m_expected, m_posted, m_meta = self.m_expected, self.m_posted, self.m_meta
        self.m_expected, self.m_posted, self.m_meta = [], [], []
        self.e_match = self.p_match = self.lo = self.hi = []
        self.ref_hits_p, self.ref_hits_e = {}, {}
        self._paid_by, self._paid_clash = {}, {}
        out = []
        add = out.append
        for number in range(len(m_meta)):
            expected, posted = m_expected[number], m_posted[number]
            tier, rule, score, reason, status, diff = m_meta[number]
            m_expected[number] = m_posted[number] = m_meta[number] = None
            first = E[expected[0]]
            if diff is None:
                if len(expected) == 1 and len(posted) == 1:
                    diff = P[posted[0]].amount_minor - first.amount_minor
                else:
                    diff = _received(self, expected, posted)
            # Match(...) without its Python __new__: a million rows
            add(
                _new_row(
                    Match,
                    (
                        (first.id,)
                        if len(expected) == 1
                        else tuple(E[i].id for i in expected),
                        (P[posted[0]].id,)
                        if len(posted) == 1
                        else tuple(P[j].id for j in posted),
                        tier,
                        rule,
                        score,
                        reason,
                        status,
                        diff,
                        first.currency,
                    ),
                )
            )
        return tuple(out)

    # -- words --------------------------------------------------------------------

    def e_name(self, i: int) -> str:
        e = self.E[i]
        if e.label:
            return e.label
        if e.kind == KHQR:
            return f"order {e.ref_keys[0]}" if e.ref_keys else f"code {e.id}"
        return e.ref_keys[0] if e.ref_keys else e.id

    def p_name(self, j: int) -> str:
        p = self.P[j]
        return p.label or p.id


def _received(pool: Pool, expected: list[int], posted: list[int]) -> int:
    """Received − expected; a KHQR code joined by the invoice it was issued for
    is one claim, not two (the code is how the invoice was paid)."""
    items = [pool.E[i] for i in expected]
    if len(items) > 1 and any(e.kind == KHQR for e in items):
        items = [e for e in items if e.kind != KHQR] or items[:1]
    return sum(pool.P[j].amount_minor for j in posted) - sum(
        e.amount_minor for e in items
    )


def money(amount_minor: int, currency: str) -> str:
    """'1,234.50 USD', '48,000 KHR': as core.money.format_amount writes the
    absolute amount, in integer arithmetic (a run words thousands of reasons)."""
    units, cents = divmod(abs(amount_minor), 100)
    if _WHOLE.get(currency):
        return f"{units + (cents >= 50):,} {currency}"
    return f"{units:,}.{cents:02d} {currency}"


_WHOLE = {code: c.places == 0 for code, c in CURRENCIES.items()}
