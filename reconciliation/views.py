"""Pages of the accountant's daily work: the review queue (confirm, reject, undo,
one or many, in place by keyboard or with plain forms), matching by hand, the
exceptions with their aging, "Why didn't this match?" and the evidence chain.

Accountants and owners act; auditors and viewers read (no write buttons, and the
server refuses). Actions answer JSON to the page's script (Accept:
application/json) and redirect back with a message otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext
from django.views.decorators.http import require_GET, require_POST

from core.error_words import error_words
from core.exceptions import InvalidInput, NotFound, TonleError
from merchants.permissions import READ_ROLES, WRITE_ROLES, has_role, member_required
from payments.models import BakongTransaction, PaymentRequest, Refund
from reconciliation import selectors
from reconciliation.display import (
    bakong_row,
    code_row,
    invoice_row,
    item_row,
    line_row,
    refund_row,
    rows_for_ids,
)
from reconciliation.forms import (
    BulkDecisionForm,
    BulkResolveForm,
    DecisionForm,
    ExceptionFilterForm,
    ManualMatchForm,
    ManualSearchForm,
    QueueFilterForm,
    ResolveForm,
)
from reconciliation.models import ExceptionStatus, Invoice, MatchItem, MatchStatus
from reconciliation.rule_words import rule_choices
from reconciliation.services.evidence import (
    evidence_chain,
    live_holders,
    why_text,
    why_unmatched,
)
from reconciliation.services.review import (
    exception_resolve,
    exceptions_resolve,
    match_confirm,
    match_manual_create,
    match_reject,
    match_unmatch,
    matches_confirm,
    matches_reject,
    signed_months,
)
from statements.models import Transaction

QUEUE_PAGE = 100
QUEUE_PAGE_MAX = 500
EXCEPTIONS_PAGE = 100
SEARCH_ROWS = 50
UNDO_REASON = "undone in the review queue"


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _failed(request: HttpRequest, exc: TonleError, back: str) -> HttpResponse:
    if isinstance(exc, NotFound) and not _wants_json(request):
        raise Http404(exc.message)  # another merchant's id: as if it did not exist
    if _wants_json(request):
        return JsonResponse(
            {"error": exc.code, "message": error_words(exc), "field": exc.field or ""},
            status=exc.http_status,
        )
    messages.error(request, error_words(exc))
    return redirect(back)


def _form_error(form) -> InvalidInput:
    for field, errors in form.errors.items():
        return InvalidInput(f"{field}: {' '.join(errors)}", field=field)
    return InvalidInput(gettext_noop("nothing was sent"))


# --- the review queue --------------------------------------------------------------


def _match_view(match, signed: set[dt.date]) -> dict[str, Any]:
    rows = [item_row(i) for i in match.items.all()]
    return {
        "match": match,
        "expected": [r for r in rows if r.is_expected],
        "posted": [r for r in rows if not r.is_expected],
        "locked": match.day.replace(day=1) in signed,
    }


@require_GET
@member_required(READ_ROLES)
def queue(request: HttpRequest) -> HttpResponse:
    """Proposals by score, both sides side by side; decide one or many."""
    form = QueueFilterForm(request.GET or None)
    queue_filter = form.queue_filter()
    try:
        size = min(max(int(request.GET.get("size", QUEUE_PAGE)), 1), QUEUE_PAGE_MAX)
    except ValueError:
        size = QUEUE_PAGE
    matches = selectors.match_queue(
        merchant=request.merchant, queue_filter=queue_filter
    )
    page = Paginator(matches, size).get_page(request.GET.get("page"))
    signed = signed_months(merchant=request.merchant)
    keep = request.GET.copy()
    keep.pop("page", None)
    return render(
        request,
        "reconciliation/queue.html",
        {
            "form": form,
            "filter": queue_filter,
            "status_label": MatchStatus(queue_filter.status).label,
            "page": page,
            "rows": [_match_view(m, signed) for m in page.object_list],
            "can_write": has_role(request, WRITE_ROLES),
            "kinds": DecisionForm.base_fields["difference_kind"].choices,
            "filter_query": keep.urlencode(),
            "decidable": queue_filter.status in selectors.QUEUE_STATUSES,
            "rules": rule_choices(),
        },
    )


@require_GET
@member_required(READ_ROLES)
def match_detail(request: HttpRequest, match_id: int) -> HttpResponse:
    match = selectors.match_get(merchant=request.merchant, match_id=match_id)
    signed = signed_months(merchant=request.merchant)
    items = MatchItem.objects.filter(match=match).select_related(
        *selectors.ITEM_RELATED, "transaction__account"
    )
    rows = [item_row(i) for i in items.order_by("pk")]
    return render(
        request,
        "reconciliation/match_detail.html",
        {
            "match": match,
            "expected": [r for r in rows if r.is_expected],
            "posted": [r for r in rows if not r.is_expected],
            "locked": match.day.replace(day=1) in signed,
            "can_write": has_role(request, WRITE_ROLES),
            "kinds": DecisionForm.base_fields["difference_kind"].choices,
            "log": selectors.match_log(merchant=request.merchant, match_id=match.pk),
        },
    )


def _decided(request: HttpRequest, match, verb: str, undo: str = "") -> HttpResponse:
    words = {
        "confirmed": _("Match %(pk)s confirmed."),
        "rejected": _("Match %(pk)s rejected."),
    }
    text = words[verb] % {"pk": match.pk}
    if _wants_json(request):
        return JsonResponse(
            {
                "id": match.pk,
                "status": match.status,
                "message": text,
                "undo_url": undo,
            }
        )
    messages.success(request, text)
    return redirect(_back(request, reverse("reconciliation:queue")))


@require_POST
@member_required(WRITE_ROLES)
def match_confirm_view(request: HttpRequest, match_id: int) -> HttpResponse:
    form = DecisionForm(request.POST)
    back = _back(request, reverse("reconciliation:queue"))
    try:
        if not form.is_valid():
            raise _form_error(form)
        match = match_confirm(
            merchant=request.merchant,
            match_id=match_id,
            actor=request.user,
            difference_kind=form.cleaned_data["difference_kind"],
            note=form.cleaned_data["note"],
        )
    except TonleError as exc:
        return _failed(request, exc, back)
    undo = reverse("reconciliation:match-unmatch", args=[match.pk])
    return _decided(request, match, "confirmed", undo)


@require_POST
@member_required(WRITE_ROLES)
def match_reject_view(request: HttpRequest, match_id: int) -> HttpResponse:
    back = _back(request, reverse("reconciliation:queue"))
    try:
        match = match_reject(
            merchant=request.merchant,
            match_id=match_id,
            actor=request.user,
            note=request.POST.get("note", "")[:2000],
        )
    except TonleError as exc:
        return _failed(request, exc, back)
    undo = reverse("reconciliation:match-unmatch", args=[match.pk])
    return _decided(request, match, "rejected", undo)


@require_POST
@member_required(WRITE_ROLES)
def match_unmatch_view(request: HttpRequest, match_id: int) -> HttpResponse:
    back = _back(request, reverse("reconciliation:queue"))
    try:
        undone = match_unmatch(
            merchant=request.merchant,
            match_id=match_id,
            actor=request.user,
            reason=request.POST.get("reason", "")[:2000] or UNDO_REASON,
        )
    except TonleError as exc:
        return _failed(request, exc, back)
    if undone["undone"] == MatchStatus.REJECTED:
        text = _("Match %(pk)s is no longer rejected: it is a proposal again.") % {
            "pk": match_id
        }
        status = MatchStatus.PROPOSED
    else:
        text = _("Match %(pk)s undone: its rows are open again.") % {"pk": match_id}
        status = "unmatched"
    if _wants_json(request):
        return JsonResponse({"id": match_id, "status": status, "message": text})
    messages.success(request, text)
    return redirect(back)


@require_POST
@member_required(WRITE_ROLES)
def match_bulk(request: HttpRequest) -> HttpResponse:
    """Confirm or reject the ticked matches, or all that match the filter."""
    form = BulkDecisionForm(request.POST)
    back = _back(request, reverse("reconciliation:queue"))
    try:
        if not form.is_valid():
            raise _form_error(form)
        data = form.cleaned_data
        if data["all"]:
            scope = {"queue_filter": QueueFilterForm(request.POST).queue_filter()}
        elif data["ids"]:
            scope = {"match_ids": data["ids"]}
        else:
            raise InvalidInput(
                gettext_noop("ids: tick at least one match"), field="ids"
            )
        if data["action"] == "confirm":
            outcome = matches_confirm(
                merchant=request.merchant,
                actor=request.user,
                difference_kind=data["difference_kind"],
                note=data["note"],
                **scope,
            )
        else:
            outcome = matches_reject(
                merchant=request.merchant,
                actor=request.user,
                note=data["note"],
                **scope,
            )
    except TonleError as exc:
        return _failed(request, exc, back)
    done = len(outcome.done)
    if data["action"] == "confirm":
        text = ngettext("%(n)s match confirmed.", "%(n)s matches confirmed.", done) % {
            "n": done
        }
    else:
        text = ngettext("%(n)s match rejected.", "%(n)s matches rejected.", done) % {
            "n": done
        }
    if outcome.skipped:
        text += (
            " "
            + _("%(n)s left:") % {"n": len(outcome.skipped)}
            + " "
            + "; ".join(f"#{pk} {error_words(why)}" for pk, why in outcome.skipped[:5])
        )
        if len(outcome.skipped) > 5:
            text += " …"
    if _wants_json(request):
        return JsonResponse(outcome.as_dict() | {"message": text})
    (messages.warning if outcome.skipped else messages.success)(request, text)
    return redirect(back)


# --- matching by hand --------------------------------------------------------------


def _search(merchant, data: dict[str, Any]) -> tuple[list, list]:
    """Candidate expected items and posted money for a manual match."""
    q, customer = data.get("q", "").strip(), data.get("customer", "").strip()
    amount, currency = data.get("amount"), data.get("currency", "")
    start, end = data.get("date_from"), data.get("date_to")
    zone = timezone.get_current_timezone()

    def near(queryset, field: str, signed: bool = False) -> list:
        """Rows whose size is within 10 % of the amount, the closest first."""
        if amount is None:
            return list(queryset.order_by("-pk")[:SEARCH_ROWS])
        low, high = amount * Decimal("0.9"), amount * Decimal("1.1")
        window = Q(**{f"{field}__gte": low, f"{field}__lte": high})
        if signed:
            window |= Q(**{f"{field}__gte": -high, f"{field}__lte": -low})
        found = list(queryset.filter(window).order_by("-pk")[: SEARCH_ROWS * 4])
        found.sort(key=lambda row: abs(abs(getattr(row, field)) - amount))
        return found[:SEARCH_ROWS]

    def day_range(queryset, field: str, instant: bool = False):
        """Whole local days start..end of a date field or an instant field."""
        if start:
            low = dt.datetime.combine(start, dt.time.min, zone) if instant else start
            queryset = queryset.filter(**{f"{field}__gte": low})
        if end:
            if instant:
                high = dt.datetime.combine(
                    end + dt.timedelta(days=1), dt.time.min, zone
                )
                queryset = queryset.filter(**{f"{field}__lt": high})
            else:
                queryset = queryset.filter(**{f"{field}__lte": end})
        return queryset

    invoices = Invoice.objects.for_merchant(merchant)
    codes = PaymentRequest.objects.for_merchant(merchant).filter(amount__isnull=False)
    refunds = Refund.objects.for_merchant(merchant)
    lines = Transaction.objects.for_merchant(merchant).select_related("account")
    payments = BakongTransaction.objects.for_merchant(merchant).filter(
        ledger_line__isnull=True
    )
    if q:
        invoices = invoices.filter(
            Q(invoice_number__icontains=q) | Q(reference__icontains=q)
        )
        codes = codes.filter(
            Q(order_id__icontains=q)
            | Q(bill_number__icontains=q)
            | Q(md5__startswith=q)
        )
        refunds = refunds.filter(bank_reference__icontains=q)
        lines = lines.filter(
            Q(reference__icontains=q)
            | Q(description__icontains=q)
            | Q(external_id__icontains=q)
        )
        payments = payments.filter(Q(hash__startswith=q) | Q(external_ref__icontains=q))
    if customer:
        invoices = invoices.filter(
            Q(customer__icontains=customer) | Q(customer_account__icontains=customer)
        )
        codes = codes.filter(payer_account__icontains=customer)
        refunds = refunds.none()
        lines = lines.filter(
            Q(counterparty_name__icontains=customer)
            | Q(counterparty_account__icontains=customer)
        )
        payments = payments.filter(from_account_id__icontains=customer)
    if currency:
        invoices, codes, refunds = (
            invoices.filter(currency=currency),
            codes.filter(currency=currency),
            refunds.filter(currency=currency),
        )
        lines = lines.filter(currency=currency)
        payments = payments.filter(currency=currency)
    invoices = near(day_range(invoices, "due_date"), "amount")
    codes = near(day_range(codes, "created_at", instant=True), "amount")
    refunds = near(day_range(refunds, "created_at", instant=True), "amount")
    lines = near(day_range(lines, "value_date"), "amount", signed=True)
    payments = near(day_range(payments, "received_at", instant=True), "amount")
    expected = [invoice_row(i) for i in invoices]
    expected += [code_row(c) for c in codes]
    expected += [refund_row(r) for r in refunds]
    posted = [line_row(t) for t in lines]
    posted += [bakong_row(b) for b in payments]
    return expected, posted


def _with_holders(merchant, rows) -> list[dict[str, Any]]:
    holders = live_holders(merchant, [r.engine_id for r in rows])
    return [{"row": r, "holder": holders.get(r.engine_id)} for r in rows]


@member_required(READ_ROLES)
def manual(request: HttpRequest) -> HttpResponse:
    """Search candidates by amount, reference, customer and date; pick one or
    several on each side; state the difference's kind and reason."""
    merchant = request.merchant
    if request.method == "POST":
        chosen = ManualMatchForm(request.POST)
        if not has_role(request, WRITE_ROLES):
            return render(request, "403.html", status=403)
        try:
            if not chosen.is_valid():
                raise _form_error(chosen)
            match = match_manual_create(
                merchant=merchant,
                expected_refs=chosen.refs("expected"),
                posted_refs=chosen.refs("posted"),
                actor=request.user,
                difference_kind=chosen.cleaned_data["difference_kind"],
                note=chosen.cleaned_data["note"],
            )
        except TonleError as exc:
            why = error_words(exc)
            messages.error(request, _("Not matched: %(why)s") % {"why": why})
        else:
            messages.success(
                request, _("Matched by hand: match %(pk)s.") % {"pk": match.pk}
            )
            return redirect("reconciliation:match-detail", match_id=match.pk)
    search = ManualSearchForm(request.GET or None)
    data = search.cleaned_data if search.is_bound and search.is_valid() else {}
    picked_ids = [
        v.replace("invoice:", "inv:", 1)
        .replace("khqr:", "pr:", 1)
        .replace("refund:", "rf:", 1)
        .replace("line:", "ln:", 1)
        .replace("bakong:", "bk:", 1)
        for v in (request.POST or request.GET).getlist("expected")
        + (request.POST or request.GET).getlist("posted")
    ]
    picked = list(rows_for_ids(merchant=merchant, ids=picked_ids).values())
    expected, posted = _search(merchant, data) if data else ([], [])
    chosen_refs = {r.ref for r in picked}
    expected = [r for r in expected if r.ref not in chosen_refs]
    posted = [r for r in posted if r.ref not in chosen_refs]
    total = defaultdict(Decimal)
    for row in picked:
        total[row.currency] += row.amount if not row.is_expected else -row.amount
    return render(
        request,
        "reconciliation/manual.html",
        {
            "search": search,
            "searched": bool(data),
            "picked": _with_holders(merchant, picked),
            "expected": _with_holders(merchant, expected),
            "posted": _with_holders(merchant, posted),
            "difference": sorted(total.items()),
            "kinds": DecisionForm.base_fields["difference_kind"].choices,
            "can_write": has_role(request, WRITE_ROLES),
            "note": (request.POST or request.GET).get("note", ""),
        },
    )


