"""The engine on generated months of a realistic merchant, scored against the
answer key the generator wrote while making each event."""

from __future__ import annotations

import dataclasses

import pytest

from reconciliation.engine import reconcile, reconcile_explaining
from tests.reconciliation.scenario import engine_rows, month, score


@pytest.fixture(scope="module", params=[7, 19, 2026])
def scored(request):
    scenario = month(invoices=400, sales=800, seed=request.param)
    expected, posted = engine_rows(scenario)
    result = reconcile(expected, posted, scenario.settings())
    return scenario, result, score(scenario, result)


def test_automatic_matches_are_at_least_99_5_percent_right(scored):
    _, _, card = scored
    assert card.auto_pairs > 500
    assert card.precision >= 0.995, card


def test_at_least_97_percent_of_true_matches_are_found(scored):
    _, _, card = scored
    assert card.recall >= 0.97, card


def test_every_second_payment_is_a_duplicate_exception(scored):
    _, _, card = scored
    assert card.duplicates > 0
    assert card.duplicates_flagged == card.duplicates


@pytest.mark.parametrize(
    "reason",
    ["late_payment", "underpaid", "unpaid_item", "fx_mismatch", "unmatched_line"],
)
def test_the_exceptions_the_month_holds_are_found(scored, reason):
    scenario, result, _ = scored
    noted = scenario.expect_findings.get(reason, set())
    assert noted, f"the generator made no {reason} event"
    found = {
        row_id
        for f in result.findings
        if f.reason == reason
        for row_id in (*f.expected_ids, *f.posted_ids)
    }
    missing = noted - found
    # a typo can make a line name another item closely enough to be proposed
    assert len(missing) <= max(1, len(noted) * 3 // 100), sorted(missing)[:10]


def test_every_match_says_why(scored):
    _, result, _ = scored
    assert all(m.reason and m.rule and 0 < m.score <= 100 for m in result.matches)


def test_one_build_holds_one_object_per_token_and_per_day_on_both_sides():
    # given a month's records, made into rows as the services make them
    expected, posted = engine_rows(month(invoices=60, sales=120, seed=3))
    # then a token on both sides of a pair is one object ...
    first = {}
    for row in [*expected, *posted]:
        for token in row.identity:
            first.setdefault(token, token)
    on_both = [t for p in posted for t in p.identity if t in first]
    assert len(on_both) > 100
    assert all(first[t] is t for t in on_both)
    # ... and so is each day
    days = [d for e in expected for d in (e.date_from, e.date_to)]
    days += [p.day for p in posted]
    assert len({id(d) for d in days}) == len(set(days))


def test_the_explainer_answers_each_row_as_a_full_run_lists_it():
    # given a month reconciled whole, and again step by step (as a run's save
    # takes it: the findings, each row's nearest candidates, then the matches)
    scenario = month(invoices=300, sales=600, seed=5)
    expected, posted = engine_rows(scenario)
    settings = scenario.settings()
    full = reconcile(expected, posted, settings)
    explainer = reconcile_explaining(expected, posted, settings)
    # when every row is asked about, in an order of its own
    everything = {u.id: u.nearest for u in full.unmatched}
    answers = {
        row.id: explainer.nearest(row.id)
        for row in sorted([*posted, *expected], key=lambda r: r.id, reverse=True)
    }
    # then an open row gets the full run's nearest candidates, and a matched
    # row (or an id the run never saw) gets None
    assert any(everything.values())
    assert {i: a for i, a in answers.items() if a is not None} == everything
    assert len(everything) < len(answers)
    assert explainer.nearest("ln:no-such-line") is None
    # and the findings and, handed over last, the matches are the full run's
    assert explainer.findings == full.findings
    assert explainer.hand_over_matches() == full.matches


def test_codes_holding_only_the_tokens_the_lines_can_ask_for_reconcile_the_same():
    # given a month of which every other line was booked in a month not loaded
    # (as a run's look-back codes were paid by earlier months' lines)
    scenario = month(invoices=300, sales=600, seed=7)
    scenario = dataclasses.replace(scenario, lines=scenario.lines[::2])
    expected, posted = engine_rows(scenario)
    lean_expected, lean_posted = engine_rows(scenario, lean=True)
    # when both are reconciled
    settings = scenario.settings()
    full = reconcile(expected, posted, settings)
    lean = reconcile(lean_expected, lean_posted, settings)
    # then the lean codes hold fewer tokens, each its md5 first still, and the
    # result is the same
    held = sum(len(e.identity) for e in expected)
    assert sum(len(e.identity) for e in lean_expected) < held * 0.8
    assert [e.identity[:1] for e in lean_expected] == [e.identity[:1] for e in expected]
    assert lean == full
    rules = {m.rule for m in full.matches}
    assert {"identity.hash", "identity.short"} <= rules  # a printed hash, a short one
