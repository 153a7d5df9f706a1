"""Payment pages (list, new KHQR, detail with live status, images, refunds, slip
verification, webhook endpoints) and the inbound webhook receiver."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from core.confirm import confirmation_page, is_confirmed
from core.downloads import content_disposition, download_headers_set, no_store
from core.error_words import error_words
from core.exceptions import TonleError
from merchants.permissions import (
    AUDIT_ROLES,
    OWNER_ROLES,
    READ_ROLES,
    WRITE_ROLES,
    has_role,
    member_required,
)
from merchants.services import audit_event_record
from payments import selectors
from payments.exports import payments_csv_stream, payments_xlsx_write
from payments.filters import PaymentRequestFilter
from payments.forms import (
    FlagSettleForm,
    PaymentRequestForm,
    RefundForm,
    SlipCheckForm,
    WebhookEndpointForm,
)
from payments.models import BakongTransaction, PaymentStatus
from payments.services import webhook_deliveries, webhook_endpoints
from payments.services.flag_settlement import flagged_payment_settle, settle_choices
from payments.services.payment_requests import (
    payment_request_cancel,
    payment_request_create,
)
from payments.services.qr_images import qr_image_etag, qr_image_get
from payments.services.refunds import REFUNDABLE, refund_create
from payments.services.slips import SHORT_HASH_LENGTH, slip_check
from payments.services.webhook_test_events import webhook_endpoint_test_send
from payments.services.webhooks_in import inbound_event_receive

PAGE_SIZE = 25


def _sandbox_pay_url() -> str:
    try:
        return reverse("sandbox_bakong:pay")
    except NoReverseMatch:
        return "/sandbox/bakong/pay/"


def _filtered(request: HttpRequest) -> PaymentRequestFilter:
    queryset = selectors.payment_request_list(merchant=request.merchant)
    data = request.GET.copy()
    data.pop("page", None)
    return PaymentRequestFilter(
        data or None, queryset=queryset, merchant=request.merchant
    )


@member_required(READ_ROLES)
def payment_list(request: HttpRequest) -> HttpResponse:
    """The filtered payments; a filter that cannot be understood shows its error
    and no payments (never every payment, as if it had not been given)."""
    filterset = _filtered(request)
    problems = filterset.problems()
    rows = filterset.queryset.none() if problems else filterset.qs
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "payments/list.html",
        {
            "filter": filterset,
            "page": page,
            "problems": problems,
            "export_query": query.urlencode(),
            "can_export": has_role(request, AUDIT_ROLES) and not problems,
            "can_write": has_role(request, WRITE_ROLES),
        },
    )


@require_GET
@member_required(AUDIT_ROLES)
def payment_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The current filter as CSV, Excel CSV (streamed) or XLSX (audited); a
    filter that cannot be understood exports nothing."""
    filterset = _filtered(request)
    if filterset.problems():
        messages.error(request, gettext("Fix the filters before exporting."))
        return redirect(reverse("payments:list") + "?" + request.GET.urlencode())
    queryset = filterset.qs
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    audit_event_record(
        merchant=request.merchant,
        action="payments.exported",
        actor=request.user,
        ip_address=request.META.get("REMOTE_ADDR"),
        details={"format": fmt, "filter": request.GET.dict()},
    )
    if fmt in ("csv", "excel_csv"):
        excel = fmt == "excel_csv"
        response = StreamingHttpResponse(
            payments_csv_stream(queryset, excel=excel),
            content_type="text/csv; charset=utf-8",
        )
        name = f"payments-{stamp}{'-excel' if excel else ''}.csv"
        return download_headers_set(response, name=name)
    path = payments_xlsx_write(queryset)
    stream = path.open("rb")
    path.unlink()  # the open handle keeps the bytes until the response is sent
    name = f"payments-{stamp}.xlsx"
    response = FileResponse(
        stream,
        as_attachment=True,
        filename=name,
        content_type=(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        ),
    )
    return download_headers_set(response, name=name)


