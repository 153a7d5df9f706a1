"""What accountants decide about the engine's work: confirm or reject a match (one
or many), undo a decision (unmatch, unreject), match rows by hand, resolve
exceptions. Every decision is one audit event (the reconciliation log).

Services are role-agnostic (the pages check roles) and merchant-scoped: an id of
another merchant is not found. A decision is claimed by a conditional update, so
two accountants deciding one match at once get one decision and one Conflict. A
signed-off month refuses every change to its matches until an owner reopens it.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from core.exceptions import Conflict, InvalidInput, NotFound, TonleError
from core.money import amount_to_wire, format_amount
from merchants.models import Merchant
from merchants.services import audit_event_record
from payments.models import BakongTransaction, PaymentRequest, Refund
from reconciliation.engine.refs import party_key
from reconciliation.models import (
    CounterpartyAlias,
    DifferenceKind,
    ExceptionReason,
    ExceptionStatus,
    Invoice,
    ItemKind,
    Match,
    MatchItem,
    MatchStatus,
    PeriodSignOff,
    ReconciliationException,
    Resolution,
)
from reconciliation.selectors import (
    ExceptionFilter,
    QueueFilter,
    exception_queue,
    match_queue,
)
from reconciliation.services.loading import engine_id
from statements.models import Transaction

OPEN_STATUSES = (MatchStatus.AUTO, MatchStatus.PROPOSED)
EXPECTED_KINDS = (ItemKind.KHQR, ItemKind.INVOICE, ItemKind.REFUND)
POSTED_KINDS = (ItemKind.LINE, ItemKind.BAKONG)
DIFFERENCE_KINDS = (DifferenceKind.FEE, DifferenceKind.WRITE_OFF, DifferenceKind.FX)
# tiers whose proof is the payer: confirming one teaches the engine the payer
ALIAS_TIERS = (4, 5)
# exceptions a row left open raises; matching the row by hand answers them
ROW_OPEN_REASONS = (ExceptionReason.UNMATCHED_LINE, ExceptionReason.UNPAID_ITEM)
BULK_MAX = 5000
RESOLUTIONS = (Resolution.MATCHED, Resolution.WRITTEN_OFF, Resolution.IGNORED)


@dataclass
class BulkOutcome:
    """What a bulk decision did: the ids decided, and each one left with why."""

    done: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "done": len(self.done),
            "skipped": len(self.skipped),
            "reasons": [{"id": pk, "reason": why} for pk, why in self.skipped],
        }


# --- shared checks -----------------------------------------------------------------


def month_label(day: dt.date) -> str:
    return f"{day:%B %Y}"


def signed_months(*, merchant: Merchant) -> set[dt.date]:
    return set(
        PeriodSignOff.objects.for_merchant(merchant)
        .filter(reopened_at__isnull=True)
        .values_list("month", flat=True)
    )


def _refuse_locked(day: dt.date, signed: set[dt.date], what: str) -> None:
    if day.replace(day=1) in signed:
        raise Conflict(
            f"{what}: {month_label(day)} is signed off, so its matches are locked; "
            "an owner reopens the month first"
        )


def _actor_name(actor: Any) -> str:
    if actor is not None and getattr(actor, "is_authenticated", False):
        return actor.get_username()
    return "system"


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _difference_checked(
    *, difference: Decimal, currency: str, difference_kind: str, note: str
) -> str:
    """The kind a difference is booked as; none when there is no difference."""
    if not difference:
        return ""
    if difference_kind not in DIFFERENCE_KINDS:
        raise InvalidInput(
            f"difference_kind: the match differs by "
            f"{format_amount(difference, currency, sign=True)}; book it as a bank "
            "fee, a write-off or an exchange difference",
            field="difference_kind",
        )
    if difference_kind == DifferenceKind.WRITE_OFF and not note.strip():
        raise InvalidInput(
            gettext_noop("note: a write-off needs a reason"), field="note"
        )  # an auditor asks why
    return difference_kind


def _items(match: Match) -> list[MatchItem]:
    return list(match.items.all())


def _engine_ids(items: Iterable[MatchItem]) -> list[str]:
    out = []
    for item in items:
        if item.kind == ItemKind.KHQR and item.bakong_transaction_id is not None:
            out.append(f"ps:{item.bakong_transaction_id}")
        else:
            out.append(
                engine_id(
                    item.kind,
                    item.payment_request_id,
                    item.invoice_id,
                    item.refund_id,
                    item.transaction_id,
                    item.bakong_transaction_id,
                )
            )
    return out


def _match_snapshot(match: Match, items: list[MatchItem]) -> dict[str, Any]:
    return {
        "tier": match.tier,
        "rule": match.rule,
        "status": match.status,
        "score": match.score,
        "day": str(match.day),
        "difference": amount_to_wire(match.difference, match.currency),
        "currency": match.currency,
        "difference_kind": match.difference_kind,
        "items": _engine_ids(items),
    }


def _match_load(merchant: Merchant, match_id: int) -> Match:
    match = (
        Match.objects.for_merchant(merchant)
        .select_related("decided_by")
        .prefetch_related("items__transaction", "items__invoice")
        .filter(pk=match_id)
        .first()
    )
    if match is None:
        raise NotFound(f"match {match_id}: not found")
    match.merchant = merchant  # the one already in hand: no query per decision
    return match


def _already(match_id: int, merchant: Merchant) -> Conflict:
    """The Conflict for a decision someone else made first."""
    now = (
        Match.objects.for_merchant(merchant)
        .select_related("decided_by")
        .filter(pk=match_id)
        .first()
    )
    if now is None:
        return Conflict(f"match {match_id} was unmatched meanwhile")
    who = now.decided_by.get_username() if now.decided_by else "someone"
    when = (
        f" at {timezone.localtime(now.decided_at):%Y-%m-%d %H:%M}"
        if now.decided_at
        else ""
    )
    return Conflict(f"match {match_id} was already {now.status} by {who}{when}")


def _claim(match: Match, *, status: str, actor: Any, **fields: Any) -> None:
    """Move the match from the state it was read in to `status`, or raise
    Conflict if someone moved it first."""
    now = timezone.now()
    claimed = Match.objects.filter(pk=match.pk, status=match.status).update(
        status=status, decided_by=_user(actor), decided_at=now, **fields
    )
    if not claimed:
        raise _already(match.pk, match.merchant)
    match.status, match.decided_by, match.decided_at = status, _user(actor), now
    for name, value in fields.items():
        setattr(match, name, value)


# --- confirm and reject ------------------------------------------------------------


def _alias_learn(
    *, merchant: Merchant, match: Match, items: list[MatchItem], actor: Any
) -> list[str]:
    """A payer name the bank wrote that is not the customer's: remembered as that
    customer, so the engine matches it automatically next time."""
    if match.tier not in ALIAS_TIERS:
        return []
    customers = {
        party_key(i.invoice.customer): i.invoice.customer
        for i in items
        if i.kind == ItemKind.INVOICE and i.invoice.customer
    }
    if len(customers) != 1:
        return []
    customer_key, customer = next(iter(customers.items()))
    learned = []
    for item in items:
        if item.kind != ItemKind.LINE or not item.transaction.counterparty_name:
            continue
        payer = item.transaction.counterparty_name
        payer_key = party_key(payer)
        if not payer_key or payer_key == customer_key:
            continue
        alias, created = CounterpartyAlias.objects.get_or_create(
            merchant=merchant,
            payer_key=payer_key,
            defaults={
                "customer_key": customer_key,
                "payer_name": payer[:200],
                "customer": customer[:200],
                "confirmed_by": _user(actor),
            },
        )
        if created:
            learned.append(f"{payer} = {customer}")
    return learned


def _confirm(
    match: Match,
    *,
    signed: set[dt.date],
    actor: Any,
    difference_kind: str,
    note: str,
    bulk: bool = False,
) -> None:
    merchant = match.merchant
    if match.status not in OPEN_STATUSES:
        raise _already(match.pk, merchant)
    _refuse_locked(match.day, signed, f"match {match.pk}")
    kind = _difference_checked(
        difference=match.difference,
        currency=match.currency,
        difference_kind=difference_kind,
        note=note,
    )
    was = match.status
    _claim(
        match,
        status=MatchStatus.CONFIRMED,
        actor=actor,
        difference_kind=kind,
        note=note.strip(),
    )
    items = _items(match)
    learned = _alias_learn(merchant=merchant, match=match, items=items, actor=actor)
    audit_event_record(
        merchant=merchant,
        action="reconciliation.match.confirmed",
        obj=match,
        actor=actor,
        details=_match_snapshot(match, items)
        | {"was": was, "note": note.strip(), "aliases": learned, "bulk": bulk},
    )


def _reject(
    match: Match, *, signed: set[dt.date], actor: Any, note: str, bulk: bool = False
) -> None:
    if match.status not in OPEN_STATUSES:
        if match.status == MatchStatus.CONFIRMED:
            raise Conflict(
                f"match {match.pk} is confirmed: unmatch it to take it apart"
            )
        raise _already(match.pk, match.merchant)
    _refuse_locked(match.day, signed, f"match {match.pk}")
    was = match.status
    _claim(match, status=MatchStatus.REJECTED, actor=actor, note=note.strip())
    audit_event_record(
        merchant=match.merchant,
        action="reconciliation.match.rejected",
        obj=match,
        actor=actor,
        details=_match_snapshot(match, _items(match))
        | {"was": was, "note": note.strip(), "bulk": bulk},
    )


@transaction.atomic
def match_confirm(
    *,
    merchant: Merchant,
    match_id: int,
    actor: Any,
    difference_kind: str = "",
    note: str = "",
) -> Match:
    """A proposed or automatic match becomes confirmed: the engine keeps it on
    every later run. A difference is booked as a fee, a write-off (with a reason)
    or an exchange difference."""
    match = _match_load(merchant, match_id)
    _confirm(
        match,
        signed=signed_months(merchant=merchant),
        actor=actor,
        difference_kind=difference_kind,
        note=note,
    )
    return match


@transaction.atomic
def match_reject(
    *, merchant: Merchant, match_id: int, actor: Any, note: str = ""
) -> Match:
    """A proposed or automatic match is rejected: its rows are open again and the
    engine never proposes that pair again."""
    match = _match_load(merchant, match_id)
    _reject(match, signed=signed_months(merchant=merchant), actor=actor, note=note)
    return match


def _bulk_targets(
    merchant: Merchant,
    match_ids: Sequence[int] | None,
    queue_filter: QueueFilter | None,
) -> tuple[list[Match], list[tuple[int, str]]]:
    if (match_ids is None) == (queue_filter is None):
        raise InvalidInput(
            gettext_noop("ids: give either match ids or a filter"), field="ids"
        )
    if queue_filter is not None:
        matches = list(
            match_queue(merchant=merchant, queue_filter=queue_filter)[: BULK_MAX + 1]
        )
        if len(matches) > BULK_MAX:
            raise InvalidInput(
                f"filter: more than {BULK_MAX} matches; narrow it", field="filter"
            )
        for match in matches:
            match.merchant = merchant
        return matches, []
    wanted = list(dict.fromkeys(int(pk) for pk in match_ids))
    if not wanted:
        raise InvalidInput(gettext_noop("ids: choose at least one match"), field="ids")
    if len(wanted) > BULK_MAX:
        raise InvalidInput(f"ids: at most {BULK_MAX} at a time", field="ids")
    found = {
        m.pk: m
        for m in Match.objects.for_merchant(merchant)
        .filter(pk__in=wanted)
        .prefetch_related("items__transaction", "items__invoice")
    }
    missing = [(pk, "not found") for pk in wanted if pk not in found]
    for match in found.values():
        match.merchant = merchant
    return [found[pk] for pk in wanted if pk in found], missing


def _bulk(
    merchant: Merchant, matches: list[Match], decide, outcome: BulkOutcome
) -> BulkOutcome:
    signed = signed_months(merchant=merchant)
    for match in matches:
        try:
            with transaction.atomic():  # one match's writes, or none of them
                decide(match, signed=signed)
        except TonleError as exc:
            outcome.skipped.append((match.pk, exc.message))
        else:
            outcome.done.append(match.pk)
    return outcome


@transaction.atomic
def matches_confirm(
    *,
    merchant: Merchant,
    actor: Any,
    match_ids: Sequence[int] | None = None,
    queue_filter: QueueFilter | None = None,
    difference_kind: str = "",
    note: str = "",
) -> BulkOutcome:
    """Confirm many matches (by id, or all that match a filter) in one
    transaction; each is checked as if confirmed alone, and one that cannot be
    (a difference without a kind, a locked month, decided meanwhile) is left
    with its reason."""
    matches, missing = _bulk_targets(merchant, match_ids, queue_filter)
    decide = functools.partial(
        _confirm, actor=actor, difference_kind=difference_kind, note=note, bulk=True
    )
    return _bulk(merchant, matches, decide, BulkOutcome(skipped=missing))


@transaction.atomic
def matches_reject(
    *,
    merchant: Merchant,
    actor: Any,
    match_ids: Sequence[int] | None = None,
    queue_filter: QueueFilter | None = None,
    note: str = "",
) -> BulkOutcome:
    """Reject many matches at once, each checked as if rejected alone."""
    matches, missing = _bulk_targets(merchant, match_ids, queue_filter)
    decide = functools.partial(_reject, actor=actor, note=note, bulk=True)
    return _bulk(merchant, matches, decide, BulkOutcome(skipped=missing))


# --- the undo ----------------------------------------------------------------------


def _exceptions_about(
    merchant: Merchant, ids: Iterable[str], **filters: Any
) -> list[ReconciliationException]:
    """Exceptions whose own ids include one of `ids` (the key narrows the
    search; the ids themselves decide)."""
    wanted = set(ids)
    if not wanted:
        return []
    keyed = functools.reduce(operator.or_, (Q(key__contains=i) for i in wanted))
    return [
        e
        for e in ReconciliationException.objects.for_merchant(merchant)
        .filter(keyed, **filters)
        .order_by("pk")
        if wanted & set(e.expected_ids or []) | wanted & set(e.posted_ids or [])
    ]


@transaction.atomic
def match_unmatch(
    *, merchant: Merchant, match_id: int, actor: Any, reason: str
) -> dict[str, Any]:
    """Undo a decision. A match (confirmed, automatic or proposed) is removed and
    its rows are open again; a rejected one is withdrawn back to proposed, so its
    pair may be matched again. Logged with what it undid."""
    if not reason.strip():
        raise InvalidInput(
            gettext_noop("reason: say why the match is undone"), field="reason"
        )
    match = _match_load(merchant, match_id)
    _refuse_locked(match.day, signed_months(merchant=merchant), f"match {match.pk}")
    items = _items(match)
    snapshot = _match_snapshot(match, items) | {
        "decided_by": match.decided_by.get_username() if match.decided_by else "",
        "decided_at": match.decided_at.isoformat() if match.decided_at else "",
        "reason": reason.strip(),
    }
    if match.status == MatchStatus.REJECTED:
        claimed = Match.objects.filter(pk=match.pk, status=match.status).update(
            status=MatchStatus.PROPOSED, decided_by=None, decided_at=None, note=""
        )
        if not claimed:
            raise _already(match.pk, merchant)
        audit_event_record(
            merchant=merchant,
            action="reconciliation.match.unrejected",
            obj=match,
            actor=actor,
            details=snapshot,
        )
        return snapshot | {"undone": "rejected", "match": match.pk}
    deleted, _ = Match.objects.filter(pk=match.pk, status=match.status).delete()
    if not deleted:
        raise _already(match.pk, merchant)
    # an exception a hand match answered is open again with its rows
    reopened = [
        e.pk
        for e in _exceptions_about(
            merchant,
            snapshot["items"],
            status=ExceptionStatus.RESOLVED,
            resolution=Resolution.MATCHED,
        )
    ]
    if reopened:
        ReconciliationException.objects.filter(pk__in=reopened).update(
            status=ExceptionStatus.OPEN,
            resolution="",
            resolution_note="",
            resolved_by=None,
            resolved_at=None,
        )
    match.pk = match_id  # Django clears it on delete; the log names the match
    audit_event_record(
        merchant=merchant,
        action="reconciliation.match.unmatched",
        obj=match,
        actor=actor,
        details=snapshot | {"reopened_exceptions": reopened},
    )
    return snapshot | {"undone": snapshot["status"], "match": match_id}


# --- matching by hand --------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    kind: str
    pk: int
    engine_id: str
    amount: Decimal  # signed as the engine sees it: a refund is money out
    currency: str
    day: dt.date
    label: str
    field: str  # the MatchItem field that points at it


def _ref_pairs(refs: Iterable[Sequence[Any]], side: str) -> list[tuple[str, int]]:
    out = []
    for ref in refs:
        try:
            kind, pk = ref
            out.append((str(kind), int(pk)))
        except (TypeError, ValueError):
            raise InvalidInput(
                f"{side}: {ref!r} is not a (kind, id) pair", field=side
            ) from None
    return list(dict.fromkeys(out))


def _rows_resolve(merchant: Merchant, refs: list[tuple[str, int]], side: str):
    """Each (kind, id) as a row of this merchant; another merchant's is not found."""
    allowed = EXPECTED_KINDS if side == "expected" else POSTED_KINDS
    by_kind: dict[str, list[int]] = {}
    for kind, pk in refs:
        if kind not in allowed:
            raise InvalidInput(
                f"{side}: {kind!r} is not one of {', '.join(allowed)}", field=side
            )
        by_kind.setdefault(kind, []).append(pk)
    zone = timezone.get_current_timezone()
    rows: list[_Row] = []
    for kind, pks in by_kind.items():
        if kind == ItemKind.INVOICE:
            for inv in Invoice.objects.for_merchant(merchant).filter(pk__in=pks):
                rows.append(
                    _Row(kind, inv.pk, f"inv:{inv.pk}", inv.amount, inv.currency,
                         inv.due_date, inv.invoice_number, "invoice")
                )  # fmt: skip
        elif kind == ItemKind.KHQR:
            for pr in PaymentRequest.objects.for_merchant(merchant).filter(pk__in=pks):
                if pr.amount is None:
                    raise InvalidInput(
                        f"{side}: code {pr.order_id or pr.md5} is static (no "
                        "amount); match its Bakong payment's line instead",
                        field=side,
                    )
                rows.append(
                    _Row(kind, pr.pk, f"pr:{pr.pk}", pr.amount, pr.currency,
                         timezone.localdate(pr.created_at, zone),
                         pr.order_id or pr.md5, "payment_request")
                )  # fmt: skip
        elif kind == ItemKind.REFUND:
            for rf in Refund.objects.for_merchant(merchant).filter(pk__in=pks):
                rows.append(
                    _Row(kind, rf.pk, f"rf:{rf.pk}", -rf.amount, rf.currency,
                         timezone.localdate(rf.created_at, zone),
                         f"refund {rf.bank_reference}", "refund")
                )  # fmt: skip
        elif kind == ItemKind.LINE:
            for ln in Transaction.objects.for_merchant(merchant).filter(pk__in=pks):
                rows.append(
                    _Row(kind, ln.pk, f"ln:{ln.pk}", ln.amount, ln.currency,
                         ln.value_date, ln.external_id, "transaction")
                )  # fmt: skip
        else:
            for bt in (
                BakongTransaction.objects.for_merchant(merchant)
                .filter(pk__in=pks)
                .select_related("ledger_line")
            ):
                line = getattr(bt, "ledger_line", None)
                if line is not None:
                    raise InvalidInput(
                        f"{side}: Bakong {bt.hash[:8]} is ledger line "
                        f"{line.external_id}: match the line",
                        field=side,
                    )
                at = bt.created_at_bakong or bt.received_at
                rows.append(
                    _Row(kind, bt.pk, f"bk:{bt.pk}", bt.amount, bt.currency,
                         timezone.localdate(at, zone), f"Bakong {bt.hash[:8]}",
                         "bakong_transaction")
                )  # fmt: skip
    found = {(r.kind, r.pk) for r in rows}
    for kind, pk in refs:
        if (kind, pk) not in found:
            raise NotFound(f"{side}: {kind} {pk} not found")
    return rows


