"""The NBC Bakong Open API (v1.0.2) over httpx: one method per endpoint, the
envelope `{"responseCode", "responseMessage", "errorCode", "data"}` mapped to the
typed results in bakong_types, amounts converted once via Decimal(str(x)).

No ORM, no Celery, no token storage here: payments.bakong_access wraps this client
with token renewal, the shared Retry-After pause and the circuit breaker.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from django.conf import settings

from core.exceptions import (
    ConfigurationError,
    InvalidInput,
    PermanentError,
    TransientError,
)
from core.http import HttpClient
from core.money import MoneyError, decimal_from_wire
from payments.clients.bakong_types import (
    BakongTransactionInfo,
    CheckResult,
    CheckStatus,
)

MAX_BULK_MD5 = 50

# Bakong's own error codes (the spec's "Custom Code" table).
ERROR_NOT_FOUND = 1
ERROR_STATIC_QR = 2
ERROR_TRANSACTION_FAILED = 3
ERROR_DEEPLINK_PROVIDER = 4
ERROR_MISSING_FIELDS = 5
ERROR_UNAUTHORIZED = 6
ERROR_EMAIL_SERVER_DOWN = 7
ERROR_EMAIL_REGISTERED = 8
ERROR_CANNOT_CONNECT = 9
ERROR_NOT_REGISTERED = 10
# Bakong's own trouble: worth trying again later.
TRANSIENT_ERROR_CODES = {ERROR_EMAIL_SERVER_DOWN, ERROR_CANNOT_CONNECT}

_BULK_STATUS = {
    "SUCCESS": CheckStatus.FOUND,
    "PAID": CheckStatus.FOUND,
    "NOT_FOUND": CheckStatus.NOT_FOUND,
    "FAILED": CheckStatus.FAILED,
    "STATIC_QR": CheckStatus.STATIC_QR,
}
_NUMBER_MARK = re.compile(r'"\\u0000num:([-0-9.]+)\\u0000"')


class BakongError(PermanentError):
    """Bakong answered responseCode 1 with an errorCode we do not turn into a
    result (missing fields, not registered, deeplink provider down, ...)."""

    code = "bakong_error"

    def __init__(self, message: str, *, error_code: int | None = None) -> None:
        super().__init__(message)
        self.error_code = error_code


class BakongUnauthorized(BakongError):
    """HTTP 401 or errorCode 6: the token is missing, wrong or expired."""

    code = "bakong_unauthorized"


class BakongBulkUnsupported(BakongError):
    """The configured provider has no bulk md5 endpoint (it answered 404/405)."""

    code = "bakong_bulk_unsupported"


def parse_amount(value: Any, *, field: str = "amount") -> Decimal:
    """A Bakong amount (a JSON number or a string) as an exact Decimal."""
    try:
        return decimal_from_wire(value)
    except MoneyError:
        raise PermanentError(f"bakong: {field} {value!r} is not an amount") from None


def _optional_int(value: Any) -> int | None:
    if value in (None, "") or isinstance(value, bool):
        return None
    try:
        return int(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None


def transaction_info(data: dict[str, Any], *, md5: str = "") -> BakongTransactionInfo:
    """The typed transaction of a check answer's `data` object."""
    if not isinstance(data, dict):
        raise PermanentError("bakong: transaction data is not an object")
    tx_hash = data.get("hash")
    if not isinstance(tx_hash, str) or not tx_hash:
        raise PermanentError("bakong: transaction data has no hash")
    currency = data.get("currency")
    if not isinstance(currency, str) or not currency:
        raise PermanentError("bakong: transaction data has no currency")
    return BakongTransactionInfo(
        hash=tx_hash,
        from_account_id=str(data.get("fromAccountId") or ""),
        to_account_id=str(data.get("toAccountId") or ""),
        currency=currency.strip().upper(),
        amount=parse_amount(data.get("amount")),
        description=str(data.get("description") or ""),
        created_date_ms=_optional_int(data.get("createdDateMs")),
        acknowledged_date_ms=_optional_int(data.get("acknowledgedDateMs")),
        external_ref=str(data.get("externalRef") or ""),
        md5=str(data.get("md5") or md5),
        raw=data,
    )


def encode_json(payload: Any) -> bytes:
    """JSON with Decimal values written as JSON numbers (never through float)."""

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"\u0000num:{value}\u0000"
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(payload), separators=(",", ":"))
    return _NUMBER_MARK.sub(lambda m: m.group(1), text).encode()


def default_base_url() -> str:
    """settings.BAKONG_BASE_URL, else the built-in sandbox on this server."""
    configured = (getattr(settings, "BAKONG_BASE_URL", "") or "").strip()
    if configured:
        return configured.rstrip("/")
    return settings.SITE_URL.rstrip("/") + "/sandbox/bakong"


