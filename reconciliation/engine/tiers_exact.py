"""Tiers 1 to 4: one item against one line.

1. identity: a token (md5, Bakong hash, short hash with amount, trace) on both
   sides; a KHQR code's invoice joins its match (the code was issued for it);
2. reference: an item's reference in the line's text, same amount and currency,
   one candidate each way;
3. reference with a difference within the bank-fee tolerance;
4. same amount, currency and window, one candidate, and a payer known to be the
   customer (automatic only for a payer an accountant confirmed).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress

from reconciliation.engine.identity import hash_tokens, short_token
from reconciliation.engine.pool import Pool, money
from reconciliation.engine.refs import text_keys_many, typo_of
from reconciliation.engine.rows import AUTO, INVOICE, KHQR, PROPOSED

_TOKEN_WORDS = {
    "md5": "KHQR md5",
    "hash": "Bakong hash",
    "short": "Bakong short hash, amount and currency",
    "trace": "bank trace",
}
_RULE = {kind: f"identity.{kind}" for kind in _TOKEN_WORDS}


def identity(pool: Pool) -> None:
    """Tier 1. A line linked to its Bakong record carries the code's md5 first:
    one look-up finds its item. The other tokens (a hash, short hash or trace a
    bank printed on an unlinked line) are gathered from those lines, then looked
    for once in the items' tokens. This is most of a KHQR merchant's month, so
    the common case (one line, same amount) is written out inline."""
    E, P = pool.E, pool.P
    by_md5: dict[str, int] = {}
    for i, e in enumerate(E):
        if e.identity:
            by_md5.setdefault(e.identity[0], i)
    if not by_md5:
        return
    rejected = pool.rejected
    first: dict[int, tuple[int, str]] = {}  # item -> its first line
    more: dict[int, list[tuple[int, str]]] = {}  # item -> every line, if several
    waiting: dict[str, list[int]] = {}  # token -> lines whose md5 found nothing

    def hit(i: int, j: int, token: str) -> None:
        if rejected and (E[i].id, P[j].id) in rejected:
            return
        seen = first.setdefault(i, (j, token))
        if seen[0] != j:
            lines = more.setdefault(i, [seen])
            if lines[-1][0] != j:
                lines.append((j, token))

    md5_of = by_md5.get
    for j, p in enumerate(P):
        tokens = p.identity  # a line linked to its Bakong record says it all
        if tokens:
            i = md5_of(tokens[0])
            if i is not None:
                if i not in first and not rejected:
                    first[i] = (j, tokens[0])
                else:
                    hit(i, j, tokens[0])
                continue
        elif p.hash:
            tokens = hash_tokens(
                p.hash, amount_minor=p.amount_minor, currency=p.currency
            )
        else:
            continue
        for token in tokens:
            waiting.setdefault(token, []).append(j)
    if waiting:
        # the 8 characters of every short hash waiting: an item's hash is made
        # into a short token only when its head is one of them
        shorts = {t.split(":", 2)[1] for t in waiting if t.startswith("short:")}
        for i, e in enumerate(E):
            for token in e.identity:
                for j in waiting.get(token, ()):
                    hit(i, j, token)
                if (
                    shorts
                    and token.startswith("hash:")
                    and token[5:13].lower() in shorts
                ):
                    # a bank that printed 8 characters: with amount and currency
                    short = short_token(token[5:13], e.amount_minor, e.currency)
                    for j in waiting.get(short, ()):
                        hit(i, j, short)
    p_open, e_open = pool.p_open, pool.e_open
    p_match, e_match = pool.p_match, pool.e_match
    m_expected, m_posted, m_meta = pool.m_expected, pool.m_posted, pool.m_meta
    hi = pool.hi
    exact = {
        kind: (1, _RULE[kind], 100, _EXACT_REASON[kind], AUTO, 0) for kind in _RULE
    }
    for i, (j, token) in first.items():
        if i not in more:
            if not p_open[j]:
                continue
            e, p = E[i], P[j]
            if (
                p.amount_minor == e.amount_minor
                and p.currency == e.currency
                and p.day <= hi[i]
                and not e.flags
            ):
                number = len(m_meta)
                m_expected.append([i])
                m_posted.append([j])
                m_meta.append(exact[token.split(":", 1)[0]])
                e_open[i] = p_open[j] = 0
                e_match[i] = p_match[j] = number
            else:
                _identity_match(pool, i, j, token)
            continue
        lines = sorted({t[0]: t for t in more[i] if p_open[t[0]]}.values())
        if not lines:
            continue
        e = E[i]
        lines.sort(
            key=lambda t: (
                P[t[0]].currency != e.currency,
                P[t[0]].amount_minor != e.amount_minor,
                P[t[0]].day,
                P[t[0]].id,
            )
        )
        j, token = lines[0]
        _identity_match(pool, i, j, token)
        for extra, extra_token in lines[1:]:
            pool.duplicate(
                i,
                extra,
                f"{pool.p_name(extra)} pays {pool.e_name(i)} again: the same "
                f"{_TOKEN_WORDS[extra_token.split(':', 1)[0]]} as an earlier payment",
            )


_EXACT_REASON = {
    kind: f"The same {words} on both sides; amount and currency equal."
    for kind, words in _TOKEN_WORDS.items()
}


def _identity_match(pool: Pool, i: int, j: int, token: str) -> None:
    e, p = pool.E[i], pool.P[j]
    kind = token.split(":", 1)[0]
    words = _TOKEN_WORDS[kind]
    same_currency = p.currency == e.currency
    difference = p.amount_minor - e.amount_minor if same_currency else 0
    if same_currency and difference == 0:
        pool.match([i], [j], 1, _RULE[kind], 100, _EXACT_REASON[kind], AUTO, 0)
    else:
        if not same_currency:
            reason = (
                f"The same {words} on both sides, but paid in {p.currency} "
                f"({money(p.amount_minor, p.currency)}) for an item in {e.currency}."
            )
            pool.find(
                "currency_mismatch",
                [i],
                [j],
                p.amount_minor,
                p.currency,
                detail=f"{pool.e_name(i)} asked {money(e.amount_minor, e.currency)}"
                f"; {money(p.amount_minor, p.currency)} arrived",
            )
        else:
            short = difference < 0
            reason = (
                f"The same {words} on both sides, but "
                f"{money(difference, e.currency)} {'less' if short else 'more'} "
                f"than asked."
            )
            pool.find(
                "underpaid" if short else "overpaid",
                [i],
                [j],
                abs(difference),
                e.currency,
                detail=f"{pool.e_name(i)} asked {money(e.amount_minor, e.currency)}"
                f"; {money(p.amount_minor, p.currency)} arrived",
            )
        pool.match(
            [i],
            [j],
            tier=1,
            rule=f"identity.{kind}",
            score=90,
            reason=reason,
            status=PROPOSED,
            difference=difference,
        )
    # the code's own record knows the minute; a bank books a day later at most
    if e.kind == KHQR and ("late" in e.flags or p.day > pool.window(i)[1]):
        pool.find(
            "late_payment",
            [i],
            [j],
            p.amount_minor,
            p.currency,
            detail=f"{pool.e_name(i)} was paid after the code expired",
        )


def chain_invoices(pool: Pool) -> None:
    """An invoice whose number a paid KHQR code carries (its bill number or order
    id) joins that code's match: the code was the invoice's way to pay."""
    codes: dict[str, list[int]] = {}
    E, e_match, m_meta = pool.E, pool.e_match, pool.m_meta
    for i, e in enumerate(E):
        # a code with a bill number, paid (matched) by its identity
        if len(e.ref_keys) > 1 and e.kind == KHQR and e_match[i] >= 0:
            number = e_match[i]
            if m_meta[number][0] == 1:
                for key in pool.keys(i):
                    codes.setdefault(key, []).append(number)
    if not codes:
        return
    e_open = pool.e_open
    invoices = [i for i, e in enumerate(E) if e.kind == INVOICE and e_open[i]]
    keys_of, coded = pool.keys_of(invoices), codes.keys()
    for i in invoices:
        keys = keys_of[i]
        if coded.isdisjoint(keys):
            continue  # most invoices were not paid by a code
        hits = {n for key in keys for n in codes.get(key, ())}
        if len(hits) != 1:
            continue
        e = E[i]
        number = hits.pop()
        expected = pool.m_expected[number]
        code = expected[0]
        if pool.E[code].currency != e.currency or (
            pool.E[code].amount_minor != e.amount_minor
        ):
            continue
        if any(pool.E[k].kind == INVOICE for k in expected):
            continue
        expected.append(i)
        tier, rule, score, reason, status, difference = pool.m_meta[number]
        pool.m_meta[number] = (
            tier,
            rule,
            score,
            f"{reason} KHQR code {pool.e_name(code)} was issued for {e.label}.",
            status,
            difference,
        )
        pool.e_open[i] = 0
        pool.e_match[i] = number


def _index_add(index: dict, key: object, i: int) -> None:
    """Index item i under key: the item itself while the key names one, a list
    once it names several. Most keys name one item, and a list for each was
    most of an index (the reference tier's at a month: ~20 MB at its peak)."""
    named = index.get(key)
    if named is None:
        index[key] = i
    elif type(named) is int:
        index[key] = [named, i]
    else:
        named.append(i)


def _indexed(named: int | list[int] | None) -> Sequence[int]:
    """The items an index names under a key, in the order they were added."""
    if named is None:
        return ()
    return (named,) if type(named) is int else named


def reference(pool: Pool) -> None:
    """Collect every item reference found in an open line's text (kept for the
    group and cross-currency tiers and the explanations), then settle the
    one-to-one hits in tiers 2 and 3."""
    E, e_open = pool.E, pool.e_open
    items = list(compress(range(len(E)), e_open))
    keys_of = pool.keys_of(items)
    # by direction of the money: a line only ever names items of its own; a
    # key names one item or a list of them (see `_index_add`)
    by_key_in: dict[str, int | list[int]] = {}
    by_key_out: dict[str, int | list[int]] = {}
    for i in items:
        by_key = by_key_in if E[i].amount_minor > 0 else by_key_out
        for key in keys_of[i]:
            _index_add(by_key, key, i)
    # the index holds every key now; the later tiers ask a handful of items
    # their keys again (pool.keys makes them anew): kept, they were the largest
    # thing a run held past this tier (a month: 35 MB)
    keys_of.clear()
    del items
    if not by_key_in and not by_key_out:
        return
    hits_p, hits_e = pool.ref_hits_p, pool.ref_hits_e
    P, p_open, kept = pool.P, pool.p_open, pool._text_keys
    rejected = pool.rejected
    lines = [j for j in compress(range(len(P)), p_open) if P[j].ref_text]
    for start in range(0, len(lines), _CHUNK):
        chunk = lines[start : start + _CHUNK]
        texts = text_keys_many([P[j].ref_text for j in chunk])
        for j, keys in zip(chunk, texts, strict=True):
            p = P[j]
            by_key = by_key_in if p.amount_minor > 0 else by_key_out
            if by_key.keys().isdisjoint(keys):
                # most lines that name an item are settled by it and never
                # asked again: keeping every line's keys was the tier's
                # largest memory
                kept[j] = keys
                continue
            found: list[int] = []
            for key in keys:
                for i in _indexed(by_key.get(key)):
                    # pool.allowed, inline: not rejected (the direction is the
                    # index's)
                    if i not in found and (
                        not rejected or (E[i].id, p.id) not in rejected
                    ):
                        found.append(i)
            if found:
                hits_p[j] = found
                for i in found:
                    hits_e.setdefault(i, []).append(j)
            else:
                kept[j] = keys
    _one_to_one(pool)


_CHUNK = 4096  # lines whose texts are cleaned at once: fast, and little memory


def _one_to_one(pool: Pool) -> None:
    """Settle the pairs that name each other and are each other's only fit: the
    same amount (tier 2), then among what is still open a difference within the
    fee tolerance (tier 3). A line may name other items too, or an item be
    named by other lines, as long as those do not fit. One pass over the hits
    finds the fits of both: tier 3's are those of tier 2's pairs still open."""
    exact_of_line: dict[int, list[int]] = {}
    exact_of_item: dict[int, list[int]] = {}
    near: list[tuple[int, int]] = []  # (line, item) within the tolerance
    E, P, e_open, p_open = pool.E, pool.P, pool.e_open, pool.p_open
    fee_bp, floors = pool.tol.fee_bp, pool.tol.fee_floor_minor
    for j, items in pool.ref_hits_p.items():
        if not p_open[j]:
            continue
        p = P[j]
        currency, paid = p.currency, p.amount_minor
        for i in items:
            e = E[i]
            if not e_open[i] or e.currency != currency:
                continue
            asked = e.amount_minor
            gap = abs(paid - asked)
            if gap == 0:
                exact_of_line.setdefault(j, []).append(i)
                exact_of_item.setdefault(i, []).append(j)
                near.append((j, i))
            # pool.fee_tolerance, inline: this runs for every line that names one
            elif gap <= max(abs(asked) * fee_bp // 10_000, floors.get(currency, 0)):
                near.append((j, i))
    _settle(pool, exact_of_line, exact_of_item)
    fits_of_line: dict[int, list[int]] = {}
    fits_of_item: dict[int, list[int]] = {}
    for j, i in near:
        if p_open[j] and e_open[i]:
            fits_of_line.setdefault(j, []).append(i)
            fits_of_item.setdefault(i, []).append(j)
    _settle(pool, fits_of_line, fits_of_item)


def _settle(
    pool: Pool, fits_of_line: dict[int, list[int]], fits_of_item: dict[int, list[int]]
) -> None:
    for j in sorted(fits_of_line):
        items = fits_of_line[j]
        if len(items) == 1 and len(fits_of_item[items[0]]) == 1:
            _reference_match(pool, items[0], j)


def _reference_match(pool: Pool, i: int, j: int) -> None:
    e, p = pool.E[i], pool.P[j]
    difference = p.amount_minor - e.amount_minor
    inside = pool.in_window(i, j)
    name = pool.e_name(i)
    if difference == 0:
        when = "" if inside else " It falls outside the item's date window."
        pool.match(
            [i],
            [j],
            tier=2,
            rule="reference",
            score=95 if inside else 80,
            reason=f"Reference {name} is in the line's text; amount and currency "
            f"equal.{when}",
            status=AUTO if inside else PROPOSED,
        )
        return
    tolerance = pool.fee_tolerance(e.amount_minor, e.currency)
    if abs(difference) > tolerance:
        return  # a part payment or an overpayment: the group tier decides
    short = difference < 0
    pool.match(
        [i],
        [j],
        tier=3,
        rule="reference.fee" if short else "reference.over",
        score=85 if inside else 75,
        reason=f"Reference {name} is in the line's text; the line is "
        f"{money(difference, e.currency)} {'short' if short else 'over'}, within "
        f"the tolerance of {money(tolerance, e.currency)}"
        + (" (a bank fee)." if short else "."),
        status=PROPOSED,
    )


TYPO_CANDIDATES = 8  # more items of one amount in one window: a typo proves little
_RELATION_SCORE = {"alias": 90, "account": 85, "name": 80, "history": 75, "typo": 70}
_RELATION_WORDS = {
    "alias": "a payer accountants confirmed as this customer",
    "account": "the customer's own account",
    "name": "the customer's name",
    "history": "an account that paid this customer's other items",
    "typo": "a reference one slip away from the item's",
}


def amount_date(pool: Pool) -> None:
    """Tier 4: exactly one open item of the same amount and currency whose window
    holds the line's day, with a known payer (or a reference with a typo).

    Items are indexed by (currency, amount) and by (currency, amount, customer)
    and (currency, amount, customer account), so knowing the payer is a look-up,
    not a comparison with every item of that amount."""
    E, P, e_open, p_open = pool.E, pool.P, pool.e_open, pool.p_open
    party, account_of = pool._party_key, pool._account_key
    # a key names one item or a list of them (see `_index_add`)
    by_amount: dict[tuple[str, int], int | list[int]] = {}
    by_party: dict[tuple[str, int, str], int | list[int]] = {}
    by_account: dict[tuple[str, int, str], int | list[int]] = {}
    for i in compress(range(len(E)), e_open):
        e = E[i]
        # a code has no customer to know yet: only its own identity pays it
        if e.kind == KHQR:
            continue
        currency, asked = e.currency, e.amount_minor
        _index_add(by_amount, (currency, asked), i)
        if e.counterparty:
            _index_add(by_party, (currency, asked, party(e.counterparty)), i)
        if e.counterparty_account:
            key = (currency, asked, account_of(e.counterparty_account))
            _index_add(by_account, key, i)
    if not by_amount:
        return
    pool.learn_payers()
    chosen: dict[int, tuple[int, int, str]] = {}  # item -> (line, rank, relation)
    contested: set[int] = set()
    lo, hi, rejected = pool.lo, pool.hi, pool.rejected
    aliases, paid_customer = pool.settings.aliases, pool.paid_customer
    hits_p = pool.ref_hits_p  # a line that names no item needs no test of them
    # by (day, id): P is in id order, and the sort is stable
    order = list(compress(range(len(P)), p_open))
    order.sort(key=lambda j: P[j].day)
    for j in order:
        p = P[j]
        currency, paid_amount = p.currency, p.amount_minor
        amount = (currency, paid_amount)
        if amount not in by_amount:
            continue
        day = p.day
        # pool.payer, inline
        name = party(p.counterparty)
        alias = aliases.get(name, "") if name else ""
        account = account_of(p.counterparty_account)
        paid = paid_customer(account) if account else ""
        known: dict[int, tuple[int, str]] = {}
        for relation, found in (
            ("alias", by_party.get((currency, paid_amount, alias)) if alias else None),
            (
                "account",
                by_account.get((currency, paid_amount, account)) if account else None,
            ),
            ("name", by_party.get((currency, paid_amount, name)) if name else None),
            ("history", by_party.get((currency, paid_amount, paid)) if paid else None),
        ):
            for i in _indexed(found):
                if i not in known and e_open[i] and lo[i] <= day <= hi[i]:
                    known[i] = (_RELATION_SCORE[relation], relation)
        words = pool.line_numbers(j) if not known else None
        if words:
            items = [
                i
                for i in _indexed(by_amount[amount])
                if e_open[i] and lo[i] <= day <= hi[i]
            ]
            # a line naming an item it could pay is no slip for another one
            if (
                items
                and len(items) <= TYPO_CANDIDATES
                and (j not in hits_p or not _names_a_fit(pool, j))
            ):
                # no payer known: a reference one slip from one item's will do
                known = {
                    i: (_RELATION_SCORE["typo"], "typo")
                    for i in items
                    if _slip(pool.keys(i), words)
                }
        if rejected:
            known = {i: v for i, v in known.items() if (E[i].id, p.id) not in rejected}
        if not known or (j in hits_p and _named_exactly(pool, j)):
            continue  # a line naming an item of this amount is not a guess
        ranked = sorted(
            ((score, i, rel) for i, (score, rel) in known.items()),
            key=lambda t: (-t[0], t[1]),
        )
        if len(ranked) > 1 and ranked[0][0] == ranked[1][0]:
            continue  # two customers fit as well: a person decides
        score, i, relation = ranked[0]
        if i in chosen:
            contested.add(i)
            continue
        chosen[i] = (j, score, relation)
    for i, (j, score, relation) in sorted(chosen.items()):
        if i in contested or not pool.p_open[j]:
            continue
        e = pool.E[i]
        low, high = pool.window(i)
        pool.match(
            [i],
            [j],
            tier=4,
            rule=f"amount_date.{relation}",
            score=score,
            reason=f"Same amount and currency ({money(e.amount_minor, e.currency)}), "
            f"paid inside {pool.e_name(i)}'s window, from "
            f"{_RELATION_WORDS[relation]}.",
            status=AUTO if relation == "alias" else PROPOSED,
        )


def _names_a_fit(pool: Pool, j: int) -> bool:
    p = pool.P[j]
    return any(
        pool.E[i].currency == p.currency
        and abs(pool.E[i].amount_minor - p.amount_minor)
        <= pool.fee_tolerance(pool.E[i].amount_minor, p.currency)
        for i in pool.ref_hits_p.get(j, ())
    )


def _named_exactly(pool: Pool, j: int) -> bool:
    p = pool.P[j]
    return any(
        pool.E[i].amount_minor == p.amount_minor and pool.E[i].currency == p.currency
        for i in pool.ref_hits_p.get(j, ())
    )


def _slip(keys: tuple[str, ...], words: list[str]) -> bool:
    """Whether one of the line's numbered words is one slip from an item key.
    typo_of's own length tests come first, inline: at a million rows this is
    asked a million times, mostly of pairs whose lengths already say no."""
    for key in keys:
        size = len(key)
        if size < 5:  # typo_of: too short to tell a slip from another number
            continue
        for word in words:
            if -1 <= len(word) - size <= 1 and typo_of(word, key):
                return True
    return False
