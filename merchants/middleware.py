"""Puts the signed-in user's current merchant and role on the request; audits every
403 answer."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from core.client_address import client_ip
from merchants.models import ApiKey
from merchants.selectors import membership_list

SESSION_KEY = "tonle_merchant_id"


class CurrentMerchantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.merchant = None
        request.membership = None
        request.memberships = []
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            memberships = list(membership_list(user=user))
            request.memberships = memberships
            wanted = request.session.get(SESSION_KEY)
            chosen = next((m for m in memberships if m.merchant_id == wanted), None)
            chosen = chosen or (memberships[0] if memberships else None)
            if chosen is not None:
                request.membership = chosen
                request.merchant = chosen.merchant
        return self.get_response(request)


class AccessDeniedAuditMiddleware:
    """Every 403 (a role that may not, a CSRF failure, an API key without the
    scope, a revoked key) leaves an `access.denied` audit event: who, where from,
    which path, and the reason where one is known."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 403:
            self._record(request)
        return response

    def process_exception(self, request: HttpRequest, exc: Exception) -> None:
        if isinstance(exc, PermissionDenied):
            request.tonle_denied_reason = str(exc)

    def _record(self, request: HttpRequest) -> None:
        from merchants.services import access_event_record

        user = getattr(request, "user", None)
        auth = getattr(request, "auth", None)
        api_key = auth if isinstance(auth, ApiKey) else None
        merchant = getattr(request, "merchant", None) or (
            api_key.merchant if api_key is not None else None
        )
        person = user if getattr(user, "pk", None) else None
        details = {"method": request.method, "path": request.path[:300]}
        reason = getattr(request, "tonle_denied_reason", "")
        if reason:
            details["reason"] = reason[:300]
        if api_key is not None:
            details["api_key"] = api_key.prefix
        access_event_record(
            action="access.denied",
            subject=person,
            actor=person,
            username=f"api_key:{api_key.prefix}" if api_key and not person else "",
            merchant=merchant,
            ip_address=client_ip(request),
            details=details,
        )
