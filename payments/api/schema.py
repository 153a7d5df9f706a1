"""OpenAPI pieces every shop route shares: the bearer scheme, the error body and the
rate-limit headers (drf-spectacular)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

ERROR_CODES = [
    "invalid_input",
    "merchant_not_configured",
    "unauthorized",
    "forbidden",
    "not_found",
    "conflict",
    "rate_limit_exceeded",
    "internal_error",
    "upstream_error",
    "bakong_unavailable",
]


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "merchants.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "tonle_live_… / tonle_test_… API key",
        }


class ErrorSerializer(serializers.Serializer):
    error = serializers.ChoiceField(choices=ERROR_CODES)
    message = serializers.CharField()
    field = serializers.CharField(required=False)
    details = serializers.JSONField(required=False)


RATE_LIMIT_HEADERS = [
    OpenApiParameter(
        "X-RateLimit-Limit",
        type=int,
        location=OpenApiParameter.HEADER,
        response=True,
        description="Calls allowed per minute for this API key",
    ),
    OpenApiParameter(
        "X-RateLimit-Remaining",
        type=int,
        location=OpenApiParameter.HEADER,
        response=True,
        description="Calls left in the current minute",
    ),
]


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorSerializer, description=description)


COMMON_ERRORS = {
    401: error("`unauthorized`: no API key, or a malformed or unknown key"),
    403: error("`forbidden`: the API key was revoked"),
    429: error(
        "`rate_limit_exceeded`: too many calls this minute; wait `Retry-After` seconds"
    ),
}
