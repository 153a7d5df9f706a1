"""One DRF exception handler: every API error is {"error": CODE, "message": TEXT}."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.api.parsers import body_too_large
from core.exceptions import RateLimitExceeded, TonleError

logger = logging.getLogger("tonle.api")

_DRF_CODES = {
    drf.ValidationError: "invalid_input",
    drf.ParseError: "invalid_input",
    drf.UnsupportedMediaType: "invalid_input",
    drf.NotAuthenticated: "unauthorized",
    drf.AuthenticationFailed: "unauthorized",
    drf.PermissionDenied: "forbidden",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "invalid_input",
    drf.Throttled: "rate_limit_exceeded",
}


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "message": message, **extra}


def _first_validation_message(detail: Any, path: str = "") -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = key if not path else f"{path}.{key}"
            if key == "non_field_errors":
                name = path
            return _first_validation_message(value, name)
    if isinstance(detail, list) and detail:
        return _first_validation_message(detail[0], path)
    return f"{path}: {detail}" if path else str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        exc = body_too_large()
    if isinstance(exc, RateLimitExceeded):
        response = Response(error_body(exc.code, exc.message), status=exc.http_status)
        response["Retry-After"] = str(max(1, int(exc.retry_after + 0.999)))
        return response
    if isinstance(exc, TonleError):
        extra = {"field": exc.field} if exc.field else {}
        return Response(error_body(exc.code, exc.message, **extra), exc.http_status)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("api.unhandled", exc_info=exc)
        return Response(error_body("internal_error", "internal error"), status=500)
    code = next(
        (c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "internal_error"
    )
    if isinstance(exc, drf.ValidationError):
        message = _first_validation_message(exc.detail)
        response.data = error_body(code, message, details=exc.detail)
    else:
        response.data = error_body(code, str(getattr(exc, "detail", exc)))
    return response
