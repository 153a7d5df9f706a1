"""The base every external client stands on: httpx with timeouts, one structured log
line per call with secrets redacted, and every failure mapped to our errors."""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import logging
import ssl
import time
from typing import Any

import httpx

from core.exceptions import PermanentError, TransientError

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
BODY_EXCERPT_CHARS = 1000
REDACTED_KEYS = {"authorization", "token", "password", "secret", "client_secret"}


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as seconds, from either form the RFC allows."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


class HttpStatusError(TransientError):
    """The other side answered a status worth retrying later (429, 5xx); keeps the
    status and the start of the body for logs."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        retry_after: float | None = None,
        body: str = "",
    ) -> None:
        super().__init__(message, retry_after=retry_after)
        self.status_code = status_code
        self.body = body


class RateLimited(HttpStatusError):
    code = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 429,
        retry_after: float | None = None,
        body: str = "",
    ) -> None:
        super().__init__(
            message, status_code=status_code, retry_after=retry_after, body=body
        )


class ServerError(HttpStatusError):
    """A 5xx answer."""


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One verifying TLS context per process. Building one reads the CA bundle
    (about 30 ms); a client is made per task or per KHQR create, so sharing it
    keeps that cost off every request. An SSLContext is safe to share."""
    return httpx.create_ssl_context()


class HttpClient:
    """Subclasses set `system` and call `self.request(...)`."""

    system = "external"

    def __init__(
        self,
        *,
        base_url: str,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.logger = logging.getLogger(f"tonle.{self.system}")
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport
            or httpx.HTTPTransport(retries=1, verify=shared_ssl_context()),
            headers=headers or {},
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send one request; transport trouble, 429 and 5xx raise TransientError (with
        Retry-After), other 4xx are returned for the caller to interpret."""
        started = time.monotonic()
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            self._log(method, path, None, started, error="timeout")
            raise TransientError(f"{self.system}: timed out ({type(exc).__name__})")
        except httpx.TransportError as exc:
            self._log(method, path, None, started, error=type(exc).__name__)
            raise TransientError(f"{self.system}: connection failed ({exc})")
        self._log(method, path, response.status_code, started)
        if response.status_code == 429:
            raise RateLimited(
                f"{self.system}: rate limited (429)",
                status_code=429,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                body=response.text[:BODY_EXCERPT_CHARS],
            )
        if response.status_code >= 500:
            raise ServerError(
                f"{self.system}: server error {response.status_code}",
                status_code=response.status_code,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                body=response.text[:BODY_EXCERPT_CHARS],
            )
        return response

    def json_of(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise PermanentError(
                f"{self.system}: answered {response.status_code} with a body that is "
                "not JSON"
            ) from None

    def _log(
        self,
        method: str,
        path: str,
        status: int | None,
        started: float,
        error: str | None = None,
    ) -> None:
        self.logger.info(
            f"{self.system}.http",
            extra={
                "method": method,
                "path": path,
                "status": status,
                "ms": round((time.monotonic() - started) * 1000, 1),
                "error": error,
            },
        )


def redact(data: Any) -> Any:
    """A copy of a JSON-ish value with secret-looking keys blanked, for logs."""
    if isinstance(data, dict):
        return {
            k: "***" if k.lower() in REDACTED_KEYS else redact(v)
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [redact(v) for v in data]
    return data