def _holders(merchant: Merchant, rows: list[_Row]) -> dict[int, Match]:
    """The live matches (not rejected) that already hold one of the rows."""
    held = Q()
    for row in rows:
        held |= Q(kind=row.kind, **{f"{row.field}_id": row.pk})
    match_ids = set(
        MatchItem.objects.filter(held, match__merchant=merchant)
        .exclude(match__status=MatchStatus.REJECTED)
        .values_list("match_id", flat=True)
    )
    return {m.pk: m for m in Match.objects.filter(pk__in=match_ids)}


@transaction.atomic
def match_manual_create(
    *,
    merchant: Merchant,
    expected_refs: Iterable[Sequence[Any]],
    posted_refs: Iterable[Sequence[Any]],
    actor: Any,
    difference_kind: str = "",
    note: str = "",
) -> Match:
    """Match rows by hand (tier 0, rule "manual", confirmed). Refs are (kind, id):
    expected kinds khqr, invoice, refund; posted kinds line, bakong. A row held by
    a confirmed match is refused; one held only by a proposal replaces it. A
    difference needs a kind and a reason."""
    expected = _rows_resolve(
        merchant, _ref_pairs(expected_refs, "expected"), "expected"
    )
    posted = _rows_resolve(merchant, _ref_pairs(posted_refs, "posted"), "posted")
    if not expected:
        raise InvalidInput(
            gettext_noop("expected: pick at least one expected item"), field="expected"
        )
    if not posted:
        raise InvalidInput(
            gettext_noop("posted: pick at least one line or payment"), field="posted"
        )
    currencies = {r.currency for r in expected + posted}
    if len(currencies) != 1:
        raise InvalidInput(
            f"posted: the rows are in {', '.join(sorted(currencies))}; a hand match "
            "is in one currency",
            field="posted",
        )
    currency = currencies.pop()
    difference = sum(r.amount for r in posted) - sum(r.amount for r in expected)
    kind = _difference_checked(
        difference=difference, currency=currency, difference_kind=difference_kind,
        note=note,
    )  # fmt: skip
    if difference and not note.strip():
        raise InvalidInput(
            gettext_noop("note: say why the amounts differ"), field="note"
        )
    day = max(r.day for r in posted)
    signed = signed_months(merchant=merchant)
    _refuse_locked(day, signed, "this match")
    replaced = []
    for holder in _holders(merchant, expected + posted).values():
        if holder.status not in OPEN_STATUSES:
            raise Conflict(
                f"match {holder.pk} ({holder.status}) already holds one of these "
                "rows: unmatch it first"
            )
        _refuse_locked(holder.day, signed, f"match {holder.pk}")
        replaced.append(holder)
    for holder in replaced:
        gone = Match.objects.filter(pk=holder.pk, status=holder.status).delete()[0]
        if not gone:
            raise _already(holder.pk, merchant)
    now = timezone.now()
    who = _actor_name(actor)
    match = Match.objects.create(
        merchant=merchant,
        tier=0,
        rule="manual",
        score=100,
        reason=f"Matched by hand by {who}"
        + (f": {note.strip()}" if note.strip() else ""),
        status=MatchStatus.CONFIRMED,
        difference=difference,
        currency=currency,
        difference_kind=kind,
        note=note.strip(),
        day=day,
        decided_by=_user(actor),
        decided_at=now,
    )
    MatchItem.objects.bulk_create(
        [
            MatchItem(match=match, kind=r.kind, amount=r.amount, currency=r.currency,
                      **{f"{r.field}_id": r.pk})
            for r in expected + posted
        ]
    )  # fmt: skip
    ids = [r.engine_id for r in expected + posted]
    answered = [
        e
        for e in _exceptions_about(merchant, ids, status=ExceptionStatus.OPEN)
        if e.reason in ROW_OPEN_REASONS
    ]
    for exception in answered:
        exception.status = ExceptionStatus.RESOLVED
        exception.resolution = Resolution.MATCHED
        exception.resolution_note = f"matched by hand in match {match.pk}"
        exception.resolved_by = _user(actor)
        exception.resolved_at = now
    ReconciliationException.objects.bulk_update(
        answered,
        ["status", "resolution", "resolution_note", "resolved_by", "resolved_at"],
    )
    audit_event_record(
        merchant=merchant,
        action="reconciliation.match.manual",
        obj=match,
        actor=actor,
        details={
            "items": ids,
            "difference": amount_to_wire(difference, currency),
            "currency": currency,
            "difference_kind": kind,
            "note": note.strip(),
            "replaced": [_match_snapshot(h, []) | {"match": h.pk} for h in replaced],
            "resolved_exceptions": [e.pk for e in answered],
        },
    )
    return match


