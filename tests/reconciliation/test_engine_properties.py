"""Invariants of the engine on random months: nothing is used twice, decisions
people made hold on a re-run, a rejected pair never comes back, and a match's
difference is what its sides add up to."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciliation.engine import (
    INVOICE,
    KHQR,
    Expected,
    Posted,
    Settings,
    reconcile,
)

BASE = dt.date(2026, 11, 1).toordinal()
REFS = ["INV-1", "INV-2", "INV-3", "INV-10", "INV-11", "ORD-77", "PO 5"]
PEOPLE = ["Sok Dara", "Bopha Mart", "Keo Mom", ""]
AMOUNTS = [1_000, 2_500, 3_500, 10_000, 12_500]


@st.composite
def expected_rows(draw):
    count = draw(st.integers(0, 12))
    rows = []
    for n in range(count):
        kind = draw(st.sampled_from([INVOICE, INVOICE, KHQR]))
        start = BASE + draw(st.integers(0, 20))
        rows.append(
            Expected(
                id=f"{'inv' if kind == INVOICE else 'pr'}:{n}",
                kind=kind,
                ref_keys=tuple(draw(st.lists(st.sampled_from(REFS), max_size=2))),
                amount_minor=draw(st.sampled_from(AMOUNTS)),
                currency=draw(st.sampled_from(["USD", "USD", "KHR"])),
                date_from=start,
                date_to=start + draw(st.integers(0, 14)),
                counterparty=draw(st.sampled_from(PEOPLE)),
                identity=(f"md5:{n:032x}",) if kind == KHQR else (),
            )
        )
    return rows


@st.composite
def posted_rows(draw, expected):
    count = draw(st.integers(0, 14))
    rows = []
    for n in range(count):
        identity = ()
        codes = [e for e in expected if e.kind == KHQR]
        if codes and draw(st.booleans()):
            identity = draw(st.sampled_from(codes)).identity
        words = draw(st.lists(st.sampled_from([*REFS, "PAYMENT", "TRF"]), max_size=3))
        amount = draw(
            st.one_of(
                st.sampled_from(AMOUNTS),
                st.sampled_from([a + 50 for a in AMOUNTS]),
                st.sampled_from([a1 + a2 for a1 in AMOUNTS for a2 in AMOUNTS]),
                st.sampled_from([-a for a in AMOUNTS]),
            )
        )
        rows.append(
            Posted(
                id=f"ln:{n}",
                ref_text=" ".join(words),
                amount_minor=amount,
                currency=draw(st.sampled_from(["USD", "USD", "KHR"])),
                day=BASE + draw(st.integers(0, 40)),
                counterparty=draw(st.sampled_from(PEOPLE)),
                identity=identity,
            )
        )
    return rows


@st.composite
def months(draw):
    expected = draw(expected_rows())
    return expected, draw(posted_rows(expected))


EXAMPLES = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _pairs(result):
    return {
        (e, p) for m in result.matches for e in m.expected_ids for p in m.posted_ids
    }


@EXAMPLES
@given(months())
def test_no_item_or_line_is_used_twice(month):
    expected, posted = month
    result = reconcile(expected, posted)
    seen_e = [e for m in result.matches for e in m.expected_ids]
    seen_p = [p for m in result.matches for p in m.posted_ids]
    assert len(seen_e) == len(set(seen_e))
    assert len(seen_p) == len(set(seen_p))
    duplicates = {
        p
        for f in result.findings
        if f.reason == "duplicate_payment"
        for p in f.posted_ids
    }
    assert not duplicates & set(seen_p)
    open_ids = {u.id for u in result.unmatched}
    assert not open_ids & (set(seen_e) | set(seen_p) | duplicates)


@EXAMPLES
@given(months())
def test_every_row_ends_matched_repeated_or_open(month):
    expected, posted = month
    result = reconcile(expected, posted)
    accounted = (
        {i for m in result.matches for i in (*m.expected_ids, *m.posted_ids)}
        | {u.id for u in result.unmatched}
        | {
            p
            for f in result.findings
            if f.reason == "duplicate_payment"
            for p in f.posted_ids
        }
    )
    assert accounted == {r.id for r in (*expected, *posted)}


@EXAMPLES
@given(months())
def test_a_difference_is_what_the_sides_add_up_to(month):
    expected, posted = month
    amounts = {r.id: r.amount_minor for r in (*expected, *posted)}
    kinds = {e.id: e.kind for e in expected}
    currencies = {r.id: r.currency for r in (*expected, *posted)}
    for match in reconcile(expected, posted).matches:
        if {currencies[i] for i in (*match.expected_ids, *match.posted_ids)} != {
            match.currency
        }:
            continue  # another currency: the difference is in the item's
        claims = [e for e in match.expected_ids if kinds[e] != KHQR] or list(
            match.expected_ids[:1]
        )
        if len(match.expected_ids) == 1:
            claims = list(match.expected_ids)
        received = sum(amounts[p] for p in match.posted_ids)
        assert match.difference == received - sum(amounts[e] for e in claims)


@EXAMPLES
@given(months(), st.data())
def test_a_rerun_keeps_what_people_confirmed(month, data):
    # given a first run, and some of its matches confirmed by an accountant
    expected, posted = month
    first = reconcile(expected, posted)
    confirmed = [m for m in first.matches if data.draw(st.booleans())]
    locked = frozenset(i for m in confirmed for i in (*m.expected_ids, *m.posted_ids))
    # when the period runs again, told what is confirmed
    again = reconcile(expected, posted, Settings(locked=locked))
    # then nothing of it is touched, and what was not confirmed is decided again
    touched = {i for m in again.matches for i in (*m.expected_ids, *m.posted_ids)}
    assert not touched & locked
    assert not {u.id for u in again.unmatched} & locked


@EXAMPLES
@given(months(), st.data())
def test_a_rejected_pair_never_comes_back(month, data):
    expected, posted = month
    first = reconcile(expected, posted)
    rejected = set()
    for match in first.matches:
        if data.draw(st.booleans()):
            rejected |= {(e, p) for e in match.expected_ids for p in match.posted_ids}
    again = reconcile(expected, posted, Settings(rejected=frozenset(rejected)))
    assert not _pairs(again) & rejected


@EXAMPLES
@given(months())
def test_the_result_does_not_depend_on_the_order_of_the_rows(month):
    expected, posted = month
    assert reconcile(expected, posted) == reconcile(expected[::-1], posted[::-1])
