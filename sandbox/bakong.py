"""The Bakong sandbox: a real HTTP stand-in for the NBC Bakong Open API v1.0.2 at
/sandbox/bakong/v1/..., a simulated payer, and switches for misbehaviour.

It speaks the NBC contract: every answer is the envelope `{"responseCode": 0|1,
"responseMessage", "errorCode", "data"}` with the spec's error codes; tokens are JWTs
(HS256, signed with a secret derived from SECRET_KEY) with `iat` and `exp`; a
missing, forged or expired token answers HTTP 401 with errorCode 6. The check
endpoints answer from SandboxTransaction rows that `sandbox_pay` (the command, the
"Pay this QR (sandbox)" button, or `pay()` in tests) creates.

Answers only when settings.SANDBOX_ENABLED (core.middleware.SandboxGateMiddleware).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from decimal import Decimal, InvalidOperation
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.db import transaction
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from core.exceptions import Conflict, InvalidInput, NotFound
from core.money import CURRENCIES, parse_amount
from sandbox.models import SandboxControl, SandboxIntegrator, SandboxTransaction

logger = logging.getLogger("tonle.sandbox.bakong")

PAYER_ACCOUNT = "sandbox_payer@devb"
FAIL_STATUSES = {429, 500, 502, 503}
MAX_BULK = 50
ACCOUNT_RE = re.compile(r"^[A-Za-z0-9_.\-]+@[A-Za-z0-9_.\-]+$")

MESSAGES = {
    1: "Transaction could not be found. Please check and try again.",
    2: "Sorry, the system does not support static QR code.",
    3: "Transaction failed.",
    4: "Error occurred on requesting deeplink from provider.",
    5: "Missing required fields.",
    6: "Unauthorized.",
    7: "Email server has been down.",
    8: "Email has been registered already.",
    9: "Cannot connect to server. Please try again later.",
    10: "Not registered yet.",
    11: "Account ID not found",
}
_NUMBER_MARK = re.compile(r'"\\u0000num:([-0-9.]+)\\u0000"')


# -- JSON answers ----------------------------------------------------------------


def _dumps(payload: Any) -> str:
    """JSON with Decimal written as a JSON number, as Bakong's samples do."""

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"\u0000num:{value}\u0000"
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    return _NUMBER_MARK.sub(lambda m: m.group(1), json.dumps(mark(payload)))


