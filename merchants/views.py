from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from merchants import selectors, services
from merchants.dashboard import dashboard_widgets
from merchants.middleware import SESSION_KEY
from merchants.permissions import OWNER_ROLES, READ_ROLES, has_role, member_required


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _with_consent(connections) -> list:
    """Each connection with its consent status (for a badge and the reason)."""
    now = timezone.now()
    for connection in connections:
        connection.consent = selectors.connection_consent(
            connection=connection, now=now
        )
    return list(connections)


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
            "connections": _with_consent(
                selectors.connection_list(merchant=request.merchant)
            ),
            "consents_expiring": _with_consent(
                selectors.connection_consent_expiring_list(merchant=request.merchant)
            ),
            "notice_days": selectors.CONSENT_NOTICE.days,
            "widgets": dashboard_widgets(request),
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
            "connections": _with_consent(
                selectors.connection_list(merchant=request.merchant).filter(
                    account=account
                )
            ),
            "can_revoke": has_role(request, OWNER_ROLES),
            "recent": account.transactions.order_by("-posted_at", "-pk")[:20],
        },
    )


@member_required(OWNER_ROLES)
def connection_revoke(request: HttpRequest, connection_id: int) -> HttpResponse:
    """GET: what revoking means, and a confirm button; POST (confirmed): revoke."""
    connection = selectors.connection_get(
        merchant=request.merchant, connection_id=connection_id
    )
    back = (
        reverse("account-detail", args=[connection.account_id])
        if connection.account_id
        else reverse("dashboard")
    )
    if request.method == "POST":
        if request.POST.get("confirm") != "revoke":
            messages.error(request, "Nothing was revoked: confirm on this page.")
            return redirect("connection-revoke", connection_id=connection.pk)
        already = connection.revoked_at is not None
        services.connection_revoke(
            merchant=request.merchant,
            connection_id=connection.pk,
            actor=request.user,
            ip_address=client_ip(request),
        )
        if already:
            messages.info(request, f"{connection} was already revoked.")
        else:
            messages.success(
                request,
                f"{connection} is revoked: it no longer syncs and refuses pushes.",
            )
        return redirect(back)
    return render(
        request,
        "merchants/connection_revoke.html",
        {
            "connection": _with_consent([connection])[0],
            "back": back,
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