# --- exceptions --------------------------------------------------------------------


@require_GET
@member_required(READ_ROLES)
def exception_list(request: HttpRequest) -> HttpResponse:
    """Exceptions by reason, with aging buckets and totals per currency."""
    merchant = request.merchant
    today = timezone.localdate()
    form = ExceptionFilterForm(request.GET or None)
    exception_filter = form.exception_filter()
    found = selectors.exception_queue(
        merchant=merchant, exception_filter=exception_filter, today=today
    )
    page = Paginator(found, EXCEPTIONS_PAGE).get_page(request.GET.get("page"))
    totals = list(
        found.order_by().values("currency").annotate(n=Count("pk"), total=Sum("amount"))
    )
    aging = selectors.exception_aging(
        merchant=merchant,
        exception_filter=exception_filter,
        today=today,
    )
    keep = request.GET.copy()
    keep.pop("page", None)
    nearest_ids = [c for e in page.object_list for c, _why in (e.nearest or [])[:3]]
    own_ids = [i for e in page.object_list for i in e.expected_ids + e.posted_ids]
    rows = rows_for_ids(merchant=merchant, ids=nearest_ids + own_ids)
    return render(
        request,
        "reconciliation/exceptions.html",
        {
            "form": form,
            "filter": exception_filter,
            "status_label": (
                ExceptionStatus(exception_filter.status).label
                if exception_filter.status
                else ""
            ),
            "page": page,
            "items": [_exception_view(e, rows, today) for e in page.object_list],
            "totals": totals,
            "aging": aging,
            "can_write": has_role(request, WRITE_ROLES),
            "filter_query": keep.urlencode(),
            "resolve_form": ResolveForm(),
        },
    )


