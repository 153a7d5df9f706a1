"""The matching engine: expected items against posted money, in tiers, every match
with its rule, score and reason. Pure Python over plain rows; no Django.

    result = reconcile(expected_rows, posted_rows, Settings(...))

The same rows in any order give the same result. No item or line is used twice,
except inside one group match; a rejected pair is never proposed again; locked ids
(confirmed matches, signed-off months) are left alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.pipeline import collector_paused
from reconciliation.engine.explain import Explainer, closing_findings, unmatched
from reconciliation.engine.pool import Pool
from reconciliation.engine.rows import (
    AUTO,
    INVOICE,
    KHQR,
    PROPOSED,
    REFUND,
    Expected,
    Finding,
    FxLeg,
    Match,
    Posted,
    Result,
    Settings,
    Tolerances,
    Unmatched,
)
from reconciliation.engine.tiers_exact import (
    amount_date,
    chain_invoices,
    identity,
    reference,
)
from reconciliation.engine.tiers_sets import cross_currency, groups

__all__ = [
    "AUTO",
    "INVOICE",
    "KHQR",
    "PROPOSED",
    "REFUND",
    "Expected",
    "Explainer",
    "Finding",
    "FxLeg",
    "Match",
    "Posted",
    "Result",
    "Settings",
    "Tolerances",
    "Unmatched",
    "reconcile",
    "reconcile_explaining",
]

TIERS = (identity, chain_invoices, reference, amount_date, groups, cross_currency)


def reconcile(
    expected: Iterable[Expected],
    posted: Iterable[Posted],
    settings: Settings | None = None,
) -> Result:
    """Match what was expected against what was posted."""
    with collector_paused():
        pool = Pool(list(expected), list(posted), settings or Settings())
        findings = _run(pool)
        left_open = tuple(unmatched(pool))
        # last: it lets go of the pool's match columns that the explanations read
        return Result(
            matches=pool.hand_over_matches(), findings=findings, unmatched=left_open
        )


def reconcile_explaining(
    expected: Iterable[Expected],
    posted: Iterable[Posted],
    settings: Settings | None = None,
) -> Explainer:
    """As `reconcile`, step by step for a caller that writes as it goes: the
    explainer holds the findings, words an open row's nearest candidates when
    asked (so thousands of them are never held at once), and hands over the
    matches last, letting go of the run's working state as it makes them."""
    with collector_paused():
        pool = Pool(list(expected), list(posted), settings or Settings())
        findings = _run(pool)
    return Explainer(pool, findings)


def _run(pool: Pool) -> tuple[Finding, ...]:
    """The tiers, then the exceptions left; the findings in their order."""
    for tier in TIERS:
        tier(pool)
    pool.forget()
    closing_findings(pool)
    findings = tuple(
        sorted(pool.findings, key=lambda f: (f.reason, f.expected_ids, f.posted_ids))
    )
    pool.findings = []
    return findings