def _answer(
    *,
    data: Any = None,
    message: str,
    error_code: int | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    body = {
        "responseCode": 0 if error_code is None else 1,
        "responseMessage": message,
        "errorCode": error_code,
        "data": data,
    }
    response = HttpResponse(
        _dumps(body), status=status, content_type="application/json"
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _error(code: int, *, status: int = 200, message: str = "") -> HttpResponse:
    return _answer(message=message or MESSAGES[code], error_code=code, status=status)


def _unauthorized() -> HttpResponse:
    return _error(6, status=401)


def _missing() -> HttpResponse:
    return _error(5, status=400)


def _body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        return None


# -- tokens ----------------------------------------------------------------------


def _secret() -> bytes:
    return hashlib.sha256(
        b"tonle-sandbox-bakong|" + settings.SECRET_KEY.encode()
    ).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(*, email: str, ttl_seconds: int | None = None) -> str:
    """A sandbox JWT for `email` (HS256, with iat, exp and the sandbox's token
    generation, which "expire tokens now" moves on)."""
    switches = control()
    if ttl_seconds is None:
        ttl_seconds = switches.token_ttl_seconds
    now = int(time.time())
    header = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    payload = _b64(
        json.dumps(
            {
                "exp": now + ttl_seconds,
                "iat": now,
                "data": {"id": hashlib.sha256(email.encode()).hexdigest()[:15]},
                "gen": switches.token_generation,
            }
        ).encode()
    )
    signature = hmac.new(_secret(), f"{header}.{payload}".encode(), "sha256").digest()
    return f"{header}.{payload}.{_b64(signature)}"


def token_is_valid(token: str, *, switches: SandboxControl | None = None) -> bool:
    """Signed by this sandbox, not expired, of the current token generation."""
    parts = token.split(".")
    if len(parts) != 3:
        return False
    expected = hmac.new(_secret(), f"{parts[0]}.{parts[1]}".encode(), "sha256").digest()
    try:
        if not hmac.compare_digest(expected, _unb64(parts[2])):
            return False
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, UnicodeDecodeError):
        return False
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or not isinstance(iat, int):
        return False
    if exp <= time.time():
        return False
    switches = switches or control()
    return claims.get("gen") == switches.token_generation


# -- switches ----------------------------------------------------------------------


def control() -> SandboxControl:
    """The sandbox's switches (created on first use)."""
    switches = SandboxControl.objects.filter(pk=1).first()
    if switches is None:
        switches, _ = SandboxControl.objects.get_or_create(pk=1)
    return switches


def control_reset() -> SandboxControl:
    """Every switch back to normal behaviour."""
    SandboxControl.objects.filter(pk=1).delete()
    return control()


def control_set(
    *,
    fail_status: int | None = None,
    fail_times: int | None = None,
    retry_after: int | None = None,
    delay_ms: int | None = None,
    token_ttl_seconds: int | None = None,
    bulk_enabled: bool | None = None,
    expire_tokens: bool = False,
) -> SandboxControl:
    """Change some switches. fail_status 0 answers normally; fail_times None fails
    until switched off, n fails the next n calls; expire_tokens refuses every
    token issued so far."""
    if fail_status is not None and fail_status not in FAIL_STATUSES | {0}:
        raise InvalidInput(
            "fail_status must be 0, 429, 500, 502 or 503", field="fail_status"
        )
    if fail_times is not None and fail_times < 1:
        raise InvalidInput("fail_times must be 1 or more", field="fail_times")
    for name, value in (
        ("retry_after", retry_after),
        ("delay_ms", delay_ms),
        ("token_ttl_seconds", token_ttl_seconds),
    ):
        if value is not None and value < 0:
            raise InvalidInput(f"{name} must not be negative", field=name)
    switches = control()
    if fail_status is not None:
        switches.fail_status = fail_status
        switches.fail_remaining = fail_times if fail_times is not None else -1
        if fail_status == 0:
            switches.paused_until = None
    if retry_after is not None:
        switches.retry_after = retry_after
    if delay_ms is not None:
        switches.delay_ms = delay_ms
    if token_ttl_seconds is not None:
        switches.token_ttl_seconds = token_ttl_seconds
    if bulk_enabled is not None:
        switches.bulk_enabled = bulk_enabled
    if expire_tokens:
        switches.token_generation += 1
    switches.save()
    return switches


def _misbehave(switches: SandboxControl) -> HttpResponse | None:
    """The answer the switches impose on this call, if any."""
    now = timezone.now()
    if switches.paused_until and now < switches.paused_until:
        SandboxControl.objects.filter(pk=1).update(
            calls_in_pause=F("calls_in_pause") + 1
        )
        remaining = max(1, int((switches.paused_until - now).total_seconds() + 0.999))
        return _too_many(remaining)
    if not switches.fail_status:
        return None
    if switches.fail_remaining >= 0:
        taken = SandboxControl.objects.filter(pk=1, fail_remaining__gt=0).update(
            fail_remaining=F("fail_remaining") - 1
        )
        SandboxControl.objects.filter(pk=1, fail_remaining=0).update(
            fail_status=0, fail_remaining=-1
        )
        if not taken:
            return None
    if switches.fail_status == 429:
        SandboxControl.objects.filter(pk=1).update(
            paused_until=now + dt.timedelta(seconds=switches.retry_after)
        )
        return _too_many(switches.retry_after)
    headers = {}
    if switches.fail_status == 503:
        headers["Retry-After"] = str(switches.retry_after)
    return HttpResponse(
        "<html><body><h1>Service unavailable</h1></body></html>",
        status=switches.fail_status,
        content_type="text/html",
        headers=headers,
    )


def _too_many(seconds: int) -> HttpResponse:
    response = HttpResponse(
        json.dumps(
            {
                "responseCode": 1,
                "responseMessage": "Too many requests",
                "errorCode": None,
                "data": None,
            }
        ),
        status=429,
        content_type="application/json",
    )
    response["Retry-After"] = str(seconds)
    return response


def _endpoint(*, auth: bool):
    """Decorate a v1 view: POST only, CSRF-exempt, switches applied, the bearer
    token checked when `auth`."""

    def wrap(view):
        @csrf_exempt
        def wrapped(request: HttpRequest) -> HttpResponse:
            switches = control()
            if switches.delay_ms:
                time.sleep(switches.delay_ms / 1000)
            imposed = _misbehave(switches)
            if imposed is not None:
                return imposed
            if request.method != "POST":
                return HttpResponse(status=405, headers={"Allow": "POST"})
            if auth:
                header = request.headers.get("Authorization", "")
                scheme, _, token = header.partition(" ")
                if scheme.lower() != "bearer" or not token_is_valid(
                    token.strip(), switches=switches
                ):
                    return _unauthorized()
            return view(request)

        wrapped.__name__ = view.__name__
        wrapped.__doc__ = view.__doc__
        return wrapped

    return wrap


# -- the simulated payer ------------------------------------------------------------


def _payee_of(md5: str) -> tuple[str, Decimal | None, str, str]:
    """(to account, amount, currency, bill number) of the Tonle request with this
    md5: what a payer's bank app reads from the scanned QR."""
    from payments.models import PaymentRequest

    request = (
        PaymentRequest.objects.filter(md5=md5)
        .select_related("merchant", "account")
        .first()
    )
    if request is None:
        raise NotFound(f"no KHQR code with md5 {md5}: give --amount and --currency")
    to_account = ""
    try:
        from payments.khqr import decode

        to_account = decode(request.qr).bakong_account_id or ""
    except Exception:  # noqa: BLE001 - a code we cannot read still has a payee
        to_account = ""
    if not to_account and request.account_id:
        to_account = request.account.bakong_account_id
    if not to_account:
        to_account = request.merchant.bakong_account_id
    return to_account, request.amount, request.currency, request.bill_number


@transaction.atomic
def pay(
    *,
    md5: str,
    amount: Decimal | str | None = None,
    currency: str | None = None,
    failed: bool = False,
    from_account_id: str = PAYER_ACCOUNT,
    again: bool = False,
    paid_at: dt.datetime | None = None,
) -> SandboxTransaction:
    """The simulated payer pays the code with this md5: its own amount and currency
    unless others are given (to test mismatches). A code is paid once, unless
    `again` (a customer who pays twice: another transaction). `paid_at` backdates
    the payment (the demo's history)."""
    md5 = (md5 or "").strip().lower()
    if not re.fullmatch(r"[0-9a-f]{32}", md5):
        raise InvalidInput("md5 must be 32 hexadecimal characters", field="md5")
    if currency is not None:
        currency = currency.strip().upper()
        if currency not in CURRENCIES:
            raise InvalidInput(f"unknown currency {currency!r}", field="currency")
    try:
        to_account, own_amount, own_currency, bill = _payee_of(md5)
    except NotFound:
        if amount in (None, "") or not currency:
            raise
        to_account, own_amount, own_currency, bill = "unknown@devb", None, currency, ""
    currency = currency or own_currency
    if amount in (None, ""):
        if own_amount is None:
            raise InvalidInput(
                "this is a static code: give the amount the payer types",
                field="amount",
            )
        value = own_amount
    elif isinstance(amount, Decimal):
        value = amount
    else:
        value = parse_amount(str(amount), currency)
    if value <= 0:
        raise InvalidInput("amount must be more than zero", field="amount")
    if (
        not again
        and SandboxTransaction.objects.filter(
            md5=md5, status=SandboxTransaction.Status.SUCCESS
        ).exists()
    ):
        raise Conflict(
            f"the code {md5} is already paid in the sandbox (--again pays it twice)"
        )
    now = paid_at or timezone.now()
    tx = SandboxTransaction.objects.create(
        hash=hashlib.sha256(f"{md5}|{secrets.token_hex(16)}".encode()).hexdigest(),
        md5=md5,
        from_account_id=from_account_id,
        to_account_id=to_account,
        amount=value,
        currency=currency,
        description=bill or "sandbox payment",
        external_ref=f"SBX{secrets.token_hex(6).upper()}",
        status=(
            SandboxTransaction.Status.FAILED
            if failed
            else SandboxTransaction.Status.SUCCESS
        ),
        created_at=now,
        acknowledged_at=now,
    )
    logger.info(
        "sandbox.bakong.paid",
        extra={"md5": md5, "amount": str(value), "currency": currency},
    )
    return tx


def _transaction_data(tx: SandboxTransaction, *, amount_as_string: bool = False):
    return {
        "hash": tx.hash,
        "fromAccountId": tx.from_account_id,
        "toAccountId": tx.to_account_id,
        "currency": tx.currency,
        "amount": str(tx.amount) if amount_as_string else tx.amount,
        "description": tx.description,
        "createdDateMs": int(tx.created_at.timestamp() * 1000),
        "acknowledgedDateMs": int(tx.acknowledged_at.timestamp() * 1000),
        "trackingStatus": None,
        "receiverBank": None,
        "receiverBankAccount": None,
        "instructionRef": None,
        "externalRef": tx.external_ref,
    }


def _answer_for(tx: SandboxTransaction | None) -> HttpResponse:
    if tx is None:
        return _error(1)
    if tx.status == SandboxTransaction.Status.FAILED:
        return _error(3)
    return _answer(
        data=_transaction_data(tx), message="Getting transaction successfully."
    )


def _by_md5(md5: str) -> SandboxTransaction | None:
    rows = list(SandboxTransaction.objects.filter(md5=md5)[:5])
    for tx in rows:
        if tx.status == SandboxTransaction.Status.SUCCESS:
            return tx
    return rows[0] if rows else None


def _text(body: Any, name: str, *, min_len: int = 1, max_len: int = 255) -> str | None:
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, str) or not min_len <= len(value) <= max_len:
        return None
    return value