def _exception_view(exception, rows, today: dt.date) -> dict[str, Any]:
    return {
        "exception": exception,
        "age": (today - exception.day).days,
        "own": [
            rows[i] for i in exception.expected_ids + exception.posted_ids if i in rows
        ],
        "nearest": [
            {"id": c, "row": rows.get(c), "why": why_text(why)}
            for c, why in (exception.nearest or [])[:3]
        ],
    }


@member_required(READ_ROLES)
def exception_detail(request: HttpRequest, exception_id: int) -> HttpResponse:
    merchant = request.merchant
    exception = selectors.exception_get(merchant=merchant, exception_id=exception_id)
    form = ResolveForm(request.POST or None)
    if request.method == "POST":
        if not has_role(request, WRITE_ROLES):
            return render(request, "403.html", status=403)
        try:
            if not form.is_valid():
                raise _form_error(form)
            exception_resolve(
                merchant=merchant,
                exception_id=exception.pk,
                actor=request.user,
                resolution=form.cleaned_data["resolution"],
                note=form.cleaned_data["note"],
            )
        except TonleError as exc:
            why = error_words(exc)
            messages.error(request, _("Not resolved: %(why)s") % {"why": why})
        else:
            messages.success(
                request, _("Exception %(pk)s resolved.") % {"pk": exception.pk}
            )
            return redirect(_back(request, reverse("reconciliation:exceptions")))
    ids = exception.expected_ids + exception.posted_ids
    nearest = [c for c, _why in exception.nearest or []]
    rows = rows_for_ids(merchant=merchant, ids=ids + nearest)
    return render(
        request,
        "reconciliation/exception_detail.html",
        {
            "view": _exception_view(exception, rows, timezone.localdate()),
            "exception": exception,
            "form": form,
            "can_write": has_role(request, WRITE_ROLES),
            "manual_query": "&".join(
                f"{'expected' if rows[i].is_expected else 'posted'}={rows[i].ref}"
                for i in ids
                if i in rows
            ),
        },
    )


