"""Tiers 5 and 6: sets and other currencies. Everything here is proposed.

5. groups: one line paying several items (its text names them, or they are one
   customer's and the sum equals), one item paid by several lines (instalments),
   a part payment or an overpayment by reference, a payment made twice;
6. cross-currency: a line in another currency, converted at its own rate or the
   day's rate, within the FX tolerance of an item.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from decimal import Decimal
from fractions import Fraction
from itertools import compress

from reconciliation.engine.pool import Pool, money
from reconciliation.engine.rows import KHQR, PROPOSED, Posted

MAX_GROUP = 12  # subsets of at most 2^12 sums per question


def unique_subset(
    amounts: list[int], target: int, *, tolerance: int = 0, min_size: int = 2
) -> list[int] | None:
    """The positions of the one subset (of at least min_size) whose sum is the
    target, exactly if any is, else the one within tolerance; None when there is
    none, or more than one fits equally well."""
    n = len(amounts)
    if n < min_size or n > MAX_GROUP:
        return None
    sums = [0] * (1 << n)
    best: list[int] = []
    best_gap = tolerance + 1
    for mask in range(1, 1 << n):
        low = mask & -mask
        sums[mask] = sums[mask ^ low] + amounts[low.bit_length() - 1]
        gap = abs(sums[mask] - target)
        if gap > tolerance or mask.bit_count() < min_size:
            continue
        if gap < best_gap:
            best, best_gap = [mask], gap
        elif gap == best_gap:
            best.append(mask)
    if len(best) != 1:
        return None
    return [k for k in range(n) if best[0] >> k & 1]


def groups(pool: Pool) -> None:
    _line_names_several(pool)
    _item_named_by_several(pool)
    _part_payments(pool)
    _customer_sums(pool)


def _same_currency_open_items(pool: Pool, j: int) -> list[int]:
    p = pool.P[j]
    return [
        i
        for i in pool.ref_hits_p.get(j, ())
        if pool.e_open[i] and pool.E[i].currency == p.currency
    ]


def _same_currency_open_lines(pool: Pool, i: int) -> list[int]:
    e = pool.E[i]
    return sorted(
        (
            j
            for j in pool.ref_hits_e.get(i, ())
            if pool.p_open[j] and pool.P[j].currency == e.currency
        ),
        key=lambda j: (pool.P[j].day, pool.P[j].id),
    )


def _line_names_several(pool: Pool) -> None:
    for j in sorted(pool.ref_hits_p):
        if not pool.p_open[j]:
            continue
        items = _same_currency_open_items(pool, j)
        if len(items) < 2:
            continue
        p = pool.P[j]
        tolerance = pool.fee_tolerance(p.amount_minor, p.currency)
        picked = unique_subset(
            [pool.E[i].amount_minor for i in items],
            p.amount_minor,
            tolerance=tolerance,
        )
        if picked is None:
            continue
        chosen = [items[k] for k in picked]
        names = ", ".join(pool.e_name(i) for i in chosen)
        pool.match(
            chosen,
            [j],
            tier=5,
            rule="group.references",
            score=80,
            reason=f"One payment of {money(p.amount_minor, p.currency)} names "
            f"{names}, and their sum "
            + (
                "equals it."
                if _exact(pool, chosen, [j])
                else "is within the fee tolerance."
            ),
            status=PROPOSED,
        )


def _item_named_by_several(pool: Pool) -> None:
    for i in sorted(pool.ref_hits_e):
        if not pool.e_open[i]:
            continue
        lines = _same_currency_open_lines(pool, i)
        if len(lines) < 2:
            continue
        e = pool.E[i]
        name = pool.e_name(i)
        if all(pool.P[j].amount_minor == e.amount_minor for j in lines):
            first, *again = lines
            pool.match(
                [i],
                [first],
                tier=5,
                rule="reference.first_of_several",
                score=75,
                reason=f"{len(lines)} lines name {name} with its full amount; the "
                f"first one pays it, the others are duplicate payments.",
                status=PROPOSED,
            )
            for j in again:
                pool.duplicate(i, j, f"{pool.p_name(j)} pays {name} a second time")
            continue
        tolerance = pool.fee_tolerance(e.amount_minor, e.currency)
        picked = unique_subset(
            [pool.P[j].amount_minor for j in lines],
            e.amount_minor,
            tolerance=tolerance,
        )
        if picked is not None:
            chosen = [lines[k] for k in picked]
            pool.match(
                [i],
                chosen,
                tier=5,
                rule="group.instalments",
                score=80,
                reason=f"{len(chosen)} payments name {name} and add up to "
                f"{money(sum(pool.P[j].amount_minor for j in chosen), e.currency)}"
                f" for {money(e.amount_minor, e.currency)} asked.",
                status=PROPOSED,
            )
            continue
        paid = sum(pool.P[j].amount_minor for j in lines)
        if abs(paid) < abs(e.amount_minor):
            _partial(pool, i, lines, rule="group.partial")


def _part_payments(pool: Pool) -> None:
    """One line names one item but pays part of it, or more than it."""
    for j in sorted(pool.ref_hits_p):
        if not pool.p_open[j]:
            continue
        items = _same_currency_open_items(pool, j)
        if len(items) != 1:
            continue
        i = items[0]
        if _same_currency_open_lines(pool, i) != [j]:
            continue
        e, p = pool.E[i], pool.P[j]
        if abs(p.amount_minor) < abs(e.amount_minor):
            _partial(pool, i, [j], rule="reference.partial")
        else:
            over = p.amount_minor - e.amount_minor
            pool.match(
                [i],
                [j],
                tier=5,
                rule="reference.overpaid",
                score=70,
                reason=f"Reference {pool.e_name(i)} is in the line's text, but it "
                f"pays {money(over, e.currency)} more than asked.",
                status=PROPOSED,
            )
            pool.find(
                "overpaid",
                [i],
                [j],
                abs(over),
                e.currency,
                detail=f"{pool.e_name(i)} asked {money(e.amount_minor, e.currency)}"
                f"; {money(p.amount_minor, p.currency)} arrived",
            )


def _partial(pool: Pool, i: int, lines: list[int], *, rule: str) -> None:
    e = pool.E[i]
    paid = sum(pool.P[j].amount_minor for j in lines)
    owed = e.amount_minor - paid
    pool.match(
        [i],
        lines,
        tier=5,
        rule=rule,
        score=70,
        reason=f"{len(lines)} payment{'s' if len(lines) > 1 else ''} naming "
        f"{pool.e_name(i)} add up to {money(paid, e.currency)}; "
        f"{money(owed, e.currency)} is still owed.",
        status=PROPOSED,
    )
    pool.find(
        "underpaid",
        [i],
        lines,
        abs(owed),
        e.currency,
        detail=f"{pool.e_name(i)}: {money(paid, e.currency)} of "
        f"{money(e.amount_minor, e.currency)} received",
    )


def _customer_sums(pool: Pool) -> None:
    """Without references: one customer's open items that one of their payments
    adds up to exactly, or their payments that add up to one item."""
    aliases = pool.settings.aliases
    E, P, e_open, p_open = pool.E, pool.P, pool.e_open, pool.p_open
    party, account_of = pool._party_key, pool._account_key
    # a customer is known by account number, then by name: the accounts are
    # settled first, each kind in key order
    items_by_account: dict[str, list[int]] = {}
    items_by_name: dict[str, list[int]] = {}
    for i in compress(range(len(E)), e_open):
        e = E[i]
        name = party(e.counterparty)
        if name:
            items_by_name.setdefault(name, []).append(i)
        account = account_of(e.counterparty_account)
        if account:
            items_by_account.setdefault(account, []).append(i)
    lines_by_account: dict[str, list[int]] = {}
    lines_by_name: dict[str, list[int]] = {}
    for j in compress(range(len(P)), p_open):
        p = P[j]
        payer = party(p.counterparty)
        name = aliases.get(payer, payer)
        if name:
            lines_by_name.setdefault(name, []).append(j)
        account = account_of(p.counterparty_account)
        if account:
            lines_by_account.setdefault(account, []).append(j)
    if not (items_by_name or items_by_account) or not (
        lines_by_name or lines_by_account
    ):
        return
    lo, hi, rejected = pool.lo, pool.hi, pool.rejected
    for lines_of, items_of in (
        (lines_by_account, items_by_account),
        (lines_by_name, items_by_name),
    ):
        for key in sorted(lines_of.keys() & items_of.keys()):
            _customer_sums_of(pool, lines_of[key], items_of[key], lo, hi, rejected)


def _customer_sums_of(
    pool: Pool,
    lines_of: list[int],
    items_of: list[int],
    lo: list[int],
    hi: list[int],
    rejected: frozenset[tuple[str, str]],
) -> None:
    E, P, e_open, p_open = pool.E, pool.P, pool.e_open, pool.p_open
    for j in lines_of:
        if not p_open[j]:
            continue
        p = P[j]
        currency, day, incoming = p.currency, p.day, p.amount_minor > 0
        # pool.in_window and pool.allowed, inline
        items = [
            i
            for i in items_of
            if e_open[i]
            and E[i].currency == currency
            and lo[i] <= day <= hi[i]
            and (E[i].amount_minor > 0) == incoming
            and (not rejected or (E[i].id, p.id) not in rejected)
        ]
        picked = unique_subset([E[i].amount_minor for i in items], p.amount_minor)
        if picked is None:
            continue
        chosen = [items[k] for k in picked]
        pool.match(
            chosen,
            [j],
            tier=5,
            rule="group.customer",
            score=70,
            reason=f"One payment from the customer adds up exactly to "
            f"{', '.join(pool.e_name(i) for i in chosen)}.",
            status=PROPOSED,
        )
    for i in items_of:
        if not e_open[i]:
            continue
        e = E[i]
        currency, low, high, incoming = e.currency, lo[i], hi[i], e.amount_minor > 0
        lines = sorted(
            (
                j
                for j in lines_of
                if p_open[j]
                and P[j].currency == currency
                and low <= P[j].day <= high
                and (P[j].amount_minor > 0) == incoming
                and (not rejected or (e.id, P[j].id) not in rejected)
            ),
            key=lambda j: (P[j].day, P[j].id),
        )
        picked = unique_subset([P[j].amount_minor for j in lines], e.amount_minor)
        if picked is None:
            continue
        chosen = [lines[k] for k in picked]
        pool.match(
            [i],
            chosen,
            tier=5,
            rule="group.customer_instalments",
            score=70,
            reason=f"{len(chosen)} payments from the customer add up exactly "
            f"to {pool.e_name(i)}.",
            status=PROPOSED,
        )


def _exact(pool: Pool, items: list[int], lines: list[int]) -> bool:
    return sum(pool.E[i].amount_minor for i in items) == sum(
        pool.P[j].amount_minor for j in lines
    )


# -- tier 6 -------------------------------------------------------------------------


class Rates:
    """The day's rate between two currencies, from the rates table: the newest
    rate on or before the day, at most `days_back` old; either direction."""

    def __init__(self, table: dict[tuple[int, str, str], str], days_back: int):
        self.days_back = days_back
        self.series: dict[tuple[str, str], tuple[list[int], list[Fraction]]] = {}
        pairs: dict[tuple[str, str], list[tuple[int, Fraction]]] = {}
        for (day, base, quote), text in table.items():
            rate = Fraction(text)
            if rate <= 0:
                continue
            pairs.setdefault((base, quote), []).append((day, rate))
            pairs.setdefault((quote, base), []).append((day, 1 / rate))
        for pair, points in pairs.items():
            points.sort()
            self.series[pair] = ([d for d, _ in points], [r for _, r in points])

    def on(self, day: int, base: str, quote: str) -> tuple[Fraction, int] | None:
        found = self.series.get((base, quote))
        if found is None:
            return None
        days, rates = found
        k = bisect_right(days, day) - 1
        if k < 0 or day - days[k] > self.days_back:
            return None
        return rates[k], days[k]


def cross_currency(pool: Pool) -> None:
    """Tier 6. A line in another currency stands for an item it names, or an
    item of its payer, when converted (at its own rate, else the day's rate) it
    is within the FX tolerance; a line that carries its original amount may also
    stand for the one item of exactly that amount. Candidates come from indexes,
    never from a scan of amounts."""
    E, P = pool.E, pool.P
    e_open, p_open = pool.e_open, pool.p_open
    exact: dict[tuple[str, int], list[int]] = {}
    of_party: dict[str, list[int]] = {}
    of_account: dict[str, list[int]] = {}
    for i, e in enumerate(E):
        # a KHQR code is paid through Bakong in its own currency
        if e_open[i] and e.kind != KHQR:
            exact.setdefault((e.currency, e.amount_minor), []).append(i)
            if e.counterparty:
                of_party.setdefault(pool.e_party(i), []).append(i)
            if e.counterparty_account:
                of_account.setdefault(pool.e_acct(i), []).append(i)
    if not exact:
        return
    currencies = sorted({currency for currency, _ in exact})
    rates = Rates(dict(pool.settings.rates), pool.tol.rate_days_back)
    claimed: dict[int, list[tuple[int, int, str, str]]] = {}
    for j, p in enumerate(P):
        if not p_open[j]:
            continue
        named = pool.ref_hits_p.get(j, ())
        name, alias, account, paid = pool.payer(j)
        payer_items = [
            *of_party.get(alias or name, ()),
            *of_account.get(account, ()),
            *(of_party.get(paid, ()) if paid else ()),
        ]
        for currency in currencies:
            if currency == p.currency:
                continue
            own = p.fx is not None and p.fx.original_currency == currency
            if not (named or payer_items or own):
                continue
            converted = _convert(p, currency, rates)
            if converted is None:
                continue
            target, rule, words = converted
            band = (
                pool.fee_tolerance(target, currency)
                if rule == "fx.line"
                else abs(target) * pool.tol.fx_bp // 10_000
            )
            near = (j, currency, target, band)
            chosen = None
            for found in (_fits(pool, named, near), _fits(pool, payer_items, near)):
                if len(found) == 1:
                    chosen = found[0]
                    break
            else:
                if own:
                    only = _fits(pool, exact.get((currency, target), ()), near)
                    if len(only) == 1:
                        chosen = only[0]
            if chosen is not None:
                claimed.setdefault(chosen, []).append((j, target, rule, words))
    for i in sorted(claimed):
        if len(claimed[i]) != 1:
            continue  # two lines convert to the same item: a person decides
        j, target, rule, words = claimed[i][0]
        if not (e_open[i] and p_open[j]):
            continue
        e = E[i]
        pool.match(
            [i],
            [j],
            tier=6,
            rule=rule,
            score=65,
            reason=f"{words} is {money(target, e.currency)}, within "
            f"{Decimal(pool.tol.fx_bp) / 100}% of {pool.e_name(i)}'s "
            f"{money(e.amount_minor, e.currency)}.",
            status=PROPOSED,
            difference=target - e.amount_minor,
        )


def _fits(pool: Pool, items, near: tuple[int, str, int, int]) -> list[int]:
    """The open items among `items` in `currency` within `band` of `target`
    whose window holds line j's day."""
    j, currency, target, band = near
    E, e_open = pool.E, pool.e_open
    return [
        i
        for i in dict.fromkeys(items)
        if e_open[i]
        and E[i].currency == currency
        and abs(E[i].amount_minor - target) <= band
        and pool.in_window(i, j)
        and pool.allowed(i, j)
    ]


def _convert(p: Posted, currency: str, rates: Rates) -> tuple[int, str, str] | None:
    """The line's amount in another currency: (amount, rule, how in words)."""
    sign = 1 if p.amount_minor > 0 else -1
    paid = money(p.amount_minor, p.currency)
    if p.fx is not None and p.fx.original_currency == currency:
        return (
            sign * abs(p.fx.original_minor),
            "fx.line",
            f"{paid} is a cross-border payment whose original amount",
        )
    found = rates.on(p.day, p.currency, currency)
    if found is None:
        return None
    rate, day = found
    value = Fraction(p.amount_minor) * rate
    shown = Decimal(rate.numerator) / Decimal(rate.denominator)
    return (
        round(value),
        "fx.day_rate",
        f"{paid} at the rate of {dt.date.fromordinal(day)} "
        f"({shown.quantize(Decimal('0.000001')).normalize()} {currency} per "
        f"{p.currency})",
    )
