"""The evidence chain of one record: the KHQR code, the Bakong checks and
transactions that paid it, the ledger line(s) that carry the money, the invoices
and refunds found through matches and the code's own refunds, and every match on
the way with its rule, reason, status and who decided it when.

It is read in rounds: each round loads the new records of each kind with one query
per kind and follows their links with one query per link, so the number of
queries depends on the chain's length (at most MAX_ROUNDS), never on its width.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import F, Prefetch, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from core.exceptions import InvalidInput, NotFound
from merchants.models import Merchant
from payments.models import BakongTransaction, PaymentCheck, PaymentRequest, Refund
from reconciliation.engine import reconcile_explaining
from reconciliation.models import (
    Invoice,
    Match,
    MatchItem,
    MatchStatus,
    ReconciliationException,
)
from reconciliation.services.loading import rows_load
from statements.models import Transaction

KINDS = ("khqr", "invoice", "refund", "line", "bakong")
MAX_ROUNDS = 6
MAX_PER_KIND = 200  # a static code paid ten thousand times shows the first ones
CHECKS_SHOWN = 10
MAX_EXCEPTION_IDS = 200
_PREFIX = {"khqr": "pr", "invoice": "inv", "refund": "rf", "line": "ln", "bakong": "bk"}


@dataclass
class EvidenceChain:
    kind: str
    pk: int
    codes: list[PaymentRequest] = field(default_factory=list)
    checks: dict[int, list[PaymentCheck]] = field(default_factory=dict)
    bakong: list[BakongTransaction] = field(default_factory=list)
    lines: list[Transaction] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)
    exceptions: list[ReconciliationException] = field(default_factory=list)
    truncated: bool = False

    @property
    def start(self) -> object:
        pool = {
            "khqr": self.codes,
            "invoice": self.invoices,
            "refund": self.refunds,
            "line": self.lines,
            "bakong": self.bakong,
        }[self.kind]
        return next(o for o in pool if o.pk == self.pk)

    def engine_ids(self) -> list[str]:
        return (
            [f"pr:{o.pk}" for o in self.codes]
            + [f"inv:{o.pk}" for o in self.invoices]
            + [f"rf:{o.pk}" for o in self.refunds]
            + [f"ln:{o.pk}" for o in self.lines]
            + [f"bk:{o.pk}" for o in self.bakong]
            + [f"ps:{o.pk}" for o in self.bakong if o.payment_request_id]
        )


def _load(merchant: Merchant, kind: str, pks: set[int]) -> list:
    if kind == "khqr":
        return list(
            PaymentRequest.objects.for_merchant(merchant)
            .filter(pk__in=pks)
            .select_related("account")
        )
    if kind == "invoice":
        return list(Invoice.objects.for_merchant(merchant).filter(pk__in=pks))
    if kind == "refund":
        return list(
            Refund.objects.for_merchant(merchant)
            .filter(pk__in=pks)
            .select_related("created_by")
        )
    if kind == "line":
        return list(
            Transaction.objects.for_merchant(merchant)
            .filter(pk__in=pks)
            .select_related("account", "push_event")
        )
    return list(BakongTransaction.objects.for_merchant(merchant).filter(pk__in=pks))


def _item_nodes(item: MatchItem) -> list[tuple[str, int]]:
    nodes = []
    if item.payment_request_id:
        nodes.append(("khqr", item.payment_request_id))
    if item.invoice_id:
        nodes.append(("invoice", item.invoice_id))
    if item.refund_id:
        nodes.append(("refund", item.refund_id))
    if item.transaction_id:
        nodes.append(("line", item.transaction_id))
    if item.bakong_transaction_id:
        nodes.append(("bakong", item.bakong_transaction_id))
    return nodes


_ITEM_FIELD = {
    "khqr": "payment_request_id__in",
    "invoice": "invoice_id__in",
    "refund": "refund_id__in",
    "line": "transaction_id__in",
    "bakong": "bakong_transaction_id__in",
}


def evidence_chain(*, merchant: Merchant, kind: str, pk: int) -> EvidenceChain:
    """Everything linked to one record, as far as the links go (bounded)."""
    kind = "khqr" if kind == "payment" else kind
    if kind not in KINDS:
        raise InvalidInput(f"kind: one of {', '.join(KINDS)}", field="kind")
    seen: dict[str, dict[int, object]] = {k: {} for k in KINDS}
    matches: dict[int, Match] = {}
    frontier: dict[str, set[int]] = {kind: {int(pk)}}
    truncated = False
    for _round in range(MAX_ROUNDS):
        frontier = {k: v for k, v in frontier.items() if v}
        if not frontier:
            break
        following: dict[str, set[int]] = defaultdict(set)
        for k, pks in frontier.items():
            room = MAX_PER_KIND - len(seen[k])
            if len(pks) > room:
                truncated = True
                pks = set(sorted(pks)[: max(room, 0)])
            for obj in _load(merchant, k, pks):
                seen[k][obj.pk] = obj
                if k == "line" and obj.bakong_transaction_id:
                    following["bakong"].add(obj.bakong_transaction_id)
                elif k in ("bakong", "refund") and obj.payment_request_id:
                    following["khqr"].add(obj.payment_request_id)
            frontier[k] = pks & set(seen[k])
        if not seen[kind]:
            raise NotFound(f"{kind} {pk}: not found")
        codes = frontier.get("khqr")
        if codes:
            following["bakong"].update(
                BakongTransaction.objects.for_merchant(merchant)
                .filter(payment_request_id__in=codes)
                .values_list("pk", flat=True)[: MAX_PER_KIND + 1]
            )
            following["refund"].update(
                Refund.objects.for_merchant(merchant)
                .filter(payment_request_id__in=codes)
                .values_list("pk", flat=True)
            )
        paid = frontier.get("bakong")
        if paid:
            following["line"].update(
                Transaction.objects.for_merchant(merchant)
                .filter(bakong_transaction_id__in=paid)
                .values_list("pk", flat=True)
            )
        held = functools.reduce(
            operator.or_,
            (Q(**{_ITEM_FIELD[k]: pks}) for k, pks in frontier.items() if pks),
            Q(pk__in=[]),
        )
        new_matches = set(
            MatchItem.objects.filter(held, match__merchant=merchant).values_list(
                "match_id", flat=True
            )
        ) - set(matches)
        if new_matches:
            for match in (
                Match.objects.for_merchant(merchant)
                .filter(pk__in=new_matches)
                .select_related("decided_by", "run")
                .prefetch_related(
                    Prefetch("items", queryset=MatchItem.objects.order_by("pk"))
                )
            ):
                matches[match.pk] = match
                if match.status == MatchStatus.REJECTED:
                    continue  # a pair a person said no to does not carry the chain
                for item in match.items.all():
                    for node_kind, node_pk in _item_nodes(item):
                        following[node_kind].add(node_pk)
        frontier = {k: set(v) - set(seen[k]) for k, v in following.items()}
    else:
        truncated = truncated or any(frontier.values())
    chain = EvidenceChain(
        kind=kind,
        pk=int(pk),
        codes=sorted(seen["khqr"].values(), key=lambda o: (o.created_at, o.pk)),
        bakong=sorted(
            seen["bakong"].values(),
            key=lambda o: (o.created_at_bakong or o.received_at, o.pk),
        ),
        lines=sorted(seen["line"].values(), key=lambda o: (o.posted_at, o.pk)),
        invoices=sorted(seen["invoice"].values(), key=lambda o: (o.issue_date, o.pk)),
        refunds=sorted(seen["refund"].values(), key=lambda o: (o.created_at, o.pk)),
        matches=sorted(matches.values(), key=lambda m: (m.day, m.pk)),
        truncated=truncated,
    )
    if chain.codes:
        chain.checks = _checks([c.pk for c in chain.codes])
    chain.exceptions = _exceptions(merchant, chain.engine_ids())
    return chain


def _checks(code_ids: list[int]) -> dict[int, list[PaymentCheck]]:
    """The latest checks of each code (one query, a window per code)."""
    latest = (
        PaymentCheck.objects.filter(payment_request_id__in=code_ids)
        .annotate(
            n=Window(
                RowNumber(),
                partition_by=[F("payment_request_id")],
                order_by=[F("checked_at").desc(), F("pk").desc()],
            )
        )
        .filter(n__lte=CHECKS_SHOWN)
        .order_by("payment_request_id", "-checked_at", "-pk")
    )
    out: dict[int, list[PaymentCheck]] = defaultdict(list)
    for check in latest:
        out[check.payment_request_id].append(check)
    return dict(out)


def _exceptions(merchant: Merchant, ids: list[str]) -> list[ReconciliationException]:
    wanted = set(ids[:MAX_EXCEPTION_IDS])
    if not wanted:
        return []
    keyed = functools.reduce(operator.or_, (Q(key__contains=i) for i in wanted))
    return [
        e
        for e in ReconciliationException.objects.for_merchant(merchant)
        .filter(keyed)
        .select_related("resolved_by")
        .order_by("day", "pk")
        if wanted & (set(e.expected_ids or []) | set(e.posted_ids or []))
    ]


def item_kind_of(prefix: str) -> str:
    """The chain's kind of an engine id prefix ("ln" -> "line")."""
    for kind, known in _PREFIX.items():
        if known == prefix:
            return kind
    if prefix == "ps":
        return "bakong"
    raise InvalidInput(f"id: unknown prefix {prefix!r}", field="id")


