"""A reconciliation run: load a period's rows, let the engine match them, save
what it decided in one transaction.

Re-running is safe: what people decided stays (confirmed matches, rejected pairs,
signed-off months, resolved exceptions); what the engine decided about this
period's rows before (automatic and proposed matches) is replaced; an open
exception the run no longer finds is cleared.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from core.exceptions import InvalidInput
from core.memory import large_blocks_returned
from core.money import from_minor, to_minor
from core.pipeline import collector_paused
from merchants.models import Merchant
from merchants.services import audit_event_record
from reconciliation.engine import (
    Explainer,
    Finding,
    Result,
    Tolerances,
    reconcile_explaining,
)
from reconciliation.models import (
    ExceptionReason,
    ExceptionStatus,
    Match,
    MatchItem,
    MatchStatus,
    PeriodSignOff,
    ReconciliationException,
    ReconciliationRun,
    Resolution,
    RunStatus,
)
from reconciliation.services.balance_gaps import balance_gaps
from reconciliation.services.loading import Loaded, row_day, rows_load
from reconciliation.services.rows_write import ids_allocate, rows_insert, rows_upsert

logger = logging.getLogger("tonle.reconciliation")

MAX_PERIOD_DAYS = 370
BATCH = 2000


@dataclass(frozen=True)
class RunOutcome:
    run: ReconciliationRun
    result: Result


# Python's cycle collector walks every live object on each full pass, and a run
# holds hundreds of thousands of rows (in no cycle): its passes were a quarter of
# a run's CPU.
@collector_paused()
def reconciliation_run_start(
    *,
    merchant: Merchant,
    date_from: dt.date,
    date_to: dt.date,
    actor: Any = None,
    trigger: str = "page",
    dry_run: bool = False,
    tolerances: Tolerances | None = None,
) -> RunOutcome:
    """Match the period and save the outcome (a dry run saves only the run and
    its counts). Nothing is half-written: the matches, their items and the
    exceptions of a run commit together or not at all."""
    if date_to < date_from:
        raise InvalidInput(f"to: {date_to} is before from: {date_from}", field="to")
    if (date_to - date_from).days > MAX_PERIOD_DAYS:
        raise InvalidInput(
            f"period: at most {MAX_PERIOD_DAYS} days at a time", field="to"
        )
    large_blocks_returned()
    started = time.monotonic()
    loaded = rows_load(
        merchant=merchant, date_from=date_from, date_to=date_to, tolerances=tolerances
    )
    load_done = time.monotonic()
    # a run stores the nearest candidates of its one-row exceptions: the
    # explainer words each as the save writes it, rather than all of them first
    explainer = reconcile_explaining(loaded.expected, loaded.posted, loaded.settings)
    match_done = time.monotonic()
    tolerances = loaded.settings.tolerances
    expected_count, posted_count = len(loaded.expected), len(loaded.posted)
    with transaction.atomic():
        # One merchant's runs write one after the other (two beats, or the night's
        # run and a person's): each replaces what the one before decided, as a
        # rerun does; side by side, both runs' matches stayed. NO KEY: rows that
        # merely point at the merchant are still written meanwhile.
        Merchant.objects.select_for_update(no_key=True).filter(pk=merchant.pk).first()
        run = ReconciliationRun.objects.create(
            merchant=merchant,
            period_from=date_from,
            period_to=date_to,
            parameters=_parameters(tolerances),
            dry_run=dry_run,
            trigger=trigger,
            started_by=actor if getattr(actor, "is_authenticated", False) else None,
            expected_count=expected_count,
            posted_count=posted_count,
        )
        if not dry_run:
            days = _finding_days(loaded, explainer.findings)
            _exceptions_save(merchant, run, days, explainer, date_from, date_to)
            del days
        # then the matches, made as the engine lets go of its working state
        # (the explanations read it); the rows go before they are written
        result = Result(
            matches=explainer.hand_over_matches(),
            findings=explainer.findings,
            unmatched=(),
        )
        del explainer
        facts = _facts(loaded, result)
        del loaded
        if not dry_run:
            _matches_replace(merchant, run, facts, result, date_from, date_to)
        del facts
        _foreign_keys_check()
        counts = _counts(result)
        finished = time.monotonic()
        ReconciliationRun.objects.filter(pk=run.pk).update(
            status=RunStatus.DONE,
            counts=counts,
            finished_at=timezone.now(),
            seconds=_seconds(finished - started),
            timings={
                "load": _seconds(load_done - started),
                "match": _seconds(match_done - load_done),
                "save": _seconds(finished - match_done),
            },
        )
        run.refresh_from_db()
        if not dry_run:
            audit_event_record(
                merchant=merchant,
                action="reconciliation.run",
                obj=run,
                actor=actor,
                actor_label="" if actor else trigger,
                details={"from": str(date_from), "to": str(date_to)} | counts,
            )
    logger.info(
        "reconciliation.run.done",
        extra={"run": run.pk, "merchant": merchant.pk, "seconds": str(run.seconds)},
    )
    return RunOutcome(run=run, result=result)


def _facts(loaded: Loaded, result: Result) -> dict[str, tuple[int, str, int]]:
    """Engine id -> (amount minor, currency, day ordinal) of each row a match
    names. A few tuples instead of the run's rows, which can then go before
    the matches are written."""
    named = {i for m in result.matches for i in (*m.expected_ids, *m.posted_ids)}
    return {
        row.id: (row.amount_minor, row.currency, row_day(row))
        for rows in (loaded.expected, loaded.posted)
        for row in rows
        if row.id in named
    }


def _foreign_keys_check() -> None:
    """PostgreSQL checks each written row's foreign keys (deferred, they wait for
    the commit): checked here, they count in the save they belong to rather
    than after the timings. (The keys of the matches, their items and the
    exceptions are triggers checking each statement's rows as one set,
    reconciliation migrations 0004 and 0008; what is left here is the run's and
    the people who decide, never set by a run.) Then deferred again (every
    deferrable constraint here is initially deferred), so a caller's own
    transaction goes on as it began."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _seconds(value: float) -> str:
    return str(round(Decimal(value), 3))


