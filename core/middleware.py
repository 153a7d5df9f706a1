"""Middleware of the shared kernel: domain errors become the right page, never a
500; JSON routes refuse an oversized body with a 413 in the API's error shape; API
answers are never stored by a cache; security headers; the sandbox's gate; session
time limits."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext

from core.api.errors import error_body
from core.api.parsers import body_too_large
from core.downloads import no_store
from core.exceptions import TonleError

# Routes whose bodies are JSON and whose errors are {"error", "message"}.
JSON_PREFIXES = ("/api/", "/webhooks/")


def _is_json_route(request: HttpRequest) -> bool:
    return request.path.startswith(JSON_PREFIXES)


logger = logging.getLogger("tonle.auth")


class DomainErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(
        self, request: HttpRequest, exc: Exception
    ) -> HttpResponse | None:
        if not isinstance(exc, TonleError) or request.path.startswith("/api/"):
            return None
        status = exc.http_status if exc.http_status < 500 else 502
        template = {404: "404.html", 403: "403.html"}.get(status, "error.html")
        return render(request, template, {"error": exc}, status=status)


def _too_large_response() -> JsonResponse:
    exc = body_too_large()
    return JsonResponse(
        error_body(exc.code, exc.message, field=exc.field), status=exc.http_status
    )


class JsonBodyLimitMiddleware:
    """A JSON route's body past DATA_UPLOAD_MAX_MEMORY_SIZE is answered 413 before
    any view reads it (Django alone would answer 400, or DRF a 500)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _is_json_route(request):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if limit is not None and length > limit:
                return _too_large_response()
        return self.get_response(request)

    def process_exception(
        self, request: HttpRequest, exc: Exception
    ) -> HttpResponse | None:
        if isinstance(exc, RequestDataTooBig) and _is_json_route(request):
            return _too_large_response()
        return None


class ApiNoStoreMiddleware:
    """Every /api/ answer (codes, payment status, ledger lines, errors) carries
    `Cache-Control: no-store`: no proxy or browser keeps a copy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/api/"):
            no_store(response)
        return response


class SecurityHeadersMiddleware:
    """Permissions-Policy on every answer (Referrer-Policy, X-Frame-Options and the
    Content-Security-Policy come from Django and django-csp)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = getattr(settings, "PERMISSIONS_POLICY", "")
        if policy:
            response.headers.setdefault("Permissions-Policy", policy)
        return response


class SandboxGateMiddleware:
    """/sandbox/… is the fake Bakong and bank feed: 404 unless SANDBOX_ENABLED,
    decided per request so the setting alone (not the URL table) keeps it shut."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/sandbox/") and not settings.SANDBOX_ENABLED:
            raise Http404("the sandbox is off")
        return self.get_response(request)


SESSION_AUTH_AT = "tonle_auth_at"
SESSION_SEEN_AT = "tonle_seen_at"
# the last-seen stamp is rewritten at most this often, not on every request
SEEN_RESOLUTION_SECONDS = 60


def _now_seconds() -> int:
    return int(timezone.now().timestamp())


def session_started(request: HttpRequest) -> None:
    """Stamp a fresh sign-in: the absolute and idle clocks start now."""
    now = _now_seconds()
    request.session[SESSION_AUTH_AT] = now
    request.session[SESSION_SEEN_AT] = now


class SessionTimeoutMiddleware:
    """A signed-in session ends after SESSION_IDLE_SECONDS without a request and,
    however busy, SESSION_COOKIE_AGE after it signed in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            self._check(request)
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> None:
        session = request.session
        now = _now_seconds()
        auth_at = session.get(SESSION_AUTH_AT)
        seen_at = session.get(SESSION_SEEN_AT)
        if auth_at is None or seen_at is None:
            # a session from before these stamps existed: its clocks start now
            session_started(request)
            return
        reason = None
        if now - auth_at >= settings.SESSION_COOKIE_AGE:
            reason = "absolute"
        elif now - seen_at >= settings.SESSION_IDLE_SECONDS:
            reason = "idle"
        if reason is not None:
            logger.info(
                "auth.session_expired",
                extra={"reason": reason, "user": request.user.pk},
            )
            logout(request)
            messages.info(
                request,
                gettext(
                    "You were signed out after a while without activity: sign in again."
                )
                if reason == "idle"
                else gettext("Your session reached its time limit: sign in again."),
            )
            return
        if now - seen_at >= SEEN_RESOLUTION_SECONDS:
            session[SESSION_SEEN_AT] = now
