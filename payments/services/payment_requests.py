"""KHQR payment requests: create one (idempotently), cancel one.

What Bakong says about a request is applied by `payments.services.settlement`
(re-exported here for the callers that import it from this module).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import unicodedata
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from core.exceptions import Conflict, InvalidInput, MerchantNotConfigured, NotFound
from core.money import MoneyError, parse_amount
from merchants.models import Account, ApiKey, Merchant, Provider
from merchants.services import audit_event_record
from payments import khqr
from payments.models import PaymentRequest, PaymentStatus
from payments.services import polling
from payments.services.deeplinks import deeplink_fetch
from payments.services.settlement import (  # noqa: F401 - re-exported for callers
    PAID_STATUSES,
    bakong_transaction_apply,
)

logger = logging.getLogger("tonle.payments")

KHQR_CURRENCIES = ("KHR", "USD")
EXPIRY_DEFAULT_SECONDS = 900
EXPIRY_MIN_SECONDS = 30
EXPIRY_MAX_SECONDS = 86_400
LABEL_MAX = 25
ORDER_ID_MAX = 64
IDEMPOTENCY_KEY_MAX = 200


def _clean_text(value: str | None, *, field: str, limit: int) -> str:
    text = (value or "").strip()
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text):
        raise InvalidInput(f"{field}: control characters are not allowed", field=field)
    if len(text) > limit:
        raise InvalidInput(
            f"{field}: at most {limit} characters (got {len(text)})", field=field
        )
    return text


def _clean_amount(amount: Any, currency: str) -> Decimal | None:
    """None, "" or 0 make a static (reusable) code; anything else must be a positive
    amount with no more places than the currency has."""
    if amount is None or amount == "":
        return None
    if isinstance(amount, float):
        # JSON numbers reach us as Decimal (see the API); a float is a caller bug
        amount = str(amount)
    try:
        value = parse_amount(amount, currency)
    except MoneyError as exc:
        raise InvalidInput(f"amount: {exc}", field="amount") from None
    if value < 0:
        raise InvalidInput(gettext_noop("amount: must be positive"), field="amount")
    if value == 0:
        return None
    if value >= Decimal("1e13"):
        raise InvalidInput(
            gettext_noop("amount: too large for a KHQR code"), field="amount"
        )
    return value


def _fingerprint(fields: dict[str, Any]) -> str:
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _receiving_account(merchant: Merchant, currency: str) -> Account | None:
    return (
        Account.objects.for_merchant(merchant)
        .filter(provider=Provider.BAKONG, currency=currency, is_active=True)
        .order_by("pk")
        .first()
    )


def _khqr_fields(
    *,
    merchant: Merchant,
    bakong_account_id: str,
    amount: Decimal | None,
    currency: str,
    bill_number: str,
    store_label: str,
    terminal_label: str,
    expiration_ms: int | None,
    with_alternate_language: bool,
) -> khqr.KhqrFields:
    is_merchant = bool(merchant.khqr_merchant_id and merchant.acquiring_bank)
    alternate: dict[str, Any] = {}
    if with_alternate_language and merchant.name_km:
        alternate = {
            "language_preference": "km",
            "merchant_name_alternate_language": merchant.name_km,
            "merchant_city_alternate_language": merchant.city_km or None,
        }
    return khqr.KhqrFields(
        type="merchant" if is_merchant else "individual",
        bakong_account_id=bakong_account_id,
        merchant_name=merchant.display_name,
        merchant_city=merchant.city or "Phnom Penh",
        merchant_id=merchant.khqr_merchant_id or None,
        acquiring_bank=merchant.acquiring_bank or None,
        merchant_category_code=merchant.mcc or None,
        amount=amount,
        currency=currency,
        bill_number=bill_number or None,
        store_label=store_label or None,
        terminal_label=terminal_label or None,
        expiration_ms=expiration_ms,
        **alternate,
    )


def _encode(fields_kwargs: dict[str, Any], *, now_ms: int) -> khqr.EncodedKhqr:
    """Encode with the Khmer name when it fits the KHQR limits, else without it."""
    try:
        return khqr.encode(
            _khqr_fields(**fields_kwargs, with_alternate_language=True), now_ms=now_ms
        )
    except khqr.KhqrError as exc:
        if exc.field not in (
            "merchant_name_alternate_language",
            "merchant_city_alternate_language",
            "language_preference",
        ):
            raise _invalid_from_khqr(exc) from None
    try:
        return khqr.encode(
            _khqr_fields(**fields_kwargs, with_alternate_language=False), now_ms=now_ms
        )
    except khqr.KhqrError as exc:
        raise _invalid_from_khqr(exc) from None


def _invalid_from_khqr(exc: khqr.KhqrError) -> InvalidInput:
    field = exc.field or ""
    if field in ("bakong_account_id", "merchant_name", "merchant_city", "merchant_id"):
        return MerchantNotConfigured(
            f"the merchant's KHQR identity is not usable ({field}: {exc}); fix it in "
            "the merchant settings",
            field=field,
        )
    return InvalidInput(f"{field}: {exc}" if field else str(exc), field=field or None)


def _existing_for_keys(
    *, merchant: Merchant, order_id: str, idempotency_key: str
) -> PaymentRequest | None:
    keys = Q()
    if order_id:
        keys |= Q(order_id=order_id)
    if idempotency_key:
        keys |= Q(idempotency_key=idempotency_key)
    if not keys:
        return None
    found = list(PaymentRequest.objects.for_merchant(merchant).filter(keys)[:2])
    if len(found) > 1:
        raise Conflict(
            gettext_noop(
                "order_id and Idempotency-Key belong to two different payment requests"
            ),
            field="order_id",
        )
    return found[0] if found else None


def _replay_or_conflict(
    existing: PaymentRequest, *, fingerprint: str, is_test: bool
) -> tuple[PaymentRequest, bool]:
    if existing.is_test != is_test:
        raise Conflict(
            "this order_id / Idempotency-Key was already used with a "
            f"{'test' if existing.is_test else 'live'} API key",
            field="order_id",
        )
    if existing.request_fingerprint != fingerprint:
        raise Conflict(
            gettext_noop(
                "this order_id / Idempotency-Key was already used for a payment "
                "request with other fields (amount, currency, labels or expiry)"
            ),
            field="order_id",
        )
    return existing, True


def _schedule_first_check(payment_request_id: int) -> None:
    polling.payment_request_schedule_first_check(payment_request_id=payment_request_id)


def payment_request_create(
    *,
    merchant: Merchant,
    amount: Decimal | str | int | None = None,
    currency: str = "",
    order_id: str = "",
    bill_number: str = "",
    store_label: str = "",
    terminal_label: str = "",
    expires_in_seconds: int | None = None,
    api_key: ApiKey | None = None,
    idempotency_key: str = "",
    actor: Any = None,
) -> tuple[PaymentRequest, bool]:
    """Issue a KHQR code for the merchant; the same order_id / Idempotency-Key with
    the same fields answers the same code (replay=True), with other fields Conflict.
    Nothing is written when any input is refused."""
    if not merchant.bakong_account_id:
        raise MerchantNotConfigured(
            gettext_noop(
                "the merchant has no Bakong account id: set it before issuing "
                "KHQR codes"
            ),
            field="bakong_account_id",
        )
    currency = (currency or merchant.default_currency or "KHR").strip().upper()
    if currency not in KHQR_CURRENCIES:
        raise InvalidInput(
            f"currency: {currency!r} is not a KHQR currency; use KHR or USD",
            field="currency",
        )
    value = _clean_amount(amount, currency)
    order_id = _clean_text(order_id, field="order_id", limit=ORDER_ID_MAX)
    idempotency_key = _clean_text(
        idempotency_key, field="idempotency_key", limit=IDEMPOTENCY_KEY_MAX
    )
    bill_number = _clean_text(bill_number, field="bill_number", limit=LABEL_MAX)
    store_label = _clean_text(store_label, field="store_label", limit=LABEL_MAX)
    terminal_label = _clean_text(
        terminal_label, field="terminal_label", limit=LABEL_MAX
    )
    if expires_in_seconds is None or expires_in_seconds == "":
        expires_in_seconds = EXPIRY_DEFAULT_SECONDS
    if isinstance(expires_in_seconds, bool) or not isinstance(expires_in_seconds, int):
        raise InvalidInput(
            gettext_noop("expires_in_seconds: must be a whole number of seconds"),
            field="expires_in_seconds",
        )
    if not EXPIRY_MIN_SECONDS <= expires_in_seconds <= EXPIRY_MAX_SECONDS:
        raise InvalidInput(
            f"expires_in_seconds: must be between {EXPIRY_MIN_SECONDS} and "
            f"{EXPIRY_MAX_SECONDS} (got {expires_in_seconds})",
            field="expires_in_seconds",
        )
    is_test = bool(api_key and api_key.is_test)
    fingerprint = _fingerprint(
        {
            "amount": None if value is None else str(value),
            "currency": currency,
            "bill_number": bill_number,
            "store_label": store_label,
            "terminal_label": terminal_label,
            "expires_in_seconds": expires_in_seconds if value is not None else None,
            "order_id": order_id,
        }
    )
    existing = _existing_for_keys(
        merchant=merchant, order_id=order_id, idempotency_key=idempotency_key
    )
    if existing is not None:
        return _replay_or_conflict(existing, fingerprint=fingerprint, is_test=is_test)

    account = _receiving_account(merchant, currency)
    bakong_account_id = (
        account.bakong_account_id
        if account is not None and account.bakong_account_id
        else merchant.bakong_account_id
    )
    now = timezone.now()
    now_ms = int(now.timestamp() * 1000)
    expires_at = (
        now + dt.timedelta(seconds=expires_in_seconds) if value is not None else None
    )
    fields_kwargs = {
        "merchant": merchant,
        "bakong_account_id": bakong_account_id,
        "amount": value,
        "currency": currency,
        "bill_number": bill_number,
        "store_label": store_label,
        "terminal_label": terminal_label,
        "expiration_ms": (
            int(expires_at.timestamp() * 1000) if expires_at is not None else None
        ),
    }
    encoded = _encode(fields_kwargs, now_ms=now_ms)
    if value is None:
        static = PaymentRequest.objects.filter(md5=encoded.md5).first()
        if static is not None:
            if static.merchant_id != merchant.pk or order_id or idempotency_key:
                raise Conflict(
                    gettext_noop(
                        "a static code with these fields already exists; static codes "
                        "are reusable and carry no order_id (add a bill_number to make "
                        "another one)"
                    ),
                    field="order_id",
                )
            return static, True
    # Bakong is called outside the transaction: no database lock is held while we
    # wait on the network (the sandbox may be this very server).
    deeplink = deeplink_fetch(qr=encoded.qr)
    return _payment_request_insert(
        merchant=merchant,
        account=account,
        api_key=api_key,
        is_test=is_test,
        order_id=order_id,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        bill_number=bill_number,
        store_label=store_label,
        terminal_label=terminal_label,
        amount=value,
        currency=currency,
        encoded=encoded,
        deeplink=deeplink.link,
        deeplink_error=deeplink.error,
        expires_at=expires_at,
        actor=actor,
        fields_kwargs=fields_kwargs,
        now_ms=now_ms,
    )


def _payment_request_insert(
    *,
    merchant: Merchant,
    fingerprint: str,
    is_test: bool,
    order_id: str,
    idempotency_key: str,
    encoded: khqr.EncodedKhqr,
    fields_kwargs: dict[str, Any],
    now_ms: int,
    actor: Any,
    **values: Any,
) -> tuple[PaymentRequest, bool]:
    for attempt in range(3):
        try:
            with transaction.atomic():
                payment_request = PaymentRequest.objects.create(
                    merchant=merchant,
                    is_test=is_test,
                    order_id=order_id,
                    idempotency_key=idempotency_key,
                    request_fingerprint=fingerprint,
                    qr=encoded.qr,
                    md5=encoded.md5,
                    next_check_at=timezone.now() if values["amount"] else None,
                    **{k: v for k, v in values.items() if k not in ("actor",)},
                )
                audit_event_record(
                    merchant=merchant,
                    action="payment_request.created",
                    obj=payment_request,
                    actor=actor,
                    actor_label="" if actor else _api_label(values.get("api_key")),
                    details={
                        "md5": payment_request.md5,
                        "amount": None
                        if values["amount"] is None
                        else str(values["amount"]),
                        "currency": values["currency"],
                        "order_id": order_id,
                        "test": is_test,
                    },
                )
                pk = payment_request.pk
                if payment_request.is_dynamic:
                    transaction.on_commit(partial(_schedule_first_check, pk))
            logger.info(
                "payments.request.created",
                extra={"payment_request": pk, "md5": payment_request.md5},
            )
            return payment_request, False
        except IntegrityError:
            # another request took the same order id / key meanwhile: answer as a
            # replay; or (same millisecond, same fields) the same md5: re-encode
            existing = _existing_for_keys(
                merchant=merchant, order_id=order_id, idempotency_key=idempotency_key
            )
            if existing is not None:
                return _replay_or_conflict(
                    existing, fingerprint=fingerprint, is_test=is_test
                )
            if not PaymentRequest.objects.filter(md5=encoded.md5).exists():
                raise
            now_ms += 1 + attempt
            encoded = _encode(fields_kwargs, now_ms=now_ms)
    raise Conflict(gettext_noop("could not issue a unique code; try again"))


def _api_label(api_key: ApiKey | None) -> str:
    return f"api_key:{api_key.prefix}" if api_key is not None else ""


@transaction.atomic
def payment_request_cancel(
    *, merchant: Merchant, payment_request_id: int, actor: Any = None
) -> PaymentRequest:
    """Withdraw a pending code; a paid one cannot be cancelled."""
    payment_request = (
        PaymentRequest.objects.for_merchant(merchant)
        .select_for_update()
        .filter(pk=payment_request_id)
        .first()
    )
    if payment_request is None:
        raise NotFound(gettext_noop("no such payment request"))
    if payment_request.status == PaymentStatus.CANCELLED:
        return payment_request
    if payment_request.status != PaymentStatus.PENDING:
        raise Conflict(
            f"only a pending code can be cancelled (this one is "
            f"{payment_request.get_status_display().lower()})"
        )
    PaymentRequest.objects.filter(pk=payment_request.pk).update(
        status=PaymentStatus.CANCELLED, next_check_at=None
    )
    payment_request.refresh_from_db()
    audit_event_record(
        merchant=merchant,
        action="payment_request.cancelled",
        obj=payment_request,
        actor=actor,
    )
    return payment_request