def _parameters(tolerances: Tolerances) -> dict[str, Any]:
    return {
        "fee_percent": str(Decimal(tolerances.fee_bp) / 100),
        "fee_floor": {
            c: str(from_minor(v)) for c, v in sorted(tolerances.fee_floor_minor.items())
        },
        "fx_percent": str(Decimal(tolerances.fx_bp) / 100),
        "days_after_due": tolerances.days_after_due,
        "khqr_days_after_expiry": tolerances.khqr_days_after_expiry,
    }


def _counts(result: Result) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for match in result.matches:
        counts[f"tier_{match.tier}"] += 1
        counts[match.status] += 1
    for finding in result.findings:
        counts[f"exception_{finding.reason}"] += 1
    counts["matched"] = len(result.matches)
    counts["exceptions"] = len(result.findings)
    return dict(sorted(counts.items()))


def _signed_months(merchant: Merchant) -> set[dt.date]:
    return set(
        PeriodSignOff.objects.for_merchant(merchant)
        .filter(reopened_at__isnull=True)
        .values_list("month", flat=True)
    )


def _matches_replace(
    merchant: Merchant,
    run: ReconciliationRun,
    facts: dict[str, tuple[int, str, int]],
    result: Result,
    date_from: dt.date,
    date_to: dt.date,
) -> None:
    """The engine's earlier automatic and proposed matches of this period go;
    this run's come in. Confirmed, rejected and signed-off ones stay (the engine
    was told about them and left their rows alone)."""
    stale = Match.objects.for_merchant(merchant).filter(
        status__in=(MatchStatus.AUTO, MatchStatus.PROPOSED),
        day__gte=date_from,
        day__lte=date_to,
    )
    for month in _signed_months(merchant):
        stale = stale.exclude(day__gte=month, day__lt=_month_after(month))
    # two statements, whatever the count: the items by a subquery, then the
    # matches (nothing else points at a match, so no collector is needed)
    MatchItem.objects.filter(match__in=stale.values("pk")).delete()
    stale._raw_delete(stale.db)
    if not result.matches:
        return
    static = _static_codes(
        [i for m in result.matches for i in m.expected_ids if i.startswith("ps:")]
    )
    ids = ids_allocate(Match, len(result.matches))
    created = connection.ops.adapt_datetimefield_value(timezone.now())
    day = _AdaptedDays()
    merchant_pk, run_pk = merchant.pk, run.pk  # not a property call per row
    rows_insert(
        Match,
        MATCH_COLUMNS,
        (
            (
                pk,
                merchant_pk,
                run_pk,
                m.tier,
                m.rule,
                m.score,
                m.reason,
                m.status,
                m.difference,
                m.currency,
                "",
                "",
                day[
                    facts[m.posted_ids[0]][2]
                    if len(m.posted_ids) == 1
                    else max(facts[p][2] for p in m.posted_ids)
                ],
                created,
            )
            for pk, m in zip(ids, result.matches, strict=True)
        ),
    )
    rows_insert(
        MatchItem,
        ITEM_COLUMNS,
        (
            _item_row(pk, engine_id, facts[engine_id], static)
            for pk, m in zip(ids, result.matches, strict=True)
            for engine_id in (*m.expected_ids, *m.posted_ids)
        ),
    )


