"""The webhook signature scheme, both ways: `t=<unix>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>">` with the secret string's bytes as the key. Several `v1` values are
accepted, so a sender can sign with an old and a new secret while rotating."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable

DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """A signature header that is missing, malformed, stale or does not match."""


def signature_compute(*, secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value a sender puts in X-Tonle-Signature."""
    ts = int(time.time()) if timestamp is None else timestamp
    return f"t={ts},v1={signature_compute(secret=secret, timestamp=ts, body=body)}"


def signature_verify(
    *,
    header: str | None,
    secrets: Iterable[str],
    body: bytes,
    now: float | None = None,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check a header against the raw body; return its timestamp or raise
    SignatureError naming what is wrong. The timestamp must be within ±tolerance."""
    if not header:
        raise SignatureError("missing signature header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError("malformed signature header")
        if key == "t":
            if not value.isdigit():
                raise SignatureError("signature timestamp is not a unix time")
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value.lower())
    if timestamp is None or not candidates:
        raise SignatureError("signature header needs t= and v1=")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError(
            f"signature timestamp is {int(current - timestamp)} s from now "
            f"(tolerance ±{tolerance} s)"
        )
    for secret in secrets:
        if not secret:
            continue
        expected = signature_compute(secret=secret, timestamp=timestamp, body=body)
        if any(hmac.compare_digest(expected, c) for c in candidates):
            return timestamp
    raise SignatureError("signature does not match")