# --- exceptions --------------------------------------------------------------------


def _resolve(
    exception: ReconciliationException,
    *,
    actor: Any,
    resolution: str,
    note: str,
    bulk: bool = False,
) -> None:
    if exception.status == ExceptionStatus.RESOLVED:
        who = (
            exception.resolved_by.get_username() if exception.resolved_by else "the run"
        )
        raise Conflict(
            f"exception {exception.pk} is already resolved "
            f"({exception.get_resolution_display().lower()}) by {who}"
        )
    now = timezone.now()
    claimed = ReconciliationException.objects.filter(
        pk=exception.pk, status=exception.status
    ).update(
        status=ExceptionStatus.RESOLVED,
        resolution=resolution,
        resolution_note=note,
        resolved_by=_user(actor),
        resolved_at=now,
    )
    if not claimed:
        raise Conflict(f"exception {exception.pk} was resolved meanwhile")
    was = exception.status
    exception.status, exception.resolution = ExceptionStatus.RESOLVED, resolution
    exception.resolution_note, exception.resolved_at = note, now
    exception.resolved_by = _user(actor)
    audit_event_record(
        merchant=exception.merchant,
        action="reconciliation.exception.resolved",
        obj=exception,
        actor=actor,
        details={
            "reason": exception.reason,
            "resolution": resolution,
            "note": note,
            "was": was,
            "amount": amount_to_wire(exception.amount, exception.currency),
            "currency": exception.currency,
            "day": str(exception.day),
            "bulk": bulk,
        },
    )