class _AdaptedDays(dict):
    """Day ordinal -> the date as the database takes it: a run's matches fall on
    a few dozen days, each adapted once instead of once per match."""

    def __missing__(self, ordinal: int) -> Any:
        value = self[ordinal] = connection.ops.adapt_datefield_value(
            dt.date.fromordinal(ordinal)
        )
        return value


def _month_after(month: dt.date) -> dt.date:
    return (month.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


MATCH_COLUMNS = (
    "id",
    "merchant",
    "run",
    "tier",
    "rule",
    "score",
    "reason",
    "status",
    "difference",
    "currency",
    "difference_kind",
    "note",
    "day",
    "created_at",
)
ITEM_COLUMNS = (
    "match",
    "kind",
    "payment_request",
    "invoice",
    "refund",
    "transaction",
    "bakong_transaction",
    "amount",
    "currency",
)
EXCEPTION_COLUMNS = (
    "merchant",
    "run",
    "reason",
    "key",
    "amount",
    "currency",
    "detail",
    "day",
    "expected_ids",
    "posted_ids",
    "nearest",
    "explained",
    "status",
    "resolution",
    "resolution_note",
    "created_at",
    "seen_at",
)
_SLOT = {"pr": 2, "inv": 3, "rf": 4, "ln": 5, "bk": 6}
_KIND = {"pr": "khqr", "inv": "invoice", "rf": "refund", "ln": "line", "bk": "bakong"}


def _item_row(
    match_pk: int, engine_id: str, fact: tuple[int, str, int], static: dict[int, int]
) -> tuple:
    prefix, _, pk = engine_id.partition(":")
    row = [match_pk, "", None, None, None, None, None, fact[0], fact[1]]
    if prefix == "ps":  # a static code's payment: its code and the payment
        row[1], row[2], row[6] = "khqr", static[int(pk)], int(pk)
    else:
        row[1], row[_SLOT[prefix]] = _KIND[prefix], int(pk)
    return tuple(row)


def _static_codes(engine_ids: list[str]) -> dict[int, int]:
    """Bakong transaction -> the static code it paid."""
    from payments.models import BakongTransaction

    pks = [int(i.partition(":")[2]) for i in engine_ids]
    found: dict[int, int] = {}
    for start in range(0, len(pks), BATCH):
        found.update(
            BakongTransaction.objects.filter(
                pk__in=pks[start : start + BATCH]
            ).values_list("pk", "payment_request_id")
        )
    return found


def _key(reason: str, expected: tuple[str, ...], posted: tuple[str, ...]) -> str:
    key = f"{reason}:{','.join(expected)}|{','.join(posted)}"
    if len(key) <= 300:
        return key
    return f"{reason}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _found(
    findings: tuple[Finding, ...], days: list[dt.date]
) -> Iterator[tuple[str, tuple]]:
    """Each finding's key and row, one per key. The findings come sorted by
    reason and ids, which make the key: findings of one key are neighbours,
    and the last of them is the one written (as a dict by key kept it)."""
    last = len(findings) - 1
    for n, f in enumerate(findings):
        if n < last:
            after = findings[n + 1]
            if (after.reason, after.expected_ids, after.posted_ids) == (
                f.reason,
                f.expected_ids,
                f.posted_ids,
            ):
                continue
        ids = f.posted_ids or f.expected_ids
        yield (
            _key(f.reason, f.expected_ids, f.posted_ids),
            (
                f.reason,
                f.amount_minor,
                f.currency,
                f.detail,
                days[n],
                f.expected_ids,
                f.posted_ids,
                ids[0] if len(ids) == 1 else None,
            ),
        )