@member_required(WRITE_ROLES)
def payment_new(request: HttpRequest) -> HttpResponse:
    form = PaymentRequestForm(
        request.POST or None,
        initial={"currency": request.merchant.default_currency},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            payment_request, _ = payment_request_create(
                merchant=request.merchant,
                amount=data["amount"] or None,
                currency=data["currency"],
                bill_number=data["bill_number"],
                store_label=data["store_label"],
                expires_in_seconds=data["expires_in_seconds"],
                actor=request.user,
            )
        except TonleError as exc:
            field = exc.field if exc.field in form.fields else None
            form.add_error(field, error_words(exc))
        else:
            messages.success(
                request, gettext("The code is ready: show it to the customer to scan.")
            )
            return redirect("payments:detail", payment_id=payment_request.pk)
    return render(request, "payments/new.html", {"form": form})


def _detail_context(request: HttpRequest, payment_id: int) -> dict:
    payment_request = selectors.payment_request_detail(
        merchant=request.merchant, payment_request_id=payment_id
    )
    can_write = has_role(request, WRITE_ROLES)
    can_settle = (
        can_write and bool(payment_request.flag) and not payment_request.flag_resolution
    )
    return {
        "pr": payment_request,
        "can_write": can_write,
        "is_owner": has_role(request, OWNER_ROLES),
        "refund_form": RefundForm() if can_write else None,
        "settle_form": FlagSettleForm(choices=settle_choices(payment_request))
        if can_settle
        else None,
        "sandbox_enabled": settings.SANDBOX_ENABLED,
        "sandbox_pay_url": _sandbox_pay_url(),
        "is_pending": payment_request.status == PaymentStatus.PENDING,
        "can_refund": payment_request.status in REFUNDABLE,
        "duplicate_label": BakongTransaction.Outcome.DUPLICATE.label,
        "remaining": (payment_request.paid_amount or 0)
        - payment_request.refunded_amount,
    }


@member_required(READ_ROLES)
def payment_detail(request: HttpRequest, payment_id: int) -> HttpResponse:
    """The payment page; `?fragment=live` answers only its changing part (details,
    flag, actions, Bakong transactions, refunds), which the page swaps in when the
    status JSON says the status or the flag changed."""
    context = _detail_context(request, payment_id)
    if request.GET.get("fragment") == "live":
        response = render(request, "payments/_detail_live.html", context)
        no_store(response)
        return response
    return render(request, "payments/detail.html", context)


@require_GET
@member_required(READ_ROLES)
def payment_status(request: HttpRequest, payment_id: int) -> JsonResponse:
    """The small JSON the detail page polls to turn to paid without a reload."""
    payment_request = selectors.payment_request_get(
        merchant=request.merchant, payment_request_id=payment_id
    )
    expires_in = None
    if payment_request.expires_at is not None:
        expires_in = max(
            0, int((payment_request.expires_at - timezone.now()).total_seconds())
        )
    response = JsonResponse(
        {
            "status": payment_request.status,
            "status_label": payment_request.get_status_display(),
            "flag": payment_request.flag,
            "flag_label": payment_request.get_flag_display()
            if payment_request.flag
            else "",
            "paid_at": payment_request.paid_at.isoformat()
            if payment_request.paid_at
            else None,
            "expires_in": expires_in,
        }
    )
    no_store(response)
    return response


@require_GET
@member_required(READ_ROLES)
def payment_image(request: HttpRequest, payment_id: int, fmt: str) -> HttpResponse:
    """PNG, SVG, KHQR card or A6 stand PDF, cached by md5, with ETag / 304."""
    payment_request = selectors.payment_request_get(
        merchant=request.merchant, payment_request_id=payment_id
    )
    etag = qr_image_etag(md5=payment_request.md5, fmt=fmt)
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
    else:
        image = qr_image_get(payment_request=payment_request, fmt=fmt)
        response = HttpResponse(image.content, content_type=image.content_type)
        if fmt == "stand":
            name = payment_request.order_id or payment_request.md5[:8]
            response["Content-Disposition"] = content_disposition(
                f"khqr-{name}.pdf", inline=True
            )
    response["ETag"] = etag
    no_store(response)  # a payment code is financial data: no cache keeps it
    return response


@require_POST
@member_required(WRITE_ROLES)
def payment_refund(request: HttpRequest, payment_id: int) -> HttpResponse:
    payment_request = selectors.payment_request_get(
        merchant=request.merchant, payment_request_id=payment_id
    )
    form = RefundForm(request.POST)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        label = form.fields[field].label if field in form.fields else field
        messages.error(
            request,
            gettext("Refund not recorded: %(problem)s")
            % {"problem": f"{label}: {' '.join(errors)}"},
        )
    else:
        try:
            refund = refund_create(
                merchant=request.merchant,
                payment_request_id=payment_request.pk,
                amount=form.cleaned_data["amount"] or None,
                bank_reference=form.cleaned_data["bank_reference"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        except TonleError as exc:
            why = error_words(exc)
            messages.error(
                request, gettext("Refund not recorded: %(problem)s") % {"problem": why}
            )
        else:
            messages.success(
                request,
                gettext("Refund of %(amount)s %(currency)s recorded (%(reference)s).")
                % {
                    "amount": refund.amount,
                    "currency": refund.currency,
                    "reference": refund.bank_reference,
                },
            )
    return redirect("payments:detail", payment_id=payment_request.pk)


@require_POST
@member_required(WRITE_ROLES)
def payment_cancel(request: HttpRequest, payment_id: int) -> HttpResponse:
    payment_request = selectors.payment_request_get(
        merchant=request.merchant, payment_request_id=payment_id
    )
    back = reverse("payments:detail", args=[payment_request.pk])
    if not is_confirmed(request):
        return confirmation_page(
            request,
            question=gettext("Cancel the code %(code)s?") % {"code": payment_request},
            detail=gettext(
                "A customer who scans it afterwards is refused by their bank "
                "app's check; money that still arrives is flagged as late."
            ),
            button=gettext("Cancel this code"),
            back=back,
        )
    try:
        payment_request_cancel(
            merchant=request.merchant,
            payment_request_id=payment_request.pk,
            actor=request.user,
        )
    except TonleError as exc:
        messages.error(request, error_words(exc))
    else:
        messages.success(
            request, gettext("The code is cancelled; it can no longer be paid.")
        )
    return redirect(back)


@require_POST
@member_required(WRITE_ROLES)
def payment_settle(request: HttpRequest, payment_id: int) -> HttpResponse:
    """Settle a flagged payment with a note: accept, refund, or leave it for
    reconciliation (owners and accountants)."""
    payment_request = selectors.payment_request_get(
        merchant=request.merchant, payment_request_id=payment_id
    )
    form = FlagSettleForm(request.POST, choices=settle_choices(payment_request))
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        label = form.fields[field].label if field in form.fields else ""
        messages.error(
            request,
            gettext("Not settled: %(problem)s")
            % {"problem": f"{label + ': ' if label else ''}{' '.join(errors)}"},
        )
        return redirect("payments:detail", payment_id=payment_request.pk)
    data = form.cleaned_data
    try:
        settled = flagged_payment_settle(
            merchant=request.merchant,
            payment_request_id=payment_request.pk,
            resolution=data["resolution"],
            note=data["note"],
            bank_reference=data["bank_reference"],
            actor=request.user,
        )
    except TonleError as exc:
        messages.error(
            request, gettext("Not settled: %(problem)s") % {"problem": error_words(exc)}
        )
    else:
        messages.success(
            request,
            gettext("Settled: %(resolution)s, with your note. It is in the audit log.")
            % {"resolution": settled.get_flag_resolution_display().lower()},
        )
    return redirect("payments:detail", payment_id=payment_request.pk)


# --- slips -----------------------------------------------------------------------

SLIP_CHECKS_SHOWN = 25


@member_required(READ_ROLES)
def slip_verify(request: HttpRequest) -> HttpResponse:
    """Verify a customer's payment slip by its Bakong hash (accountants and owners);
    every member sees the checks made so far."""
    can_write = has_role(request, WRITE_ROLES)
    if request.method == "POST" and not can_write:
        raise PermissionDenied("your role cannot verify slips")
    form = SlipCheckForm(request.POST or None) if can_write else None
    answer = None
    if form is not None and request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        short = len(data["hash"]) == SHORT_HASH_LENGTH
        try:
            answer = slip_check(
                merchant=request.merchant,
                hash="" if short else data["hash"],
                short_hash=data["hash"] if short else "",
                amount=data["amount"] or None,
                currency=data["currency"],
                order_id=data["order_id"],
                actor=request.user,
            )
        except TonleError as exc:
            field = "hash" if exc.field == "short_hash" else exc.field
            field = field if field in form.fields else None
            form.add_error(field, error_words(exc))
    return render(
        request,
        "payments/slips.html",
        {
            "form": form,
            "answer": answer,
            "checks": selectors.slip_check_list(merchant=request.merchant)[
                :SLIP_CHECKS_SHOWN
            ],
        },
    )


# --- webhook endpoints ---------------------------------------------------------


@member_required(OWNER_ROLES)
def webhook_endpoint_list(request: HttpRequest) -> HttpResponse:
    form = WebhookEndpointForm(request.POST or None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, new_secret = webhook_endpoints.webhook_endpoint_create(
                merchant=request.merchant,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                actor=request.user,
            )
        except TonleError as exc:
            form.add_error("url", error_words(exc))
        else:
            messages.warning(
                request,
                gettext("Copy the signing secret now: it will not be shown again."),
            )
            form = WebhookEndpointForm()
    return render(
        request,
        "payments/webhooks.html",
        {
            "form": form,
            "endpoints": selectors.webhook_endpoint_list(merchant=request.merchant),
            "new_secret": new_secret,
            "deliveries": selectors.webhook_delivery_list(merchant=request.merchant)[
                :20
            ],
        },
    )


@member_required(OWNER_ROLES)
def webhook_endpoint_detail(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = selectors.webhook_endpoint_get(
        merchant=request.merchant, endpoint_id=endpoint_id
    )
    page = Paginator(
        selectors.webhook_delivery_list(merchant=request.merchant, endpoint=endpoint),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "payments/webhook_detail.html",
        {"endpoint": endpoint, "page": page, "new_secret": None},
    )


@require_POST
@member_required(OWNER_ROLES)
def webhook_endpoint_rotate(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = selectors.webhook_endpoint_get(
        merchant=request.merchant, endpoint_id=endpoint_id
    )
    if not is_confirmed(request):
        return confirmation_page(
            request,
            question=gettext("Rotate the signing secret of %(url)s?")
            % {"url": endpoint.url},
            detail=gettext(
                "Your shop must switch to the new secret within 24 hours: after "
                "that, deliveries are no longer signed with the old one."
            ),
            button=gettext("Rotate secret"),
            back=reverse("payments:webhook-detail", args=[endpoint.pk]),
        )
    endpoint, secret = webhook_endpoints.webhook_endpoint_rotate_secret(
        merchant=request.merchant, endpoint_id=endpoint.pk, actor=request.user
    )
    messages.warning(
        request,
        gettext(
            "New secret below: copy it now. For 24 hours deliveries are signed with "
            "the old secret too, so your shop can switch without missing an event."
        ),
    )
    page = Paginator(
        selectors.webhook_delivery_list(merchant=request.merchant, endpoint=endpoint),
        PAGE_SIZE,
    ).get_page(1)
    return render(
        request,
        "payments/webhook_detail.html",
        {"endpoint": endpoint, "page": page, "new_secret": secret},
    )


@require_POST
@member_required(OWNER_ROLES)
def webhook_endpoint_toggle(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = selectors.webhook_endpoint_get(
        merchant=request.merchant, endpoint_id=endpoint_id
    )
    active = request.POST.get("active") == "1"
    if not active and endpoint.is_active and not is_confirmed(request):
        return confirmation_page(
            request,
            question=gettext("Disable %(url)s?") % {"url": endpoint.url},
            detail=gettext(
                "Nothing more is sent to it; deliveries waiting for a retry give "
                "up. You can enable it again."
            ),
            button=gettext("Disable endpoint"),
            back=reverse("payments:webhook-detail", args=[endpoint.pk]),
        )
    endpoint = webhook_endpoints.webhook_endpoint_set_active(
        merchant=request.merchant,
        endpoint_id=endpoint.pk,
        active=active,
        actor=request.user,
    )
    messages.success(
        request,
        (
            gettext("%(url)s is enabled.")
            if endpoint.is_active
            else gettext("%(url)s is disabled.")
        )
        % {"url": endpoint.url},
    )
    return redirect("payments:webhook-detail", endpoint_id=endpoint.pk)


@require_POST
@member_required(OWNER_ROLES)
def webhook_endpoint_test(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """Send a signed `webhook.test` event to the endpoint; it shows in the log."""
    try:
        delivery = webhook_endpoint_test_send(
            merchant=request.merchant, endpoint_id=endpoint_id, actor=request.user
        )
    except TonleError as exc:
        if exc.http_status == 404:
            raise
        messages.error(
            request,
            gettext("No test event sent: %(problem)s") % {"problem": error_words(exc)},
        )
    else:
        messages.success(
            request,
            gettext(
                "Test event %(delivery)s is on its way: its answer appears "
                "in the deliveries below."
            )
            % {"delivery": delivery.delivery_id},
        )
    return redirect("payments:webhook-detail", endpoint_id=endpoint_id)


@require_POST
@member_required(WRITE_ROLES)
def webhook_delivery_redeliver(request: HttpRequest, delivery_id: int) -> HttpResponse:
    try:
        delivery = webhook_deliveries.webhook_delivery_redeliver(
            merchant=request.merchant, delivery_id=delivery_id, actor=request.user
        )
    except TonleError as exc:
        if exc.http_status == 404:
            raise
        messages.error(request, error_words(exc))
        return redirect("payments:webhooks")
    messages.success(
        request,
        gettext("Delivery %(delivery)s is being sent again.")
        % {"delivery": delivery.delivery_id},
    )
    target = request.POST.get("next", "")
    if target == "payment" and delivery.payment_request_id:
        return redirect("payments:detail", payment_id=delivery.payment_request_id)
    return redirect("payments:webhook-detail", endpoint_id=delivery.endpoint_id)


# --- inbound -------------------------------------------------------------------


@csrf_exempt
@require_POST
@sensitive_post_parameters()
def webhook_in(request: HttpRequest, connection_id: int) -> JsonResponse:
    """POST /webhooks/in/<connection_id>/: verify, store, answer; processing runs in
    a task. Errors are {"error", "message"} like the API."""
    try:
        event, replay = inbound_event_receive(
            connection_id=connection_id,
            body=request.body,
            headers=dict(request.headers),
        )
    except TonleError as exc:
        return JsonResponse(
            {"error": exc.code, "message": exc.message}, status=exc.http_status
        )
    if replay:
        body = {
            "status": "duplicate",
            "replay": True,
            "event_id": event.pk,
            "message": "this delivery was already received; nothing changed",
        }
        return JsonResponse(body, status=200)
    return JsonResponse(
        {
            "status": event.status,
            "replay": False,
            "event_id": event.pk,
            "message": "stored; it is processed in the background"
            if event.status == "received"
            else event.error,
        },
        status=202 if event.status == "received" else 200,
    )
