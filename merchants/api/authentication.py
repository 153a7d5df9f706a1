"""API key authentication and per-key rate limits for every REST route."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework import authentication, permissions
from rest_framework.request import Request

from core.exceptions import Forbidden, RateLimitExceeded, Unauthorized
from merchants.models import ApiKey
from merchants.services import api_key_authenticate


class ApiKeyUser:
    """Stands in for request.user on API calls: the merchant's shop."""

    is_authenticated = True
    is_staff = False
    is_superuser = False

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.merchant = api_key.merchant
        self.pk = None

    def __str__(self) -> str:
        return f"api_key:{self.api_key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer tonle_live_….secret`; request.auth is the ApiKey."""

    keyword = "Bearer"

    def authenticate(self, request: Request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise Unauthorized("use Authorization: Bearer <api key>")
        api_key = api_key_authenticate(raw_key=raw)
        return ApiKeyUser(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class HasApiKey(permissions.BasePermission):
    def has_permission(self, request: Request, view) -> bool:
        if not isinstance(request.auth, ApiKey):
            raise Unauthorized(
                "an API key is required: Authorization: Bearer <api key>"
            )
        return True


# A route that has not said which scope it needs is refused, not opened to every
# key (MerchantApiView's default; each API view sets required_scope).
UNDECLARED = object()


class HasScope(permissions.BasePermission):
    """The key carries the view's `required_scope` (an ApiScope value; None: any
    valid key). A missing scope is 403 `forbidden` naming it."""

    def has_permission(self, request: Request, view) -> bool:
        scope = getattr(view, "required_scope", UNDECLARED)
        if scope is None:
            return True
        api_key = request.auth
        if scope is UNDECLARED:
            reason = f"{type(view).__name__} declares no API scope"
        elif isinstance(api_key, ApiKey) and scope in (api_key.scopes or []):
            return True
        else:
            reason = f"the API key lacks the scope {scope}"
        # the 403 is audited (merchants.middleware); say why there too
        request._request.tonle_denied_reason = reason
        raise Forbidden(f"{reason}; an owner can create a key with it")


def rate_limit_check(*, api_key: ApiKey, limit: int | None = None) -> tuple[int, int]:
    """Count one call in the key's current minute (a shared cache, so every web
    process agrees); return (limit, remaining) or raise RateLimitExceeded."""
    limit = limit or settings.API_RATE_LIMIT_PER_MINUTE
    window = int(time.time() // 60)
    bucket = f"ratelimit:{api_key.pk}:{window}"
    cache.add(bucket, 0, timeout=90)
    try:
        used = cache.incr(bucket)
    except ValueError:  # evicted between add and incr
        cache.set(bucket, 1, timeout=90)
        used = 1
    if used > limit:
        retry_after = 60 - (time.time() % 60)
        error = RateLimitExceeded(
            f"rate limit of {limit} requests per minute exceeded",
            retry_after=retry_after,
            limit=limit,
        )
        raise error
    return limit, limit - used


class ApiKeyRateLimitMixin:
    """For DRF views: counts each call and sets the X-RateLimit-* headers."""

    rate_limit: int | None = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if isinstance(request.auth, ApiKey):
            try:
                limit, remaining = rate_limit_check(
                    api_key=request.auth, limit=self.rate_limit
                )
            except RateLimitExceeded as exc:
                request._rate_limit_headers = (exc.limit, 0)
                raise
            request._rate_limit_headers = (limit, remaining)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        headers = getattr(request, "_rate_limit_headers", None)
        if headers:
            response["X-RateLimit-Limit"] = str(headers[0])
            response["X-RateLimit-Remaining"] = str(max(0, headers[1]))
        return response