# -- the v1 endpoints --------------------------------------------------------------


@_endpoint(auth=False)
def request_token(request: HttpRequest) -> HttpResponse:
    """Register an integrator; the verification code is "mailed" (shown on the
    sandbox control page and logged)."""
    body = _body(request)
    email = _text(body, "email", max_len=30)
    organization = _text(body, "organization", max_len=100)
    project = _text(body, "project", max_len=100)
    if not email or not organization or not project:
        return _missing()
    existing = SandboxIntegrator.objects.filter(email=email).first()
    if existing and existing.verified_at:
        return _error(8)
    code = secrets.token_hex(10)
    SandboxIntegrator.objects.update_or_create(
        email=email,
        defaults={"organization": organization, "project": project, "code": code},
    )
    logger.info("sandbox.bakong.code_sent", extra={"email": email, "code": code})
    return _answer(message="Email has been sent")


@_endpoint(auth=False)
def verify(request: HttpRequest) -> HttpResponse:
    """Trade a mailed code for a token."""
    code = _text(_body(request), "code", min_len=20, max_len=20)
    if not code:
        return _missing()
    integrator = SandboxIntegrator.objects.filter(code=code).first()
    if integrator is None:
        return _error(10)
    integrator.verified_at = integrator.verified_at or timezone.now()
    integrator.save(update_fields=["verified_at"])
    return _answer(
        data={"token": issue_token(email=integrator.email)},
        message="Token has been issued",
    )


