"""Webhook signatures, both ways, in two schemes; the key is the secret string's bytes.

- `tonle`: `X-Tonle-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`
  (also sent as `X-KHQR-Signature`). Several `v1` values are accepted, so a sender
  can sign with an old and a new secret while rotating; the timestamp must be within
  ±tolerance of now.
- `sha256`: the Hattha brief's `X-Signature: sha256=<hex HMAC-SHA256 of the raw body>`.
  It carries no timestamp: the caller bounds replays itself (a natural-key delivery id
  and a window on the event's own time).

Headers are parsed strictly (ASCII digits, fixed-length hex, bounded lengths and
counts): any input at all either verifies or raises SignatureError, never anything
else. Every function that holds a secret hides its locals from error reports.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.views.decorators.debug import sensitive_variables

DEFAULT_TOLERANCE_SECONDS = 300
MAX_HEADER_CHARS = 1024
MAX_TIMESTAMP_DIGITS = 12  # unix seconds until the year 33658
MAX_SIGNATURES = 8
MAX_HEADER_PARTS = 16

SCHEME_TONLE = "tonle"
SCHEME_SHA256 = "sha256"
SCHEMES = (SCHEME_TONLE, SCHEME_SHA256)

# [0-9] and [0-9a-f], not \d or str.isdigit(): those take "²" or "٣" too, which int()
# then refuses (or a 5,000-digit number it refuses to convert)
_TIMESTAMP = re.compile(rf"[0-9]{{1,{MAX_TIMESTAMP_DIGITS}}}")
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")
SHA256_PREFIX = "sha256="


class SignatureError(ValueError):
    """A signature header that is missing, malformed, stale or does not match."""


@dataclass(frozen=True)
class TonleSignature:
    timestamp: int
    signatures: tuple[str, ...]


def _header_text(header: object) -> str:
    if not header:
        raise SignatureError("missing signature header")
    if not isinstance(header, str):
        raise SignatureError("signature header is not text")
    if len(header) > MAX_HEADER_CHARS:
        raise SignatureError(
            f"signature header is longer than {MAX_HEADER_CHARS} characters"
        )
    return header


def signature_parse(header: object) -> TonleSignature:
    """`t=<unix>,v1=<hex>[,v1=<hex>…]` as (timestamp, signatures); other keys are
    ignored (a sender may add schemes we do not know). Raises SignatureError."""
    text = _header_text(header)
    parts = text.split(",")
    if len(parts) > MAX_HEADER_PARTS:
        raise SignatureError(f"signature header has more than {MAX_HEADER_PARTS} parts")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in parts:
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError("malformed signature header (expected key=value)")
        if key == "t":
            if timestamp is not None:
                raise SignatureError("signature header has more than one t=")
            if not _TIMESTAMP.fullmatch(value):
                raise SignatureError(
                    "signature timestamp is not a unix time (ASCII digits, at most "
                    f"{MAX_TIMESTAMP_DIGITS})"
                )
            timestamp = int(value)
        elif key == "v1":
            if not _HEX_DIGEST.fullmatch(value):
                raise SignatureError("v1 is not a 64-character hex HMAC-SHA256")
            signatures.append(value.lower())
            if len(signatures) > MAX_SIGNATURES:
                raise SignatureError(
                    f"signature header has more than {MAX_SIGNATURES} v1 values"
                )
    if timestamp is None or not signatures:
        raise SignatureError("signature header needs t= and v1=")
    return TonleSignature(timestamp=timestamp, signatures=tuple(signatures))


@sensitive_variables()
def signature_compute(*, secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@sensitive_variables()
def signature_header(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value a sender puts in X-Tonle-Signature."""
    ts = int(time.time()) if timestamp is None else timestamp
    return f"t={ts},v1={signature_compute(secret=secret, timestamp=ts, body=body)}"


@sensitive_variables()
def signature_verify(
    *,
    header: str | None,
    secrets: Iterable[str],
    body: bytes,
    now: float | None = None,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check a `t=…,v1=…` header against the raw body; return its timestamp or
    raise SignatureError naming what is wrong. The timestamp must be within
    ±tolerance."""
    parsed = signature_parse(header)
    current = time.time() if now is None else now
    if abs(current - parsed.timestamp) > tolerance:
        raise SignatureError(
            f"signature timestamp is {int(current - parsed.timestamp)} s from now "
            f"(tolerance ±{tolerance} s)"
        )
    for secret in secrets:
        if not secret:
            continue
        expected = signature_compute(
            secret=secret, timestamp=parsed.timestamp, body=body
        )
        if any(hmac.compare_digest(expected, c) for c in parsed.signatures):
            return parsed.timestamp
    raise SignatureError("signature does not match")


def body_signature_parse(header: object) -> str:
    """`sha256=<hex>` as its lower-case hex digest. Raises SignatureError."""
    text = _header_text(header).strip()
    if not text.lower().startswith(SHA256_PREFIX):
        raise SignatureError("X-Signature must be sha256=<hex HMAC-SHA256>")
    digest = text[len(SHA256_PREFIX) :]
    if not _HEX_DIGEST.fullmatch(digest):
        raise SignatureError("sha256= is not a 64-character hex HMAC-SHA256")
    return digest.lower()


@sensitive_variables()
def body_signature_compute(*, secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@sensitive_variables()
def body_signature_header(*, secret: str, body: bytes) -> str:
    """The header value a sender puts in X-Signature (the Hattha brief's scheme)."""
    return SHA256_PREFIX + body_signature_compute(secret=secret, body=body)


@sensitive_variables()
def body_signature_verify(
    *, header: str | None, secrets: Iterable[str], body: bytes
) -> None:
    """Check a `sha256=<hex>` header against the raw body, or raise SignatureError.
    Nothing here bounds a replay: that is the caller's job."""
    digest = body_signature_parse(header)
    for secret in secrets:
        if not secret:
            continue
        if hmac.compare_digest(
            body_signature_compute(secret=secret, body=body), digest
        ):
            return
    raise SignatureError("signature does not match")