def _resolution_checked(resolution: str, note: str) -> str:
    if resolution not in RESOLUTIONS:
        raise InvalidInput(
            gettext_noop("resolution: matched by hand, written off or ignored"),
            field="resolution",
        )
    if not note.strip():
        raise InvalidInput(
            gettext_noop("note: say why the exception is resolved"), field="note"
        )
    return note.strip()


@transaction.atomic
def exception_resolve(
    *,
    merchant: Merchant,
    exception_id: int,
    actor: Any,
    resolution: str,
    note: str,
) -> ReconciliationException:
    """An open (or carried) exception is resolved, keeping who, when and why."""
    note = _resolution_checked(resolution, note)
    exception = (
        ReconciliationException.objects.for_merchant(merchant)
        .select_related("resolved_by", "merchant")
        .filter(pk=exception_id)
        .first()
    )
    if exception is None:
        raise NotFound(f"exception {exception_id}: not found")
    _resolve(exception, actor=actor, resolution=resolution, note=note)
    return exception


@transaction.atomic
def exceptions_resolve(
    *,
    merchant: Merchant,
    actor: Any,
    resolution: str,
    note: str,
    exception_ids: Sequence[int] | None = None,
    exception_filter: ExceptionFilter | None = None,
) -> BulkOutcome:
    """Resolve many exceptions with one reason, each checked as if alone."""
    note = _resolution_checked(resolution, note)
    if (exception_ids is None) == (exception_filter is None):
        raise InvalidInput(
            gettext_noop("ids: give either exception ids or a filter"), field="ids"
        )
    found = ReconciliationException.objects.for_merchant(merchant).select_related(
        "resolved_by", "merchant"
    )
    outcome = BulkOutcome()
    if exception_filter is not None:
        targets = list(
            exception_queue(
                merchant=merchant,
                exception_filter=exception_filter,
                today=timezone.localdate(),
            ).select_related("merchant")[: BULK_MAX + 1]
        )
        if len(targets) > BULK_MAX:
            raise InvalidInput(
                f"filter: more than {BULK_MAX} exceptions; narrow it", field="filter"
            )
    else:
        wanted = list(dict.fromkeys(int(pk) for pk in exception_ids))
        if not wanted:
            raise InvalidInput(
                gettext_noop("ids: choose at least one exception"), field="ids"
            )
        by_id = {e.pk: e for e in found.filter(pk__in=wanted)}
        outcome.skipped += [(pk, "not found") for pk in wanted if pk not in by_id]
        targets = [by_id[pk] for pk in wanted if pk in by_id]
    for exception in targets:
        try:
            with transaction.atomic():
                _resolve(
                    exception, actor=actor, resolution=resolution, note=note, bulk=True
                )
        except TonleError as exc:
            outcome.skipped.append((exception.pk, exc.message))
        else:
            outcome.done.append(exception.pk)
    return outcome
