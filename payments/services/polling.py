"""Learning from Bakong when payment requests are paid: the polling schedule, one
polling round, one request's check, the sweeper and expiry.

The database is the schedule: a pending dynamic request is due when its
`next_check_at` has come. A poller claims what it checks by moving `next_check_at`
a lease ahead (SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite serialises
writers), so two pollers never check one request at the same moment, and a poller
that dies only delays the request by the lease. Every FOUND transaction goes to
`bakong_transaction_apply`, which settles the request with a conditional update.

Cadence: first check ~3 s after creation, every 5 s for two minutes, then every
15 s to ten minutes, then every 30 s, until `expires_at` + the grace period for
late payments (PAYMENT_EXPIRY_GRACE_SECONDS, default 300). A request past the grace
that was looked at after its expiry is marked `expired` by a conditional update; one
that was never looked at after expiry (the poller was down) gets one last look first.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.exceptions import TonleError, TransientError
from payments.bakong_access import BakongAccess, CircuitOpen, ProviderPaused
from payments.clients.bakong import MAX_BULK_MD5, BakongBulkUnsupported
from payments.clients.bakong_types import CheckResult, CheckStatus
from payments.models import PaymentCheck, PaymentRequest, PaymentStatus
from payments.services.settlement import bakong_transaction_apply

logger = logging.getLogger("tonle.bakong.poll")

FIRST_CHECK_DELAY = dt.timedelta(seconds=3)
# While a poller checks a request, nobody else does; if it dies, the request is
# due again after this.
CLAIM_LEASE = dt.timedelta(seconds=30)
# A due request the beat's poller has not reached this long after it was due is
# handed to a check_payment task by the sweeper.
SWEEP_LAG = dt.timedelta(seconds=30)
DEFAULT_LIMIT = 500
DEFAULT_CONCURRENCY = 5
# How long past the grace a request Bakong could not answer for keeps being asked.
LAST_LOOK_WINDOW = dt.timedelta(hours=1)
# Tolerance for a task that runs a moment before its request is due.
DUE_TOLERANCE = dt.timedelta(seconds=1)


def grace_period() -> dt.timedelta:
    """How long after expiry a late payment is still looked for."""
    return dt.timedelta(seconds=getattr(settings, "PAYMENT_EXPIRY_GRACE_SECONDS", 300))


def check_interval(*, age: dt.timedelta) -> dt.timedelta:
    """The gap before the next check of a request this old."""
    seconds = age.total_seconds()
    if seconds < 120:
        return dt.timedelta(seconds=5)
    if seconds < 600:
        return dt.timedelta(seconds=15)
    return dt.timedelta(seconds=30)


def next_check_at_for(
    *, created_at: dt.datetime, expires_at: dt.datetime | None, now: dt.datetime
) -> dt.datetime | None:
    """When to look next; None once the grace after expiry is over."""
    if expires_at is None:
        return None
    end = expires_at + grace_period()
    if now >= end:
        return None
    return min(now + check_interval(age=now - created_at), end)


@dataclass
class PollStats:
    """What one round (or one check) did."""

    checked: int = 0  # requests Bakong answered for
    paid: int = 0
    flagged: int = 0  # found, but another amount / currency / late
    expired: int = 0
    errors: int = 0  # checks that failed (timeouts, 5xx, 429, bad answers)
    deferred: int = 0  # not sent: inside a Retry-After pause or an open circuit
    calls: int = 0  # requests sent to Bakong
    seconds: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> dict[str, int]:
        """The poll_payments --json contract."""
        return {
            "checked": self.checked,
            "paid": self.paid,
            "expired": self.expired,
            "errors": self.errors,
        }


@dataclass(frozen=True)
class _Due:
    pk: int
    md5: str
    created_at: dt.datetime
    expires_at: dt.datetime | None


def _due_filter(now: dt.datetime) -> Q:
    cutoff = now - grace_period()
    looked_after_expiry = Q(last_checked_at__gte=F("expires_at"))
    return Q(
        status=PaymentStatus.PENDING,
        expires_at__isnull=False,
        next_check_at__lte=now,
    ) & (Q(expires_at__gte=cutoff) | ~looked_after_expiry | Q(last_checked_at=None))


def _claim(queryset, *, now: dt.datetime, limit: int) -> list[_Due]:
    """Take up to `limit` rows of `queryset` for this poller (a lease on
    next_check_at); rows another poller holds are skipped."""
    with transaction.atomic():
        rows = queryset.order_by("next_check_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True, of=("self",))
        picked = [
            _Due(pk, md5, created_at, expires_at)
            for pk, md5, created_at, expires_at in rows.values_list(
                "pk", "md5", "created_at", "expires_at"
            )[:limit]
        ]
        if picked:
            PaymentRequest.objects.filter(
                pk__in=[d.pk for d in picked], status=PaymentStatus.PENDING
            ).update(next_check_at=now + CLAIM_LEASE)
    return picked


def payment_request_ids_due(
    *, now: dt.datetime | None = None, limit: int = DEFAULT_LIMIT
) -> list[int]:
    """Ids of pending requests due for a check (read only, no claim)."""
    now = now or timezone.now()
    return list(
        PaymentRequest.objects.filter(_due_filter(now))
        .order_by("next_check_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def payment_requests_expire(*, now: dt.datetime | None = None) -> int:
    """Mark `expired` the pending requests whose grace after expiry is over and that
    Bakong answered for after expiry (or that are no longer polled, or that Bakong
    has not answered for an hour past the grace). Conditional: a request a poller
    settles at the same moment keeps its new status."""
    now = now or timezone.now()
    cutoff = now - grace_period()
    expired = (
        PaymentRequest.objects.filter(
            status=PaymentStatus.PENDING,
            expires_at__isnull=False,
            expires_at__lt=cutoff,
        )
        .filter(
            Q(last_checked_at__gte=F("expires_at"))
            | Q(next_check_at=None)
            # Bakong never answered for it: give up a while after the grace.
            | Q(expires_at__lt=cutoff - LAST_LOOK_WINDOW)
        )
        .update(status=PaymentStatus.EXPIRED, next_check_at=None)
    )
    if expired:
        logger.info("bakong.poll.expired", extra={"count": expired})
    return expired


def _chunks(items: Sequence[_Due], size: int) -> Iterable[list[_Due]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _in_thread(fn, *args):
    """Run fn in a pool thread and close that thread's DB connections after."""
    try:
        return fn(*args)
    finally:
        connections.close_all()


