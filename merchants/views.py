from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from merchants import selectors, services
from merchants.middleware import SESSION_KEY
from merchants.permissions import OWNER_ROLES, READ_ROLES, member_required


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


@member_required(READ_ROLES)
def dashboard(request: HttpRequest) -> HttpResponse:
    accounts = list(selectors.account_list(merchant=request.merchant))
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for account in accounts:
        if account.current_balance is not None:
            totals[account.currency] += account.current_balance
    return render(
        request,
        "merchants/dashboard.html",
        {
            "accounts": accounts,
            "totals": sorted(totals.items()),
            "connections": selectors.connection_list(merchant=request.merchant),
        },
    )


@member_required(READ_ROLES)
def account_detail(request: HttpRequest, account_id: int) -> HttpResponse:
    account = selectors.account_get(merchant=request.merchant, account_id=account_id)
    return render(
        request,
        "merchants/account_detail.html",
        {
            "account": account,
            "connections": account.connections.all(),
            "recent": account.transactions.order_by("-posted_at", "-pk")[:20],
        },
    )


@require_POST
@member_required(READ_ROLES)
def merchant_switch(request: HttpRequest) -> HttpResponse:
    wanted = request.POST.get("merchant_id", "")
    membership = next(
        (m for m in request.memberships if str(m.merchant_id) == wanted), None
    )
    if membership is None:
        messages.error(request, "You are not a member of that merchant.")
    else:
        request.session[SESSION_KEY] = membership.merchant_id
        messages.success(request, f"Now working on {membership.merchant}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = "dashboard"
    return redirect(target or "dashboard")


@member_required(OWNER_ROLES)
def api_key_list(request: HttpRequest) -> HttpResponse:
    new_key = None
    if request.method == "POST":
        _, new_key = services.api_key_create(
            merchant=request.merchant,
            is_test=request.POST.get("mode") == "test",
            name=request.POST.get("name", "")[:100],
            actor=request.user,
        )
        messages.warning(request, "Copy the new key now: it will not be shown again.")
    return render(
        request,
        "merchants/api_keys.html",
        {
            "api_keys": selectors.api_key_list(merchant=request.merchant),
            "new_key": new_key,
        },
    )


@require_POST
@member_required(OWNER_ROLES)
def api_key_revoke(request: HttpRequest, api_key_id: int) -> HttpResponse:
    api_key = services.api_key_revoke(
        merchant=request.merchant, api_key_id=api_key_id, actor=request.user
    )
    messages.success(request, f"Key {api_key.prefix} is revoked.")
    return redirect("api-keys")


@member_required(OWNER_ROLES)
def audit_log(request: HttpRequest) -> HttpResponse:
    page = Paginator(
        selectors.audit_event_list(merchant=request.merchant), 50
    ).get_page(request.GET.get("page"))
    return render(request, "merchants/audit_log.html", {"page": page})