# --- "Why didn't this match?" -------------------------------------------------------

_ENGINE_NUMBER = re.compile(r"\s*\(#\d+\)")
_ENGINE_MATCH = re.compile(r"\bmatch #\d+")


def why_text(text: str) -> str:
    """An engine explanation without a run's own match numbers ("#3"), which
    name nothing a person can find (runs before the engine named the other
    side instead stored them)."""
    return _ENGINE_MATCH.sub("another match", _ENGINE_NUMBER.sub("", str(text)))


@dataclass
class WhyAnswer:
    """Why a row is open: its live match if it has one, else its nearest
    candidates with what kept each one out (from its exception, or from the
    engine run in memory over the row's month)."""

    kind: str
    pk: int
    engine_id: str
    day: dt.date
    holder: Match | None = None
    exception: ReconciliationException | None = None
    source: str = ""  # matched | exception | engine | matched_now | not_considered
    nearest: list[tuple[str, str]] = field(default_factory=list)  # (engine id, why)
    holders: dict[str, Match] = field(default_factory=dict)  # candidate id -> match
    seconds: float = 0.0

    @property
    def month(self) -> dt.date:
        return self.day.replace(day=1)


def _record_day(merchant: Merchant, kind: str, pk: int) -> tuple[str, dt.date]:
    """The row's engine id and the day that places it in a month (as the run
    loader places it)."""
    if kind == "line":
        found = Transaction.objects.for_merchant(merchant).filter(pk=pk)
        day = found.values_list("value_date", flat=True).first()
        return f"ln:{pk}", day
    if kind == "invoice":
        day = (
            Invoice.objects.for_merchant(merchant)
            .filter(pk=pk)
            .values_list("due_date", flat=True)
            .first()
        )
        return f"inv:{pk}", day
    if kind == "khqr":
        at = (
            PaymentRequest.objects.for_merchant(merchant)
            .filter(pk=pk)
            .values_list("created_at", flat=True)
            .first()
        )
        return f"pr:{pk}", timezone.localdate(at) if at else None
    if kind == "refund":
        at = (
            Refund.objects.for_merchant(merchant)
            .filter(pk=pk)
            .values_list("created_at", flat=True)
            .first()
        )
        return f"rf:{pk}", timezone.localdate(at) if at else None
    row = (
        BakongTransaction.objects.for_merchant(merchant)
        .filter(pk=pk)
        .values_list("created_at_bakong", "received_at")
        .first()
    )
    return f"bk:{pk}", timezone.localdate(row[0] or row[1]) if row else None