def _ask(
    access: BakongAccess, due: Sequence[_Due], *, concurrency: int, stats: PollStats
) -> dict[int, CheckResult | TonleError]:
    """One answer (or error) per request: bulk md5 checks of up to 50 where the
    provider offers them, else single checks, at most `concurrency` at a time."""
    answers: dict[int, CheckResult | TonleError] = {}
    remaining = list(due)
    lock = threading.Lock()

    def _sent() -> None:
        with lock:
            stats.calls += 1

    def bulk(batch: list[_Due]) -> list[tuple[int, CheckResult | TonleError]]:
        try:
            _sent()
            results = access.check_transaction_by_md5_list(md5s=[d.md5 for d in batch])
        except BakongBulkUnsupported:
            return single_each(batch)
        except TonleError as exc:
            return [(d.pk, exc) for d in batch]
        return [(d.pk, r) for d, r in zip(batch, results, strict=True)]

    def single(item: _Due) -> tuple[int, CheckResult | TonleError]:
        try:
            gate = _gate_error(access)
            if gate is not None:
                return item.pk, gate
            _sent()
            return item.pk, access.check_transaction_by_md5(md5=item.md5)
        except TonleError as exc:
            return item.pk, exc

    def single_each(batch: list[_Due]) -> list[tuple[int, CheckResult | TonleError]]:
        return [single(d) for d in batch]

    def run(work, units: list[Any]) -> None:
        if concurrency <= 1 or len(units) <= 1:
            outcomes = [work(unit) for unit in units]
        else:
            with ThreadPoolExecutor(
                max_workers=min(concurrency, len(units)),
                thread_name_prefix="bakong-poll",
            ) as pool:
                outcomes = list(pool.map(lambda unit: _in_thread(work, unit), units))
        for outcome in outcomes:
            answers.update(outcome if isinstance(outcome, list) else [outcome])

    if not remaining:
        return answers
    # The first call runs here, in this thread: a token renewal (a DB write) happens
    # on this connection, and a provider without bulk is found out once.
    if access.supports_bulk():
        first = remaining[:MAX_BULK_MD5]
        try:
            _sent()
            results = access.check_transaction_by_md5_list(md5s=[d.md5 for d in first])
        except BakongBulkUnsupported:
            pass  # check everything singly below
        except TonleError as exc:
            answers.update((d.pk, exc) for d in first)
            run(bulk, list(_chunks(remaining[MAX_BULK_MD5:], MAX_BULK_MD5)))
            return answers
        else:
            answers.update((d.pk, r) for d, r in zip(first, results, strict=True))
            run(bulk, list(_chunks(remaining[MAX_BULK_MD5:], MAX_BULK_MD5)))
            return answers
    answers.update([single(remaining[0])])
    run(single, remaining[1:])
    return answers


