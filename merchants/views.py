from __future__ import annotations

import base64
import datetime as dt
import io
from collections import defaultdict
from decimal import Decimal

import segno
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django import forms
from django.contrib import messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST
from django_otp import login as otp_login

from core.client_address import client_ip
from core.confirm import confirmation_page, is_confirmed
from core.downloads import download_headers_set
from core.error_words import error_words
from core.exceptions import InvalidInput, TonleError
from merchants import audit_actions, selectors, services
from merchants.audit_export import audit_csv_stream, audit_xlsx_write
from merchants.dashboard import dashboard_slots
from merchants.filters import AuditEventFilter
from merchants.middleware import SESSION_KEY
from merchants.models import ApiScope
from merchants.permissions import (
    AUDIT_ROLES,
    OWNER_ROLES,
    READ_ROLES,
    has_role,
    member_required,
)

# A password accepted, a code still owed: kept in the session this long.
TWO_FACTOR_PENDING = "tonle_two_factor_pending"
TWO_FACTOR_PENDING_SECONDS = 300


class LoginView(auth_views.LoginView):
    """Username and password (throttled by django-axes); a user with a confirmed
    two-factor device is not signed in yet, but sent on to give a code."""

    def form_valid(self, form):
        user = form.get_user()
        if selectors.two_factor_device_get(user=user) is None:
            return super().form_valid(form)
        # a new session key, so a fixed one learns nothing from the half-way state
        self.request.session.cycle_key()
        self.request.session[TWO_FACTOR_PENDING] = {
            "user": user.pk,
            "backend": user.backend,
            "at": int(timezone.now().timestamp()),
            "next": self.get_success_url(),
        }
        return HttpResponseRedirect(reverse("login-verify"))