@_endpoint(auth=False)
def renew_token(request: HttpRequest) -> HttpResponse:
    """A new token for a verified email (or the built-in sandbox integrator)."""
    from payments.bakong_access import SANDBOX_EMAIL

    email = _text(_body(request), "email", max_len=30)
    if not email:
        return _missing()
    known = (
        email == SANDBOX_EMAIL
        or SandboxIntegrator.objects.filter(
            email=email, verified_at__isnull=False
        ).exists()
    )
    if not known:
        return _error(10)
    return _answer(
        data={"token": issue_token(email=email)}, message="Token has been issued"
    )


@_endpoint(auth=True)
def generate_deeplink_by_qr(request: HttpRequest) -> HttpResponse:
    """A short link that opens the QR for payment (here: the sandbox pay page)."""
    body = _body(request)
    qr = _text(body, "qr", max_len=2000)
    if not qr:
        return _missing()
    if isinstance(body, dict) and body.get("sourceInfo") is not None:
        # Spec 003: once sourceInfo is sent, its three fields are mandatory.
        source = body["sourceInfo"]
        if not isinstance(source, dict) or not all(
            _text(source, name, max_len=500)
            for name in ("appIconUrl", "appName", "appDeepLinkCallback")
        ):
            return _missing()
    from payments.khqr import verify as khqr_verify

    if not khqr_verify(qr):
        return _error(4)
    md5 = hashlib.md5(qr.encode(), usedforsecurity=False).hexdigest()
    root = request.path.rsplit("/v1/", 1)[0]
    # A new link on every call, like Bakong's (it depends on the call, not the QR).
    nonce = secrets.token_urlsafe(6)
    link = request.build_absolute_uri(f"{root}/pay/?md5={md5}&l={nonce}")
    return _answer(data={"shortLink": link}, message="Getting deep link successfully")


