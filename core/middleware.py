"""Domain errors raised under a page become the right page, never a 500."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core.exceptions import TonleError


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
