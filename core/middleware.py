"""Domain errors raised under a page become the right page, never a 500; JSON routes
refuse an oversized body with a 413 in the API's error shape; API answers are never
stored by a cache."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from core.api.errors import error_body
from core.api.parsers import body_too_large
from core.downloads import no_store
from core.exceptions import TonleError

# Routes whose bodies are JSON and whose errors are {"error", "message"}.
JSON_PREFIXES = ("/api/", "/webhooks/")


def _is_json_route(request: HttpRequest) -> bool:
    return request.path.startswith(JSON_PREFIXES)


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
