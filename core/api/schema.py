"""OpenAPI pieces every API route shares (drf-spectacular): the error body and its
codes, the rate-limit headers, the errors common to all routes."""

from __future__ import annotations

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

# Routes that read a JSON body also answer these.
BODY_ERRORS = {
    413: error("`invalid_input`: the body is larger than the server accepts"),
}
