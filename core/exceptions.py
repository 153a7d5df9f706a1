"""Domain errors: one base, each with the stable code the API and commands print."""

from __future__ import annotations


class TonleError(Exception):
    code = "internal_error"
    http_status = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(TonleError):
    code = "invalid_input"
    http_status = 400


class MerchantNotConfigured(TonleError):
    code = "merchant_not_configured"
    http_status = 400  # as the KHQR gateways shops already integrate with


class Unauthorized(TonleError):
    code = "unauthorized"
    http_status = 401


class Forbidden(TonleError):
    code = "forbidden"
    http_status = 403


class NotFound(TonleError):
    code = "not_found"
    http_status = 404


class Conflict(TonleError):
    code = "conflict"
    http_status = 409


class RateLimitExceeded(TonleError):
    code = "rate_limit_exceeded"
    http_status = 429

    def __init__(self, message: str, *, retry_after: float, limit: int = 0) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.limit = limit


class ConfigurationError(TonleError):
    code = "configuration_error"


class TransientError(TonleError):
    """Worth retrying later: timeouts, 429, 5xx, connection errors."""

    code = "transient_error"
    http_status = 503

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(TonleError):
    """Retrying will not help: the remote side said no."""

    code = "upstream_error"
    http_status = 502


class PayloadTooLarge(InvalidInput):
    """A request body past the size the server reads."""

    http_status = 413
