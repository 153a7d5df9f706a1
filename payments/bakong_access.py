"""How Tonle talks to one Bakong provider: the token, the shared Retry-After pause,
the circuit breaker and the optional request pacing, wrapped around BakongClient.

Every process (web, worker, beat, command) shares three facts through the Django
cache (Redis in production, a file cache embedded):

- `resume_at`: a 429's Retry-After pauses EVERY call to the provider until then;
  a call made inside the window is not sent, it raises TransientError with the
  remaining seconds as retry_after;
- the breaker: after BREAKER_THRESHOLD consecutive transient failures (timeouts,
  connection errors, 5xx) no call goes out for BREAKER_COOLDOWN seconds; after the
  cool-down one failure opens it again and one success closes it;
- the renewal lock: on a 401 / errorCode 6 the token is renewed once, by one
  process at a time; the others wait for the new token and use it.

The token lives in BakongTokenState (encrypted, one row per base URL) and falls back
to settings.BAKONG_TOKEN. A token whose JWT `exp` is near is renewed before use.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import httpx
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from core.exceptions import ConfigurationError, TonleError, TransientError
from core.http import RateLimited
from payments.clients.bakong import (
    BakongBulkUnsupported,
    BakongClient,
    BakongUnauthorized,
)
from payments.clients.bakong_types import CheckResult

logger = logging.getLogger("tonle.bakong")

T = TypeVar("T")

# The sandbox knows this integrator without a registration, so the embedded demo
# works with no BAKONG_EMAIL set. Never used when the sandbox is off.
SANDBOX_EMAIL = "sandbox@tonle.local"

BREAKER_THRESHOLD = 5
BREAKER_COOLDOWN = 30.0
DEFAULT_429_PAUSE = 5.0
BULK_UNSUPPORTED_TTL = 3600
RENEWAL_LOCK_TTL = 30
RENEWAL_WAIT = 15.0
# Renew ahead of `exp` by a tenth of the token's life, at most a day.
RENEW_AHEAD_FRACTION = 0.1
RENEW_AHEAD_MAX = 86400.0


class CircuitOpen(TransientError):
    code = "bakong_circuit_open"


class ProviderPaused(TransientError):
    code = "bakong_paused"


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, NOT verified (we only want to know when it expires)."""
    parts = (token or "").split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except (ValueError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def jwt_expires_at(token: str) -> dt.datetime | None:
    exp = jwt_claims(token).get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        return None
    return dt.datetime.fromtimestamp(exp, tz=dt.UTC)


def _renew_due(token: str, *, now: float) -> bool:
    claims = jwt_claims(token)
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        return False
    iat = claims.get("iat")
    life = exp - iat if isinstance(iat, int | float) and iat < exp else RENEW_AHEAD_MAX
    ahead = min(RENEW_AHEAD_MAX, life * RENEW_AHEAD_FRACTION)
    return exp - now <= ahead


def renewal_email() -> str:
    email = (getattr(settings, "BAKONG_EMAIL", "") or "").strip()
    if not email and getattr(settings, "SANDBOX_ENABLED", False):
        return SANDBOX_EMAIL
    return email


class _Pacer:
    """At most `rate` request starts per second in this process (0: no pacing)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self, rate: float) -> None:
        if rate <= 0:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + 1.0 / rate
        if start > now:
            time.sleep(start - now)


_pacers: dict[str, _Pacer] = {}
_pacers_lock = threading.Lock()


def _pacer_for(key: str) -> _Pacer:
    with _pacers_lock:
        return _pacers.setdefault(key, _Pacer())


class BakongAccess:
    """A BakongClient with the token, pause, breaker and pacing rules applied.
    Safe to share between threads of one poll round."""

    def __init__(self, *, client: BakongClient, email: str | None = None) -> None:
        self.client = client
        self.base_url = client.base_url.rstrip("/")
        self.email = renewal_email() if email is None else email
        self.key = hashlib.sha256(self.base_url.encode()).hexdigest()[:16]
        self._token_lock = threading.Lock()
        self._token: str | None = client.token or None
        self._loaded = False
        self._pacer = _pacer_for(self.key)

    @classmethod
    def from_settings(
        cls, transport: httpx.BaseTransport | None = None
    ) -> BakongAccess:
        """Access to the configured provider (BAKONG_BASE_URL or the sandbox)."""
        return cls(client=BakongClient.from_settings(transport=transport))

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> BakongAccess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- cache keys --------------------------------------------------------------

    def _k(self, name: str) -> str:
        return f"tonle:bakong:{self.key}:{name}"

    # -- the 429 pause -----------------------------------------------------------

    def pause_remaining(self) -> float:
        """Seconds until calls may go out again (0 when not paused)."""
        resume_at = cache.get(self._k("resume_at"))
        if resume_at is None:
            return 0.0
        return max(0.0, float(resume_at) - time.time())

    def pause(self, seconds: float) -> None:
        """Pause every call to this provider, in every process, for `seconds`."""
        resume_at = time.time() + max(0.0, seconds)
        current = cache.get(self._k("resume_at"))
        if current is not None and float(current) >= resume_at:
            return
        cache.set(self._k("resume_at"), resume_at, timeout=math.ceil(seconds) + 1)
        logger.warning(
            "bakong.paused",
            extra={"base_url": self.base_url, "retry_after": round(seconds, 3)},
        )

    # -- the circuit breaker ------------------------------------------------------

    def breaker_remaining(self) -> float:
        open_until = cache.get(self._k("open_until"))
        if open_until is None:
            return 0.0
        return max(0.0, float(open_until) - time.time())

    def _record_failure(self) -> None:
        key = self._k("failures")
        cache.add(key, 0, timeout=None)
        try:
            failures = cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, timeout=None)
            failures = 1
        if failures >= BREAKER_THRESHOLD:
            cache.set(
                self._k("open_until"),
                time.time() + BREAKER_COOLDOWN,
                timeout=math.ceil(BREAKER_COOLDOWN) + 1,
            )
            logger.error(
                "bakong.breaker.open",
                extra={"base_url": self.base_url, "failures": failures},
            )

    def _record_success(self) -> None:
        cache.delete_many([self._k("failures"), self._k("open_until")])

    def _gate(self) -> None:
        remaining = self.pause_remaining()
        if remaining > 0:
            raise ProviderPaused(
                f"bakong: paused by Retry-After for {remaining:.1f}s more",
                retry_after=remaining,
            )
        remaining = self.breaker_remaining()
        if remaining > 0:
            raise CircuitOpen(
                f"bakong: circuit open for {remaining:.1f}s more after repeated "
                "failures",
                retry_after=remaining,
            )

    # -- the token ---------------------------------------------------------------

    def _stored_token(self) -> str:
        from payments.models import BakongTokenState

        state = BakongTokenState.objects.filter(base_url=self.base_url).first()
        stored = (state.token or {}).get("token", "") if state else ""
        return stored or (getattr(settings, "BAKONG_TOKEN", "") or "")

    def token(self) -> str:
        """The token to send: the stored one, renewed first if its exp is near."""
        with self._token_lock:
            if not self._loaded:
                self._token = self._stored_token() or self._token or ""
                self._loaded = True
            token = self._token or ""
        if token and self.email and _renew_due(token, now=time.time()):
            try:
                token = self.renew(stale=token)
            except TonleError as exc:
                # The old token still works until exp: carry on with it.
                logger.warning(
                    "bakong.token.renew_ahead_failed", extra={"error": str(exc)}
                )
        return token

    def renew(self, *, stale: str) -> str:
        """Renew the token once (one process at a time) unless someone already
        replaced `stale`; record a failure on BakongTokenState for the admin."""
        lock = self._k("renew_lock")
        deadline = time.monotonic() + RENEWAL_WAIT
        while not cache.add(lock, "1", timeout=RENEWAL_LOCK_TTL):
            fresh = self._stored_token()
            if fresh and fresh != stale:
                return self._use(fresh)
            if time.monotonic() > deadline:
                raise TransientError("bakong: token renewal in progress elsewhere")
            time.sleep(0.05)
        try:
            fresh = self._stored_token()
            if fresh and fresh != stale:
                return self._use(fresh)
            try:
                if not self.email:
                    raise ConfigurationError(
                        "bakong: the token was refused and BAKONG_EMAIL is not set, "
                        "so it cannot be renewed"
                    )
                self._gate()
                email = self.email
                new_token = self._send(lambda c: c.renew_token(email=email), None)
            except TonleError as exc:
                self._record_renewal_failure(exc)
                raise
            self._store(new_token)
            logger.info("bakong.token.renewed", extra={"base_url": self.base_url})
            return self._use(new_token)
        finally:
            cache.delete(lock)

    def _use(self, token: str) -> str:
        with self._token_lock:
            self._token = token
            self._loaded = True
        return token

    def _store(self, token: str) -> None:
        from payments.models import BakongTokenState

        BakongTokenState.objects.update_or_create(
            base_url=self.base_url,
            defaults={
                "token": {"token": token},
                "expires_at": jwt_expires_at(token),
                "renewed_at": timezone.now(),
                "last_error": "",
                "last_error_at": None,
            },
        )

    def _record_renewal_failure(self, exc: TonleError) -> None:
        from payments.models import BakongTokenState

        message = f"{type(exc).__name__}: {exc.message}"[:1000]
        BakongTokenState.objects.update_or_create(
            base_url=self.base_url,
            defaults={"last_error": message, "last_error_at": timezone.now()},
        )
        logger.error(
            "bakong.token.renew_failed",
            extra={"base_url": self.base_url, "error": message},
        )

    # -- one call ----------------------------------------------------------------

    def call(self, operation: Callable[[BakongClient], T]) -> T:
        """Run one client operation under the pause, breaker and token rules; on
        401 / errorCode 6 renew once and retry once."""
        self._gate()
        token = self.token()
        if not token and self.email:
            # Nothing stored and nothing configured: get one before the first call.
            token = self.renew(stale="")
        try:
            return self._send(operation, token)
        except BakongUnauthorized as refused:
            try:
                token = self.renew(stale=token)
            except TransientError:
                raise
            except TonleError as exc:
                raise BakongUnauthorized(
                    f"{refused.message}; renewing the token failed: {exc.message}",
                    error_code=refused.error_code,
                ) from exc
            self._gate()
            return self._send(operation, token)

    def _send(self, operation: Callable[[BakongClient], T], token: str | None) -> T:
        self._pacer.wait(float(getattr(settings, "BAKONG_MAX_REQUESTS_PER_SECOND", 0)))
        # The pause may have started while this thread waited for its turn.
        self._gate()
        if token is not None:
            self.client.token = token
        try:
            result = operation(self.client)
        except RateLimited as exc:
            self.pause(exc.retry_after if exc.retry_after else DEFAULT_429_PAUSE)
            raise
        except TransientError as exc:
            if exc.retry_after:
                self.pause(exc.retry_after)
            self._record_failure()
            raise
        self._record_success()
        return result

    # -- the endpoints the services use -------------------------------------------

    def supports_bulk(self) -> bool:
        """Whether to try the bulk md5 check with this provider."""
        if not getattr(settings, "BAKONG_BULK_MD5", True):
            return False
        return not cache.get(self._k("bulk_unsupported"))

    def check_transaction_by_md5(self, *, md5: str) -> CheckResult:
        return self.call(lambda c: c.check_transaction_by_md5(md5=md5))

    def check_transaction_by_md5_list(
        self, *, md5s: Sequence[str]
    ) -> list[CheckResult]:
        """A bulk check; a provider without the endpoint is remembered for an hour
        and BakongBulkUnsupported is raised so the caller checks singly."""
        try:
            return self.call(lambda c: c.check_transaction_by_md5_list(md5s=md5s))
        except BakongBulkUnsupported:
            cache.set(self._k("bulk_unsupported"), True, timeout=BULK_UNSUPPORTED_TTL)
            logger.info("bakong.bulk.unsupported", extra={"base_url": self.base_url})
            raise

    def check_transaction_by_hash(self, *, hash: str) -> CheckResult:  # noqa: A002
        return self.call(lambda c: c.check_transaction_by_hash(hash=hash))

    def check_transaction_by_short_hash(
        self,
        *,
        hash: str,  # noqa: A002
        amount: Decimal,
        currency: str,
    ) -> CheckResult:
        return self.call(
            lambda c: c.check_transaction_by_short_hash(
                hash=hash, amount=amount, currency=currency
            )
        )

    def check_bakong_account(self, *, account_id: str) -> bool:
        return self.call(lambda c: c.check_bakong_account(account_id=account_id))

    def generate_deeplink_by_qr(
        self,
        *,
        qr: str,
        app_name: str = "",
        app_icon_url: str = "",
        app_deeplink_callback: str = "",
    ) -> str:
        return self.call(
            lambda c: c.generate_deeplink_by_qr(
                qr=qr,
                app_name=app_name,
                app_icon_url=app_icon_url,
                app_deeplink_callback=app_deeplink_callback,
            )
        )