@_endpoint(auth=True)
def check_transaction_by_md5(request: HttpRequest) -> HttpResponse:
    md5 = _text(_body(request), "md5")
    if not md5:
        return _missing()
    return _answer_for(_by_md5(md5.lower()))


@_endpoint(auth=True)
def check_transaction_by_hash(request: HttpRequest) -> HttpResponse:
    tx_hash = _text(_body(request), "hash")
    if not tx_hash:
        return _missing()
    return _answer_for(SandboxTransaction.objects.filter(hash=tx_hash.lower()).first())


@_endpoint(auth=True)
def check_transaction_by_short_hash(request: HttpRequest) -> HttpResponse:
    body = _body(request)
    short = _text(body, "hash", min_len=8, max_len=8)
    raw_amount = body.get("amount") if isinstance(body, dict) else None
    currency = _text(body, "currency", max_len=3)
    if not short or currency not in ("KHR", "USD") or raw_amount is None:
        return _missing()
    if isinstance(raw_amount, bool):
        return _missing()
    try:
        amount = Decimal(str(raw_amount))
    except InvalidOperation:
        return _missing()
    if not amount.is_finite():
        return _missing()
    candidates = SandboxTransaction.objects.filter(
        hash__startswith=short.lower(), currency=currency
    )
    tx = next((c for c in candidates if c.amount == amount), None)
    return _answer_for(tx)


@_endpoint(auth=True)
def check_transaction_by_md5_list(request: HttpRequest) -> HttpResponse:
    """Up to 50 md5s (a JSON array) in one call; each answered with its status."""
    if not control().bulk_enabled:
        return HttpResponse(status=404)
    body = _body(request)
    if (
        not isinstance(body, list)
        or not body
        or len(body) > MAX_BULK
        or not all(isinstance(m, str) and m for m in body)
    ):
        return _missing()
    wanted = [m.lower() for m in body]
    found: dict[str, SandboxTransaction] = {}
    for tx in SandboxTransaction.objects.filter(md5__in=wanted).order_by("created_at"):
        current = found.get(tx.md5)
        if current is None or current.status != SandboxTransaction.Status.SUCCESS:
            found[tx.md5] = tx
    items = []
    for md5 in wanted:
        tx = found.get(md5)
        if tx is None:
            items.append(
                {
                    "md5": md5,
                    "status": "NOT_FOUND",
                    "message": MESSAGES[1],
                    "data": None,
                }
            )
        elif tx.status == SandboxTransaction.Status.FAILED:
            items.append(
                {"md5": md5, "status": "FAILED", "message": MESSAGES[3], "data": None}
            )
        else:
            items.append(
                {
                    "md5": md5,
                    "status": "SUCCESS",
                    "message": "Getting transaction successfully.",
                    # The spec types amounts as strings: this endpoint sends them so.
                    "data": _transaction_data(tx, amount_as_string=True),
                }
            )
    return _answer(data=items, message="Getting transaction successfully.")


@_endpoint(auth=True)
def check_bakong_account(request: HttpRequest) -> HttpResponse:
    """An account exists when a merchant, an account or a payment names it."""
    from merchants.models import Account, Merchant

    account_id = _text(_body(request), "accountId", max_len=100)
    if not account_id:
        return _missing()
    exists = ACCOUNT_RE.match(account_id) and (
        account_id == PAYER_ACCOUNT
        or Merchant.objects.filter(bakong_account_id=account_id).exists()
        or Account.objects.filter(bakong_account_id=account_id).exists()
        or SandboxTransaction.objects.filter(from_account_id=account_id).exists()
    )
    if exists:
        return _answer(message="Account ID exists")
    return _error(11)