@require_POST
@member_required(WRITE_ROLES)
def exception_bulk(request: HttpRequest) -> HttpResponse:
    form = BulkResolveForm(request.POST)
    back = _back(request, reverse("reconciliation:exceptions"))
    try:
        if not form.is_valid():
            raise _form_error(form)
        data = form.cleaned_data
        if data["all"]:
            scope = {
                "exception_filter": ExceptionFilterForm(request.POST).exception_filter()
            }
        elif data["ids"]:
            scope = {"exception_ids": data["ids"]}
        else:
            raise InvalidInput(
                gettext_noop("ids: tick at least one exception"), field="ids"
            )
        outcome = exceptions_resolve(
            merchant=request.merchant,
            actor=request.user,
            resolution=data["resolution"],
            note=data["note"],
            **scope,
        )
    except TonleError as exc:
        return _failed(request, exc, back)
    done = len(outcome.done)
    text = ngettext("%(n)s exception resolved.", "%(n)s exceptions resolved.", done) % {
        "n": done
    }
    if outcome.skipped:
        text += (
            " "
            + _("%(n)s left:") % {"n": len(outcome.skipped)}
            + " "
            + "; ".join(f"#{pk} {error_words(why)}" for pk, why in outcome.skipped[:5])
        )
    if _wants_json(request):
        return JsonResponse(outcome.as_dict() | {"message": text})
    (messages.warning if outcome.skipped else messages.success)(request, text)
    return redirect(back)