def live_holders(merchant: Merchant, ids: list[str]) -> dict[str, Match]:
    """For each engine id, the live (not rejected) match that holds it."""
    field_of = {"pr": "payment_request_id", "inv": "invoice_id", "rf": "refund_id"}
    field_of |= {"ln": "transaction_id", "bk": "bakong_transaction_id"}
    wanted: dict[str, set[int]] = defaultdict(set)
    for engine_id in ids:
        prefix, _, pk = engine_id.partition(":")
        if prefix == "ps":
            prefix = "bk"
        if prefix in field_of and pk.isdigit():
            wanted[prefix].add(int(pk))
    if not wanted:
        return {}
    held = functools.reduce(
        operator.or_,
        (Q(**{f"{field_of[p]}__in": pks}) for p, pks in wanted.items()),
    )
    items = (
        MatchItem.objects.filter(held, match__merchant=merchant)
        .exclude(match__status=MatchStatus.REJECTED)
        .select_related("match")
    )
    out: dict[str, Match] = {}
    for item in items:
        for prefix, name in field_of.items():
            value = getattr(item, name)
            if value is not None and value in wanted.get(prefix, ()):
                out[f"{prefix}:{value}"] = item.match
    return out


def why_unmatched(*, merchant: Merchant, kind: str, pk: int) -> WhyAnswer:
    """Why this row is not matched (or that it is, and by which match)."""
    kind = "khqr" if kind == "payment" else kind
    if kind not in KINDS:
        raise InvalidInput(f"kind: one of {', '.join(KINDS)}", field="kind")
    engine_id, day = _record_day(merchant, kind, int(pk))
    if day is None:
        raise NotFound(f"{kind} {pk}: not found")
    answer = WhyAnswer(kind=kind, pk=int(pk), engine_id=engine_id, day=day)
    answer.holder = live_holders(merchant, [engine_id]).get(engine_id)
    if answer.holder is not None:
        answer.source = "matched"
        return answer
    for exception in _exceptions(merchant, [engine_id]):
        if exception.status == "resolved" and answer.exception is not None:
            continue
        answer.exception = exception
        if (exception.explained or exception.nearest) and [engine_id] in (
            exception.expected_ids,
            exception.posted_ids,
        ):
            answer.source = "exception"
            answer.nearest = [
                (str(candidate), why_text(why)) for candidate, why in exception.nearest
            ]
    if not answer.source:
        _from_engine(merchant, answer)
    answer.holders = live_holders(merchant, [c for c, _ in answer.nearest])
    return answer


def _from_engine(merchant: Merchant, answer: WhyAnswer) -> None:
    """Run the engine over the row's month in memory and read its answer (only
    the asked row is explained: the month's other open rows are not read)."""
    start = time.monotonic()
    month = answer.month
    last = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    loaded = rows_load(
        merchant=merchant, date_from=month, date_to=last - dt.timedelta(days=1)
    )
    explainer = reconcile_explaining(loaded.expected, loaded.posted, loaded.settings)
    nearest = explainer.nearest(answer.engine_id)
    answer.seconds = time.monotonic() - start
    if nearest is not None:  # left open
        answer.source = "engine"
        answer.nearest = [(candidate, why_text(why)) for candidate, why in nearest]
        return
    for match in explainer.hand_over_matches():
        if answer.engine_id in match.expected_ids + match.posted_ids:
            answer.source = "matched_now"
            return
    answer.source = "not_considered"