def _gate_error(access: BakongAccess) -> TonleError | None:
    """The pause / breaker error a call would raise now, without a network call."""
    try:
        access._gate()
    except TransientError as exc:
        return exc
    return None


def _record(
    due: Sequence[_Due],
    answers: dict[int, CheckResult | TonleError],
    *,
    stats: PollStats,
) -> None:
    """Apply what Bakong said: a PaymentCheck per answered request, FOUND
    transactions to bakong_transaction_apply, the next check scheduled."""
    now = timezone.now()
    checks: list[PaymentCheck] = []
    reschedule: dict[dt.datetime | None, list[int]] = {}
    postpone: dict[dt.datetime, list[int]] = {}  # not asked: no attempt counted
    # Asked, no answer: an attempt, but not a look (expiry waits for a real look).
    failed: dict[dt.datetime, list[int]] = {}
    looked: list[int] = []
    for item in due:
        answer = answers.get(item.pk)
        if answer is None:
            continue
        if isinstance(answer, ProviderPaused | CircuitOpen):
            stats.deferred += 1
            wait = dt.timedelta(seconds=max(1.0, answer.retry_after or 1.0))
            postpone.setdefault(now + wait, []).append(item.pk)
            continue
        next_at = next_check_at_for(
            created_at=item.created_at, expires_at=item.expires_at, now=now
        )
        if isinstance(answer, TonleError):
            stats.errors += 1
            _count(stats, "error")
            checks.append(
                PaymentCheck(
                    payment_request_id=item.pk,
                    outcome="error",
                    detail=f"{answer.code}: {answer.message}"[:300],
                )
            )
            retry_after = getattr(answer, "retry_after", None)
            if next_at is not None and retry_after:
                next_at = max(next_at, now + dt.timedelta(seconds=retry_after))
            if next_at is None and item.expires_at is not None:
                # Past the grace but Bakong could not say: look once more soon.
                next_at = now + check_interval(age=now - item.created_at)
            failed.setdefault(next_at, []).append(item.pk)
            continue
        stats.checked += 1
        if answer.status is CheckStatus.FOUND and answer.transaction is not None:
            info = answer.transaction
            if not info.md5:
                info = replace(info, md5=item.md5)
            try:
                settled = bakong_transaction_apply(
                    payment_request_id=item.pk, info=info
                )
            except TonleError as exc:
                stats.errors += 1
                _count(stats, "apply_error")
                logger.error(
                    "bakong.poll.apply_failed",
                    extra={"payment_request": item.pk, "error": exc.message},
                )
                checks.append(
                    PaymentCheck(
                        payment_request_id=item.pk,
                        outcome="error",
                        detail=f"found {info.hash[:8]}… but: {exc.message}"[:300],
                    )
                )
                reschedule.setdefault(next_at, []).append(item.pk)
                continue
            outcome = "paid" if settled.status == PaymentStatus.PAID else "found"
            if settled.flag:
                outcome = f"found_{settled.flag}"
                stats.flagged += 1
            if settled.status == PaymentStatus.PAID and not settled.flag:
                stats.paid += 1
                logger.info(
                    "bakong.poll.paid",
                    extra={"payment_request": item.pk, "hash": info.hash},
                )
            _count(stats, outcome)
            checks.append(
                PaymentCheck(
                    payment_request_id=item.pk,
                    outcome=outcome,
                    detail=f"{info.amount} {info.currency} hash {info.hash[:8]}",
                )
            )
            looked.append(item.pk)  # the apply decided the schedule
            continue
        _count(stats, answer.status.value)
        checks.append(
            PaymentCheck(
                payment_request_id=item.pk,
                outcome=answer.status.value,
                detail=answer.message[:300],
            )
        )
        if answer.status is CheckStatus.STATIC_QR:
            next_at = None
        reschedule.setdefault(next_at, []).append(item.pk)

    with transaction.atomic():
        PaymentCheck.objects.bulk_create(checks, batch_size=500)
        for next_at, pks in reschedule.items():
            PaymentRequest.objects.filter(
                pk__in=pks, status=PaymentStatus.PENDING
            ).update(
                next_check_at=next_at,
                last_checked_at=now,
                check_attempts=F("check_attempts") + 1,
            )
        for next_at, pks in failed.items():
            PaymentRequest.objects.filter(
                pk__in=pks, status=PaymentStatus.PENDING
            ).update(next_check_at=next_at, check_attempts=F("check_attempts") + 1)
        for next_at, pks in postpone.items():
            PaymentRequest.objects.filter(
                pk__in=pks, status=PaymentStatus.PENDING
            ).update(next_check_at=next_at)
        if looked:
            PaymentRequest.objects.filter(pk__in=looked).update(
                last_checked_at=now, check_attempts=F("check_attempts") + 1
            )