# --- why, and the evidence chain ---------------------------------------------------


@require_GET
@member_required(READ_ROLES)
def why(request: HttpRequest, kind: str, item_id: int) -> HttpResponse:
    """Why didn't this match: its match if it has one, else its nearest
    candidates and what kept each one out."""
    try:
        answer = why_unmatched(merchant=request.merchant, kind=kind, pk=item_id)
    except TonleError as exc:
        raise Http404(exc.message) from None
    rows = rows_for_ids(
        merchant=request.merchant,
        ids=[answer.engine_id, *(c for c, _why in answer.nearest)],
    )
    row = rows.get(answer.engine_id)
    if row is None:
        raise Http404("not found")
    return render(
        request,
        "reconciliation/why.html",
        {
            "answer": answer,
            "row": row,
            "nearest": [
                {
                    "id": c,
                    "row": rows.get(c),
                    "why": why_text,
                    "holder": answer.holders.get(c),
                }
                for c, why_text in answer.nearest
            ],
            "can_write": has_role(request, WRITE_ROLES),
        },
    )


@require_GET
@member_required(READ_ROLES)
def evidence(request: HttpRequest, kind: str, item_id: int) -> HttpResponse:
    """A payment request's, invoice's, line's or Bakong payment's whole chain."""
    try:
        chain = evidence_chain(merchant=request.merchant, kind=kind, pk=item_id)
    except TonleError as exc:
        raise Http404(exc.message) from None
    for code in chain.codes:
        code.recent_checks = chain.checks.get(code.pk, [])
    return render(
        request,
        "reconciliation/evidence.html",
        {
            "chain": chain,
            "start": chain.start,
            "kind": chain.kind,
            "matches": [
                {"match": m, "rows": [_item_label(i, chain) for i in m.items.all()]}
                for m in chain.matches
            ],
        },
    )


def _item_label(item: MatchItem, chain) -> str:
    """A match item named from the chain's own records (no query)."""
    pools = {
        "invoice": ({o.pk: o for o in chain.invoices}, item.invoice_id),
        "khqr": ({o.pk: o for o in chain.codes}, item.payment_request_id),
        "refund": ({o.pk: o for o in chain.refunds}, item.refund_id),
        "line": ({o.pk: o for o in chain.lines}, item.transaction_id),
        "bakong": ({o.pk: o for o in chain.bakong}, item.bakong_transaction_id),
    }
    pool, pk = pools[item.kind]
    record = pool.get(pk)
    if record is None:
        return f"{item.kind} {pk}"
    if item.kind == "invoice":
        return f"Invoice {record.invoice_number}"
    if item.kind == "khqr":
        return f"KHQR {record.order_id or record.bill_number or record.md5[:10]}"
    if item.kind == "refund":
        return f"Refund {record.bank_reference}"
    if item.kind == "line":
        return f"Line {record.external_id}"
    return f"Bakong {record.hash[:8]}"
