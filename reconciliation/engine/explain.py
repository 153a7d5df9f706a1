"""What is left open once the tiers are done: the run's remaining exceptions, and
for every open item and line its nearest candidates with what kept each one out
(tier 7: a suggestion is a candidate with nothing against it but doubt)."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from itertools import compress
from operator import attrgetter

from core.pipeline import collector_paused
from reconciliation.engine.pool import Pool, money
from reconciliation.engine.rows import (
    INVOICE,
    KHQR,
    REFUND,
    Finding,
    Match,
    Unmatched,
)

NEAREST = 3
_ID, _KIND, _AMOUNT, _CURRENCY = (
    attrgetter("id"),
    attrgetter("kind"),
    attrgetter("amount_minor"),
    attrgetter("currency"),
)


def closing_findings(pool: Pool) -> None:
    debits_too = pool.settings.debits_are_exceptions
    for j, p in enumerate(pool.P):
        if p.fx_mismatch:
            pool.find(
                "fx_mismatch",
                [],
                [j],
                p.amount_minor,
                p.currency,
                detail=f"{pool.p_name(j)}: the bank's original amount × rate does "
                "not give the amount and fee, beyond rounding",
            )
        if pool.p_open[j] and (p.amount_minor > 0 or debits_too):
            pool.find(
                "unmatched_line",
                [],
                [j],
                p.amount_minor,
                p.currency,
                detail=f"{pool.p_name(j)}: no expected item explains "
                f"{money(p.amount_minor, p.currency)}",
            )
    # only refunds name another item: index just those, not a million ids
    wanted = {e.refunds for e in pool.E if e.refunds and e.kind == REFUND}
    e_index = {e.id: i for i, e in enumerate(pool.E) if e.id in wanted}
    for i, e in enumerate(pool.E):
        if e.kind == REFUND and e.refunds:
            parent = e_index.get(e.refunds)
            if parent is not None and pool.e_open[parent]:
                pool.find(
                    "refund_without_payment",
                    [i, parent],
                    [],
                    e.amount_minor,
                    e.currency,
                    detail=f"{pool.e_name(i)} gives back {pool.e_name(parent)}, "
                    "whose payment was not found",
                )
        if not pool.e_open[i] or e.kind == KHQR:
            continue  # an unpaid code simply expired; that is not an exception
        if pool.window(i)[1] < pool.as_of:
            pool.find(
                "unpaid_item",
                [i],
                [],
                e.amount_minor,
                e.currency,
                detail=f"{pool.e_name(i)} "
                + ("was due" if e.kind == INVOICE else "should have left")
                + f" by {dt.date.fromordinal(e.date_to)} and is not in the ledger",
            )


def unmatched(pool: Pool) -> list[Unmatched]:
    """The open items and lines, each with up to three nearest candidates: the
    ones it names, then the nearest amounts. An unpaid code and an unexplained
    debit (when debits are not exceptions) say nothing more. (A caller that
    needs only some rows asks an `Explainer`.)"""
    E, P = pool.E, pool.P
    e_open, p_open = pool.e_open, pool.p_open
    items = [i for i in compress(range(len(E)), e_open) if E[i].kind != KHQR]
    lines = [j for j in compress(range(len(P)), p_open) if _line_explained(pool, j)]
    posted_by_currency = _posted_by_amount(pool) if items else {}
    expected_by_currency = _expected_by_amount(pool) if lines else {}
    explained: dict[str, tuple[tuple[str, str], ...]] = {}
    for i in items:
        explained[E[i].id] = _item_nearest(pool, i, posted_by_currency)
    for j in lines:
        explained[P[j].id] = _line_nearest(pool, j, expected_by_currency)
    out = [
        Unmatched(e.id, "expected", explained.get(e.id, ()))
        for e in compress(E, e_open)
    ]
    out += [
        Unmatched(p.id, "posted", explained.get(p.id, ())) for p in compress(P, p_open)
    ]
    return out


class Explainer:
    """A run taken step by step: its findings; the nearest candidates of one
    open row at a time, as `unmatched` lists them, for a caller that writes
    each as it is asked (a month's run stores ~70,000 of them, ~50 MB held all
    at once); then, last, its matches. Until the matches are handed over it
    keeps the run's rows and working state."""

    def __init__(self, pool: Pool, findings: tuple[Finding, ...]) -> None:
        self.findings = findings
        self._pool: Pool | None = pool
        self._posted_by_currency: dict | None = None
        self._expected_by_currency: dict | None = None

    def hand_over_matches(self) -> tuple[Match, ...]:
        """The matches; the working state the explanations read is let go as
        they are made, so nothing can be asked after."""
        pool, self._pool = self._pool, None
        self._posted_by_currency = self._expected_by_currency = None
        with collector_paused():
            return pool.hand_over_matches()

    def nearest(self, row_id: str) -> tuple[tuple[str, str], ...] | None:
        """The row's nearest candidates (none for an unpaid code or an
        unexplained debit); None when the run left no such row open."""
        pool = self._pool
        j = _position(pool.P, row_id)
        if j is not None:
            if not pool.p_open[j]:
                return None
            if not _line_explained(pool, j):
                return ()
            if self._expected_by_currency is None:
                self._expected_by_currency = _expected_by_amount(pool)
            return _line_nearest(pool, j, self._expected_by_currency)
        i = _position(pool.E, row_id)
        if i is None or not pool.e_open[i]:
            return None
        if pool.E[i].kind == KHQR:
            return ()
        if self._posted_by_currency is None:
            self._posted_by_currency = _posted_by_amount(pool)
        return _item_nearest(pool, i, self._posted_by_currency)