def _finding_days(loaded: Loaded, findings: tuple[Finding, ...]) -> list[dt.date]:
    """Each finding's day, the earliest of the rows it names (one date per day,
    not copies for each of tens of thousands)."""
    named = {i for f in findings for i in (f.posted_ids or f.expected_ids)}
    day_of = {
        row.id: row_day(row)
        for rows in (loaded.expected, loaded.posted)
        for row in rows
        if row.id in named
    }
    del named
    dates: dict[int, dt.date] = {}
    return [
        dates.get(day) or dates.setdefault(day, dt.date.fromordinal(day))
        for day in (
            min(day_of[i] for i in (f.posted_ids or f.expected_ids)) for f in findings
        )
    ]


def _exceptions_save(
    merchant: Merchant,
    run: ReconciliationRun,
    days: list[dt.date],
    explainer: Explainer,
    date_from: dt.date,
    date_to: dt.date,
) -> None:
    """Upsert this run's exceptions by their key; clear the open ones of the
    period it no longer finds. A resolved exception stays resolved."""
    # key -> the gap's row; no finding of the engine is a balance gap
    gaps = {
        _key(ExceptionReason.BALANCE_GAP, (), (gap.key,)): (
            ExceptionReason.BALANCE_GAP,
            to_minor(gap.difference),
            gap.currency,
            gap.detail,
            gap.day,
            (),
            (),
            None,
        )
        for gap in balance_gaps(merchant=merchant, date_from=date_from, date_to=date_to)
    }
    # (key, (reason, amount minor, currency, detail, day, expected, posted, the
    # one row named)), made as they are written: the engine's own tuples (JSON
    # writes them as the lists they are); a one-row finding stores that row's
    # nearest candidates, asked of the explainer as each row is written
    found = chain(_found(explainer.findings, days), gaps.items())
    created = connection.ops.adapt_datetimefield_value(timezone.now())
    adapt_day = connection.ops.adapt_datefield_value
    merchant_pk, run_pk = merchant.pk, run.pk
    # one upsert on (merchant, key): a new exception comes in open; an open one
    # found again takes this run and its new amount, detail and nearest; a
    # resolved one is left as a person resolved it
    rows_upsert(
        ReconciliationException,
        EXCEPTION_COLUMNS,
        (
            (
                merchant_pk,
                run_pk,
                reason,
                key,
                amount,
                currency,
                detail,
                adapt_day(day),
                json.dumps(list(expected)),
                json.dumps(list(posted)),
                _json(near or ()),
                near is not None,
                ExceptionStatus.OPEN,
                "",
                "",
                created,
                created,
            )
            for key, (
                reason,
                amount,
                currency,
                detail,
                day,
                expected,
                posted,
                alone,
            ) in found
            for near in [explainer.nearest(alone) if alone is not None else None]
        ),
        unique=("merchant", "key"),
        update=("run", "amount", "detail", "nearest", "explained"),
        only_if=("status", ExceptionStatus.OPEN),
    )
    (
        ReconciliationException.objects.for_merchant(merchant)
        .filter(status=ExceptionStatus.OPEN, day__gte=date_from, day__lte=date_to)
        .exclude(run=run)  # every exception found again now carries this run
        .update(
            status=ExceptionStatus.RESOLVED,
            resolution=Resolution.CLEARED,
            resolution_note=f"not found again by run {run.pk}",
            resolved_at=timezone.now(),
        )
    )