# -- the pages: pay and control ------------------------------------------------------


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@csrf_exempt
@require_http_methods(["GET", "POST"])
def pay_view(request: HttpRequest) -> HttpResponse:
    """GET: a page with a "Pay this QR (sandbox)" button; POST (md5, optional amount,
    currency, next): the simulated payer pays, then back to `next`."""
    if request.method == "GET":
        return render(
            request,
            "sandbox/bakong_pay.html",
            {"md5": request.GET.get("md5", ""), "next": request.GET.get("next", "")},
        )
    try:
        tx = pay(
            md5=request.POST.get("md5", ""),
            amount=request.POST.get("amount") or None,
            currency=request.POST.get("currency") or None,
        )
    except (InvalidInput, NotFound, Conflict) as exc:
        return render(
            request,
            "sandbox/bakong_pay.html",
            {
                "md5": request.POST.get("md5", ""),
                "next": request.POST.get("next", ""),
                "error": exc.message,
            },
            status=exc.http_status,
        )
    return HttpResponseRedirect(_safe_next(request, f"{request.path}?paid={tx.hash}"))


def _switches_json(switches: SandboxControl) -> dict[str, Any]:
    return {
        "fail_status": switches.fail_status,
        "fail_remaining": switches.fail_remaining,
        "retry_after": switches.retry_after,
        "delay_ms": switches.delay_ms,
        "token_ttl_seconds": switches.token_ttl_seconds,
        "token_generation": switches.token_generation,
        "bulk_enabled": switches.bulk_enabled,
        "paused_until": switches.paused_until.isoformat()
        if switches.paused_until
        else None,
        "calls_in_pause": switches.calls_in_pause,
    }


def _int_or_none(value: Any, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be a whole number", field=name) from None


def _bool_or_none(value: Any) -> bool | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "on", "yes")


def _sandbox_on(view):
    """404 unless SANDBOX_ENABLED, whatever the URL table holds."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not settings.SANDBOX_ENABLED:
            raise Http404("the sandbox is off")
        return view(request, *args, **kwargs)

    return wrapped


@_sandbox_on
@staff_member_required
@csrf_protect
@require_http_methods(["GET", "POST"])
def control_view(request: HttpRequest) -> HttpResponse:
    """The switches, for a signed-in staff user: GET shows them (JSON when asked
    for), POST changes them (form, or JSON with the X-CSRFToken header); `reset`
    puts everything back. Tests and scripts call control_set() directly."""
    wants_json = (
        "application/json" in request.headers.get("Accept", "")
        or request.content_type == "application/json"
    )
    if request.method == "POST":
        if request.content_type == "application/json":
            fields = _body(request)
            if not isinstance(fields, dict):
                fields = None
        else:
            fields = request.POST.dict()
        try:
            if fields is None:
                raise InvalidInput("the body must be a JSON object")
            if _bool_or_none(fields.get("reset")):
                control_reset()
            else:
                control_set(
                    fail_status=_int_or_none(fields.get("fail_status"), "fail_status"),
                    fail_times=_int_or_none(fields.get("fail_times"), "fail_times"),
                    retry_after=_int_or_none(fields.get("retry_after"), "retry_after"),
                    delay_ms=_int_or_none(fields.get("delay_ms"), "delay_ms"),
                    token_ttl_seconds=_int_or_none(
                        fields.get("token_ttl_seconds"), "token_ttl_seconds"
                    ),
                    bulk_enabled=_bool_or_none(fields.get("bulk_enabled")),
                    expire_tokens=bool(_bool_or_none(fields.get("expire_tokens"))),
                )
        except InvalidInput as exc:
            if wants_json:
                return HttpResponse(
                    json.dumps({"error": exc.code, "message": exc.message}),
                    status=400,
                    content_type="application/json",
                )
            return render(
                request,
                "sandbox/bakong_control.html",
                _control_context(error=exc.message),
                status=400,
            )
        if not wants_json:
            return HttpResponseRedirect(request.path)
    if wants_json:
        return HttpResponse(
            json.dumps(_switches_json(control())), content_type="application/json"
        )
    return render(request, "sandbox/bakong_control.html", _control_context())


def _control_context(error: str = "") -> dict[str, Any]:
    return {
        "switches": control(),
        "integrators": SandboxIntegrator.objects.order_by("-created_at")[:10],
        "transactions": SandboxTransaction.objects.all()[:20],
        "error": error,
    }