def _position(rows: list, row_id: str) -> int | None:
    """Where the row is: the pool keeps each side in id order."""
    at = bisect_left(rows, row_id, key=_ID)
    return at if at < len(rows) and rows[at].id == row_id else None


def _line_explained(pool: Pool, j: int) -> bool:
    return (
        pool.P[j].amount_minor > 0
        or pool.settings.debits_are_exceptions
        or j in pool.ref_hits_p
    )


def _posted_by_amount(pool: Pool) -> dict[str, tuple[list[int], list[int]]]:
    return _by_amount(pool.P, range(len(pool.P)))


def _expected_by_amount(pool: Pool) -> dict[str, tuple[list[int], list[int]]]:
    E = pool.E
    return _by_amount(E, compress(range(len(E)), map(KHQR.__ne__, map(_KIND, E))))


def _item_nearest(
    pool: Pool, i: int, posted_by_currency: dict
) -> tuple[tuple[str, str], ...]:
    e, P = pool.E[i], pool.P
    candidates = _candidates(
        pool.ref_hits_e.get(i, []),
        posted_by_currency.get(e.currency),
        e.amount_minor,
    )
    return _ranked([(why_not(pool, i, j), P[j].id) for j in candidates])


def _line_nearest(
    pool: Pool, j: int, expected_by_currency: dict
) -> tuple[tuple[str, str], ...]:
    p, E = pool.P[j], pool.E
    candidates = _candidates(
        pool.ref_hits_p.get(j, []),
        expected_by_currency.get(p.currency),
        p.amount_minor,
    )
    return _ranked([(why_not(pool, i, j), E[i].id) for i in candidates])


def _ranked(reasons: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Suggestions first, then the candidates with the fewest objections."""
    reasons.sort(key=lambda t: (not t[0].startswith("suggestion"), len(t[0])))
    return tuple((row_id, why) for why, row_id in reasons[:NEAREST])


def why_not(pool: Pool, i: int, j: int) -> str:
    """What keeps item i and line j apart, in words; a suggestion when nothing
    does but the engine may not decide alone."""
    e, p = pool.E[i], pool.P[j]
    reasons: list[str] = []
    if pool.rejected and (e.id, p.id) in pool.rejected:
        reasons.append("rejected by an accountant")
    taken = _taken(pool, i, j)
    if taken:
        reasons.append(taken)
    if p.currency != e.currency:
        reasons.append(f"currency differs ({p.currency}, not {e.currency})")
    elif p.amount_minor != e.amount_minor:
        gap = p.amount_minor - e.amount_minor
        reasons.append(
            f"amount {'over' if gap > 0 else 'short'} by {money(gap, e.currency)}"
        )
    low, high = pool.lo[i], pool.hi[i]
    if not low <= p.day <= high:
        reasons.append(
            f"{_day(p.day)} is outside the window {_day(low)} to {_day(high)}"
        )
    if e.ref_keys and j not in pool.ref_hits_e.get(i, ()):
        reasons.append("reference not found in the line")
    if reasons:
        return "; ".join(reasons)
    relation = pool.relation(i, j)
    who = "a known payer" if relation else "a payer not known to be the customer"
    return (
        f"suggestion: same amount and currency inside the window, from {who}; "
        "another candidate fits as well, so a person decides"
    )


_DAYS: dict[int, str] = {}  # a run has a few dozen days and thousands of reasons


def _day(ordinal: int) -> str:
    text = _DAYS.get(ordinal)
    if text is None:
        text = _DAYS[ordinal] = str(dt.date.fromordinal(ordinal))
    return text


def _taken(pool: Pool, i: int, j: int) -> str:
    if j in pool.p_duplicate:
        return f"a repeat payment of {pool.e_name(pool.p_duplicate[j])}"
    if not pool.p_open[j]:
        return (
            f"already matched with {_partners(pool, pool.m_expected, pool.p_match[j])}"
        )
    if not pool.e_open[i]:
        others = pool.m_posted[pool.e_match[i]]
        return "the item is already matched with " + (
            pool.p_name(others[0])
            if len(others) == 1
            else ", ".join([pool.p_name(k) for k in others[:3]])
        )
    return ""


def _partners(pool: Pool, side: list[list[int]], number: int) -> str:
    """The items of match `number`, by name: a run's match numbers mean nothing
    once it is saved."""
    items = side[number]
    if len(items) == 1:
        return pool.e_name(items[0])
    return ", ".join([pool.e_name(k) for k in items[:3]])


def _by_amount(rows, indexes) -> dict[str, tuple[list[int], list[int]]]:
    """Per currency: the rows' amounts in order, and their positions (ties in
    position order). Built with comprehensions and one keyed sort per currency:
    this runs over every row of both sides."""
    amounts = list(map(_AMOUNT, rows))
    indexes = list(indexes)
    currencies = list(map(_CURRENCY, map(rows.__getitem__, indexes)))
    out = {}
    for currency in dict.fromkeys(currencies):
        positions = list(compress(indexes, map(currency.__eq__, currencies)))
        positions.sort(key=amounts.__getitem__)  # stable: ties stay in order
        out[currency] = (list(map(amounts.__getitem__, positions)), positions)
    return out


def _candidates(
    named: list[int], other_side: tuple[list[int], list[int]] | None, amount: int
) -> list[int]:
    found = list(dict.fromkeys(named))
    if other_side is not None:
        amounts, indexes = other_side
        at = bisect_left(amounts, amount)
        near = range(max(0, at - NEAREST), min(len(amounts), at + NEAREST))
        for k in sorted(near, key=lambda k: (abs(amounts[k] - amount), k)):
            if (amounts[k] > 0) == (amount > 0) and indexes[k] not in found:
                found.append(indexes[k])
    return found[: NEAREST + 1]