class BakongClient(HttpClient):
    """One method per Bakong Open API endpoint. `token` is the bearer JWT; the
    caller (bakong_access) sets and renews it."""

    system = "bakong"

    def __init__(
        self,
        *,
        base_url: str,
        token: str = "",
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"BAKONG_BASE_URL {base_url!r} is not an URL")
        kwargs: dict[str, Any] = {"transport": transport}
        if timeout is not None:
            kwargs["timeout"] = timeout
        # A relay keeps its own path prefix: paths below are joined, not absolute.
        super().__init__(base_url=base_url.rstrip("/") + "/", **kwargs)
        self.token = token

    @classmethod
    def from_settings(
        cls, transport: httpx.BaseTransport | None = None
    ) -> BakongClient:
        """A client for the configured provider (or the built-in sandbox)."""
        return cls(
            base_url=default_base_url(),
            token=getattr(settings, "BAKONG_TOKEN", "") or "",
            transport=transport,
        )

    # -- the envelope ------------------------------------------------------------

    def _post(self, endpoint: str, body: Any, *, auth: bool) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth and self.token:
            # No token at all: send none, Bakong answers 401 (a renewal follows).
            headers["Authorization"] = f"Bearer {self.token}"
        response = self.request(
            "POST", f"v1/{endpoint}", content=encode_json(body), headers=headers
        )
        if response.status_code == 401:
            raise BakongUnauthorized(
                f"bakong: {endpoint} refused the token (401)",
                error_code=ERROR_UNAUTHORIZED,
            )
        if response.status_code in (404, 405) and endpoint.endswith("_list"):
            raise BakongBulkUnsupported(
                f"bakong: {endpoint} is not offered by this provider "
                f"({response.status_code})"
            )
        envelope = self.json_of(response)
        if not isinstance(envelope, dict) or "responseCode" not in envelope:
            raise PermanentError(
                f"bakong: {endpoint} answered {response.status_code} without the "
                "Bakong envelope"
            )
        if envelope.get("errorCode") == ERROR_UNAUTHORIZED:
            message = envelope.get("responseMessage") or "unauthorized"
            raise BakongUnauthorized(
                f"bakong: {endpoint}: {message}",
                error_code=ERROR_UNAUTHORIZED,
            )
        if response.status_code >= 400 and envelope.get("responseCode") == 0:
            raise PermanentError(f"bakong: {endpoint} answered {response.status_code}")
        return envelope

    def _fail(self, endpoint: str, envelope: dict[str, Any]) -> None:
        error_code = _optional_int(envelope.get("errorCode"))
        message = str(envelope.get("responseMessage") or "failed")
        if error_code in TRANSIENT_ERROR_CODES:
            raise TransientError(f"bakong: {endpoint}: {message}")
        raise BakongError(f"bakong: {endpoint}: {message}", error_code=error_code)

    def _data(self, endpoint: str, envelope: dict[str, Any]) -> Any:
        if envelope.get("responseCode") != 0:
            self._fail(endpoint, envelope)
        return envelope.get("data")

    def _token_of(self, endpoint: str, envelope: dict[str, Any]) -> str:
        data = self._data(endpoint, envelope)
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise PermanentError(f"bakong: {endpoint} answered without a token")
        return token

    def _check(self, endpoint: str, body: dict[str, Any], *, md5: str) -> CheckResult:
        envelope = self._post(endpoint, body, auth=True)
        message = str(envelope.get("responseMessage") or "")
        if envelope.get("responseCode") == 0:
            info = transaction_info(envelope.get("data"), md5=md5)
            return CheckResult(
                md5=md5, status=CheckStatus.FOUND, transaction=info, message=message
            )
        error_code = _optional_int(envelope.get("errorCode"))
        status = {
            ERROR_NOT_FOUND: CheckStatus.NOT_FOUND,
            ERROR_TRANSACTION_FAILED: CheckStatus.FAILED,
            ERROR_STATIC_QR: CheckStatus.STATIC_QR,
        }.get(error_code)
        if status is None:
            self._fail(endpoint, envelope)
        return CheckResult(md5=md5, status=status, message=message)

    # -- token -------------------------------------------------------------------

    def request_token(self, *, email: str, organization: str, project: str) -> str:
        """Register an integrator; Bakong mails a verification code. Returns the
        answer's message."""
        envelope = self._post(
            "request_token",
            {"email": email, "organization": organization, "project": project},
            auth=False,
        )
        self._data("request_token", envelope)
        return str(envelope.get("responseMessage") or "")

    def verify(self, *, code: str) -> str:
        """Trade the mailed 20-character code for a token."""
        return self._token_of(
            "verify", self._post("verify", {"code": code}, auth=False)
        )

    def renew_token(self, *, email: str) -> str:
        """A new token for a registered email (the old one has expired)."""
        if not email:
            raise ConfigurationError("bakong: renew_token needs BAKONG_EMAIL")
        return self._token_of(
            "renew_token", self._post("renew_token", {"email": email}, auth=False)
        )

    # -- deeplink and account ----------------------------------------------------

    def generate_deeplink_by_qr(
        self,
        *,
        qr: str,
        app_name: str = "",
        app_icon_url: str = "",
        app_deeplink_callback: str = "",
    ) -> str:
        """The Bakong app short link that opens this QR for payment. The source
        info is sent whole or not at all: Bakong refuses one with an empty field
        (spec 003 makes all three mandatory once sourceInfo is there)."""
        body: dict[str, Any] = {"qr": qr}
        source = {
            "appIconUrl": app_icon_url,
            "appName": app_name,
            "appDeepLinkCallback": app_deeplink_callback,
        }
        if any(source.values()):
            missing = [
                field
                for field, value in (
                    ("app_name", app_name),
                    ("app_icon_url", app_icon_url),
                    ("app_deeplink_callback", app_deeplink_callback),
                )
                if not value
            ]
            if missing:
                raise InvalidInput(
                    f"{', '.join(missing)}: the deeplink's source info needs an app "
                    "name, an icon URL and a callback URL, or none of them",
                    field=missing[0],
                )
            body["sourceInfo"] = source
        data = self._data(
            "generate_deeplink_by_qr",
            self._post("generate_deeplink_by_qr", body, auth=True),
        )
        link = data.get("shortLink") if isinstance(data, dict) else None
        if not isinstance(link, str) or not link:
            raise PermanentError("bakong: generate_deeplink_by_qr gave no shortLink")
        return link

    def check_bakong_account(self, *, account_id: str) -> bool:
        """Whether `name@bank` is an existing Bakong account."""
        envelope = self._post(
            "check_bakong_account", {"accountId": account_id}, auth=True
        )
        if envelope.get("responseCode") == 0:
            return True
        if _optional_int(envelope.get("errorCode")) in TRANSIENT_ERROR_CODES:
            self._fail("check_bakong_account", envelope)
        return False

    # -- transaction checks ------------------------------------------------------

    def check_transaction_by_md5(self, *, md5: str) -> CheckResult:
        """Is the code with this md5 paid? found / not found / failed."""
        if not md5:
            raise InvalidInput("md5 is required", field="md5")
        return self._check("check_transaction_by_md5", {"md5": md5}, md5=md5)

    def check_transaction_by_hash(self, *, hash: str) -> CheckResult:  # noqa: A002
        """The transaction with this full (64 hex) hash."""
        if not hash:
            raise InvalidInput("hash is required", field="hash")
        return self._check("check_transaction_by_hash", {"hash": hash}, md5="")

    def check_transaction_by_short_hash(
        self,
        *,
        hash: str,  # noqa: A002
        amount: Decimal,
        currency: str,
    ) -> CheckResult:
        """The transaction with this 8-character hash prefix, amount and currency."""
        if len(hash or "") != 8:
            raise InvalidInput("a short hash is 8 characters", field="hash")
        if not isinstance(amount, Decimal):
            raise InvalidInput("amount must be a Decimal", field="amount")
        if currency not in ("KHR", "USD"):
            raise InvalidInput("currency must be KHR or USD", field="currency")
        return self._check(
            "check_transaction_by_short_hash",
            {"hash": hash, "amount": amount, "currency": currency},
            md5="",
        )

    def check_transaction_by_md5_list(
        self, *, md5s: Sequence[str]
    ) -> list[CheckResult]:
        """Up to 50 md5s in one call, answered in the order asked. A SUCCESS item
        without its transaction is looked up by md5 singly."""
        md5s = list(md5s)
        if not md5s:
            return []
        if len(md5s) > MAX_BULK_MD5:
            raise InvalidInput(
                f"at most {MAX_BULK_MD5} md5s per bulk check", field="md5s"
            )
        envelope = self._post("check_transaction_by_md5_list", md5s, auth=True)
        data = self._data("check_transaction_by_md5_list", envelope)
        if not isinstance(data, list):
            raise PermanentError(
                "bakong: check_transaction_by_md5_list data is not a list"
            )
        by_md5: dict[str, dict[str, Any]] = {}
        for position, item in enumerate(data):
            if not isinstance(item, dict):
                continue
            key = item.get("md5")
            if not isinstance(key, str):
                key = md5s[position] if position < len(md5s) else ""
            by_md5[key] = item
        results = []
        for md5 in md5s:
            item = by_md5.get(md5)
            if item is None:
                results.append(
                    CheckResult(md5=md5, status=CheckStatus.NOT_FOUND, message="absent")
                )
                continue
            status = _BULK_STATUS.get(str(item.get("status", "")).upper())
            message = str(item.get("message") or "")
            if status is None:
                status = CheckStatus.NOT_FOUND
            if status is CheckStatus.FOUND:
                payload = (
                    item.get("data") if isinstance(item.get("data"), dict) else item
                )
                if isinstance(payload, dict) and payload.get("hash"):
                    info = transaction_info(payload, md5=md5)
                    results.append(
                        CheckResult(
                            md5=md5, status=status, transaction=info, message=message
                        )
                    )
                else:
                    results.append(self.check_transaction_by_md5(md5=md5))
                continue
            results.append(CheckResult(md5=md5, status=status, message=message))
        return results