def _count(stats: PollStats, outcome: str) -> None:
    stats.outcomes[outcome] = stats.outcomes.get(outcome, 0) + 1


def payments_poll_due(
    *,
    now: dt.datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    concurrency: int | None = None,
    access: BakongAccess | None = None,
) -> PollStats:
    """One polling round: expire what is over, claim up to `limit` due requests,
    ask Bakong (bulk where offered, at most `concurrency` calls at once, nothing
    inside a Retry-After pause), record and apply the answers."""
    started = time.monotonic()
    now = now or timezone.now()
    if concurrency is None:
        concurrency = getattr(settings, "BAKONG_POLL_CONCURRENCY", DEFAULT_CONCURRENCY)
    stats = PollStats()
    stats.expired += payment_requests_expire(now=now)
    due = _claim(PaymentRequest.objects.filter(_due_filter(now)), now=now, limit=limit)
    if due:
        own = access is None
        access = access or BakongAccess.from_settings()
        try:
            answers = _ask(access, due, concurrency=concurrency, stats=stats)
        finally:
            if own:
                access.close()
        _record(due, answers, stats=stats)
        stats.expired += payment_requests_expire(now=timezone.now())
    stats.seconds = round(time.monotonic() - started, 4)
    if due:
        logger.info("bakong.poll.round", extra=stats.summary() | {"due": len(due)})
    return stats


def payment_request_check(
    *,
    payment_request_id: int,
    access: BakongAccess | None = None,
    force: bool = False,
) -> PollStats:
    """Check one request now if it is due (or `force`); a request that is not
    pending, not due or held by another poller is left alone. Raises
    TransientError (after recording it) when Bakong could not answer."""
    now = timezone.now()
    stats = PollStats()
    base = PaymentRequest.objects.filter(
        pk=payment_request_id, status=PaymentStatus.PENDING, expires_at__isnull=False
    )
    if not force:
        base = base.filter(next_check_at__lte=now + DUE_TOLERANCE)
    due = _claim(base, now=now, limit=1)
    if not due:
        logger.info(
            "bakong.poll.check_skipped", extra={"payment_request": payment_request_id}
        )
        stats.expired += payment_requests_expire(now=now)
        return stats
    own = access is None
    access = access or BakongAccess.from_settings()
    try:
        answers = _ask(access, due, concurrency=1, stats=stats)
    finally:
        if own:
            access.close()
    _record(due, answers, stats=stats)
    stats.expired += payment_requests_expire(now=timezone.now())
    answer = answers.get(payment_request_id)
    if isinstance(answer, TransientError):
        raise answer
    return stats


def payment_request_due_in(*, payment_request_id: int) -> float | None:
    """Seconds until this pending request's next check (0 if due; None if it is
    not polled any more)."""
    next_at = (
        PaymentRequest.objects.filter(
            pk=payment_request_id, status=PaymentStatus.PENDING
        )
        .values_list("next_check_at", flat=True)
        .first()
    )
    if next_at is None:
        return None
    return max(0.0, (next_at - timezone.now()).total_seconds())


def payment_request_schedule_first_check(*, payment_request_id: int) -> None:
    """Set a new dynamic request's first check ~3 s after creation and enqueue a
    check_payment task for then (after the current transaction commits)."""
    from core.tasks import enqueue_on_commit
    from payments.tasks import check_payment

    row = (
        PaymentRequest.objects.filter(
            pk=payment_request_id,
            status=PaymentStatus.PENDING,
            expires_at__isnull=False,
        )
        .values("created_at")
        .first()
    )
    if row is None:
        return
    first = row["created_at"] + FIRST_CHECK_DELAY
    PaymentRequest.objects.filter(
        pk=payment_request_id, status=PaymentStatus.PENDING
    ).update(next_check_at=first)
    countdown = max(0.0, (first - timezone.now()).total_seconds())
    enqueue_on_commit(check_payment, payment_request_id, countdown=countdown)


def payments_sweep(
    *, now: dt.datetime | None = None, limit: int = DEFAULT_LIMIT
) -> list[int]:
    """Re-enqueue a check_payment task for every request the database says is
    overdue (due for more than SWEEP_LAG), and expire what is over: a lost task or
    a stalled beat delays a payment but never loses it. Returns the ids enqueued."""
    from payments.tasks import check_payment

    now = now or timezone.now()
    payment_requests_expire(now=now)
    ids = payment_request_ids_due(now=now - SWEEP_LAG, limit=limit)
    for payment_request_id in ids:
        check_payment.delay(payment_request_id)
    if ids:
        logger.warning("bakong.poll.swept", extra={"count": len(ids)})
    return ids