class LogoutView(auth_views.LogoutView):
    """Sign out, and say so on the sign-in page."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.info(request, gettext("You are signed out."))
        return response


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Asks for a username or an email address; the link goes only to the address
    the account has, and the page answers the same whether or not one matched."""

    email = forms.CharField(
        label=gettext_lazy("Username or email"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )

    def get_users(self, email: str):
        model = get_user_model()
        wanted = email.strip()
        found = model._default_manager.filter(
            Q(**{f"{model.get_email_field_name()}__iexact": wanted})
            | Q(**{f"{model.USERNAME_FIELD}__iexact": wanted}),
            is_active=True,
        ).exclude(**{model.get_email_field_name(): ""})
        return (user for user in found if user.has_usable_password())


class PasswordResetView(auth_views.PasswordResetView):
    """Forgot password: a link by email (printed on the console in the demo); each
    request is in the audit log of the account's merchants."""

    form_class = PasswordResetForm

    def form_valid(self, form):
        for user in form.get_users(form.cleaned_data["email"]):
            services.access_event_record(
                action="auth.password_reset_requested",
                subject=user,
                ip_address=client_ip(self.request),
            )
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """The link's page: a new password, audited; sign in with it afterwards."""

    def form_valid(self, form):
        response = super().form_valid(form)
        services.access_event_record(
            action="auth.password_reset_done",
            subject=form.user,
            ip_address=client_ip(self.request),
        )
        return response


def _pending_user(request: HttpRequest):
    pending = request.session.get(TWO_FACTOR_PENDING)
    if not isinstance(pending, dict):
        return None, None
    age = int(timezone.now().timestamp()) - int(pending.get("at", 0))
    if age > TWO_FACTOR_PENDING_SECONDS:
        request.session.pop(TWO_FACTOR_PENDING, None)
        return None, None
    user = get_user_model().objects.filter(pk=pending.get("user"), is_active=True)
    return user.first(), pending


@sensitive_post_parameters("token")
@csrf_protect
@never_cache
def login_verify(request: HttpRequest) -> HttpResponse:
    """The second step: the code from the user's authenticator app. Wrong codes
    count as failed sign-ins (the same django-axes lockout as passwords)."""
    user, pending = _pending_user(request)
    if user is None:
        messages.info(request, gettext("Sign in again: the two-factor step timed out."))
        return redirect("login")
    credentials = {"username": user.get_username()}
    if AxesProxyHandler.is_locked(request, credentials):
        return get_lockout_response(request, None, credentials)
    error = ""
    if request.method == "POST":
        device = selectors.two_factor_device_get(user=user)
        token = request.POST.get("token", "").strip()
        if device is not None and token and device.verify_token(token):
            request.session.pop(TWO_FACTOR_PENDING, None)
            user.otp_device = device  # django-otp marks the session verified
            auth_login(request, user, backend=pending["backend"])
            target = pending.get("next") or ""
            if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
                target = reverse("dashboard")
            return HttpResponseRedirect(target)
        user_login_failed.send(
            sender=__name__, credentials=credentials, request=request, reason="otp"
        )
        error = gettext(
            "That code is not the one your app shows now. Try the next one."
        )
    return render(
        request,
        "registration/login_verify.html",
        {"error": error, "username": user.get_username()},
        status=400 if error else 200,
    )


def _qr_data_uri(text: str) -> str:
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=5, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


@sensitive_post_parameters("token")
@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Turn two-factor sign-in on (scan, then confirm a code) or off (a code)."""
    user = request.user
    error = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        token = request.POST.get("token", "")
        try:
            if action == "start":
                services.two_factor_start(user=user)
            elif action == "confirm":
                device = services.two_factor_confirm(
                    user=user, token=token, ip_address=client_ip(request)
                )
                # this session has just proved the device: it counts as verified
                otp_login(request, device)
                messages.success(
                    request,
                    gettext("Two-factor sign-in is on: sign-in now asks for a code."),
                )
                return redirect("two-factor")
            elif action == "disable":
                services.two_factor_disable(
                    user=user, token=token, ip_address=client_ip(request)
                )
                messages.success(request, gettext("Two-factor sign-in is off."))
                return redirect("two-factor")
        except TonleError as exc:
            error = error_words(exc)
    device = selectors.two_factor_device_get(user=user)
    pending = selectors.two_factor_device_get(user=user, confirmed=False)
    context = {"device": device, "pending": pending, "error": error}
    if pending is not None:
        context["qr"] = _qr_data_uri(pending.config_url)
        secret = base64.b32encode(pending.bin_key).decode()
        context["secret"] = " ".join(
            secret[i : i + 4] for i in range(0, len(secret), 4)
        )
    return render(
        request, "merchants/two_factor.html", context, status=400 if error else 200
    )


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
            "slots": dashboard_slots(request),
        },
    )


def _last_month(today: dt.date) -> tuple[dt.date, dt.date]:
    last = today.replace(day=1) - dt.timedelta(days=1)
    return last.replace(day=1), last


@member_required(READ_ROLES)
def account_detail(request: HttpRequest, account_id: int) -> HttpResponse:
    """One account: balances, connections, latest lines, who pays in and out most,
    and the way to its transactions and statements."""
    account = selectors.account_get(merchant=request.merchant, account_id=account_id)
    statement_from, statement_to = _last_month(timezone.localdate())
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
            "counterparties": selectors.account_counterparties(account=account),
            "counterparty_days": selectors.COUNTERPARTY_DAYS,
            "statement_from": statement_from,
            "statement_to": statement_to,
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
            messages.error(
                request, gettext("Nothing was revoked: confirm on this page.")
            )
            return redirect("connection-revoke", connection_id=connection.pk)
        already = connection.revoked_at is not None
        services.connection_revoke(
            merchant=request.merchant,
            connection_id=connection.pk,
            actor=request.user,
            ip_address=client_ip(request),
        )
        if already:
            messages.info(
                request,
                gettext("%(connection)s was already revoked.")
                % {"connection": connection},
            )
        else:
            messages.success(
                request,
                gettext(
                    "%(connection)s is revoked: it no longer syncs and refuses pushes."
                )
                % {"connection": connection},
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
        messages.error(request, gettext("You are not a member of that merchant."))
    else:
        request.session[SESSION_KEY] = membership.merchant_id
        messages.success(
            request,
            gettext("Now working on %(merchant)s.") % {"merchant": membership.merchant},
        )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = "dashboard"
    return redirect(target or "dashboard")


API_KEY_EXPIRY_CHOICES = [
    ("", gettext_lazy("Never")),
    ("30", gettext_lazy("30 days")),
    ("90", gettext_lazy("90 days")),
    ("365", gettext_lazy("1 year")),
]


@member_required(OWNER_ROLES)
def api_key_list(request: HttpRequest) -> HttpResponse:
    """The merchant's keys; an owner creates one with the scopes and expiry it
    needs (its plain text shown once)."""
    new_key = None
    error = ""
    status = 200
    if request.method == "POST":
        days = request.POST.get("expires_days", "")
        try:
            if days not in dict(API_KEY_EXPIRY_CHOICES):
                raise InvalidInput(
                    gettext("expires_days: choose one of the offered periods")
                )
            _, new_key = services.api_key_create(
                merchant=request.merchant,
                is_test=request.POST.get("mode") == "test",
                name=request.POST.get("name", "")[:100],
                scopes=request.POST.getlist("scopes"),
                expires_at=timezone.now() + dt.timedelta(days=int(days))
                if days
                else None,
                actor=request.user,
            )
        except InvalidInput as exc:
            error, status = error_words(exc), 400
        else:
            messages.warning(
                request, gettext("Copy the new key now: it will not be shown again.")
            )
    return render(
        request,
        "merchants/api_keys.html",
        {
            "api_keys": selectors.api_key_list(merchant=request.merchant),
            "new_key": new_key,
            "error": error,
            "scope_choices": ApiScope.choices,
            "expiry_choices": API_KEY_EXPIRY_CHOICES,
            "now": timezone.now(),
        },
        status=status,
    )


@require_POST
@member_required(OWNER_ROLES)
def api_key_revoke(request: HttpRequest, api_key_id: int) -> HttpResponse:
    api_key = get_object_or_404(
        selectors.api_key_list(merchant=request.merchant), pk=api_key_id
    )
    if not is_confirmed(request):
        if api_key.name:
            question = gettext("Revoke the key %(prefix)s… (%(name)s)?") % {
                "prefix": api_key.prefix,
                "name": api_key.name,
            }
        else:
            question = gettext("Revoke the key %(prefix)s…?") % {
                "prefix": api_key.prefix
            }
        return confirmation_page(
            request,
            question=question,
            detail=gettext(
                "Every call made with it is refused at once; a shop still using "
                "it stops working until it has a new key."
            ),
            button=gettext("Revoke key"),
            back=reverse("api-keys"),
        )
    api_key = services.api_key_revoke(
        merchant=request.merchant, api_key_id=api_key.pk, actor=request.user
    )
    messages.success(
        request, gettext("Key %(prefix)s is revoked.") % {"prefix": api_key.prefix}
    )
    return redirect("api-keys")


AUDIT_PAGE_SIZE = 50
AUDIT_CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _audit_filtered(request: HttpRequest) -> AuditEventFilter:
    return AuditEventFilter(
        request.GET or None,
        queryset=selectors.audit_event_list(merchant=request.merchant),
    )


@member_required(AUDIT_ROLES)
def audit_log(request: HttpRequest) -> HttpResponse:
    """Every change, sign-in and download, in words, filtered and paged; a filter
    that cannot be read shows its error and no rows."""
    filterset = _audit_filtered(request)
    valid = not filterset.is_bound or filterset.is_valid()
    rows = filterset.qs if valid else filterset.queryset.none()
    page = Paginator(rows, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "merchants/audit_log.html",
        {
            "filter": filterset,
            "valid": valid,
            "page": page,
            "events": audit_actions.describe(page.object_list),
            "actors": selectors.audit_actor_suggestions(merchant=request.merchant),
            "query": query.urlencode(),
        },
    )


@require_GET
@member_required(AUDIT_ROLES)
def audit_log_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The current filter as CSV (streamed, UTF-8 with BOM) or XLSX; the export is
    itself audited."""
    filterset = _audit_filtered(request)
    if filterset.is_bound and not filterset.is_valid():
        messages.error(request, gettext("Fix the filters before exporting."))
        return redirect(reverse("audit-log") + "?" + request.GET.urlencode())
    queryset = filterset.qs
    services.audit_event_record(
        merchant=request.merchant,
        action="audit_log.exported",
        actor=request.user,
        ip_address=client_ip(request),
        details={"format": fmt, "filter": request.GET.dict()},
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    filename = f"audit-log-{stamp}.{fmt}"
    if fmt == "csv":
        response = StreamingHttpResponse(
            audit_csv_stream(queryset), content_type=AUDIT_CONTENT_TYPES["csv"]
        )
        return download_headers_set(response, name=filename)
    path = audit_xlsx_write(queryset)
    stream = path.open("rb")
    path.unlink()  # the open handle keeps the bytes until the response is sent
    response = FileResponse(
        stream, content_type=AUDIT_CONTENT_TYPES["xlsx"], as_attachment=True
    )
    return download_headers_set(response, name=filename)
