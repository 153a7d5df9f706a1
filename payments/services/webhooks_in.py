"""Webhooks from payment providers and banks: verify, store raw, then process.

`inbound_event_receive` runs inside the HTTP request. It checks the signature over
the raw body with the connection's `webhook_secret` by the connection's scheme
(merchants.selectors.connection_signature_schemes):

- `tonle`: `X-Tonle-Signature` / `X-KHQR-Signature: t=…,v1=…`, timestamp ±300 s;
  the delivery id is the header's, else the event's own id, else the natural key;
- `sha256`: the Hattha brief's `X-Signature: sha256=<hex>` over the raw body. With no
  signed timestamp, a captured push could be replayed at will, so the event's own
  time (`occurred_at`, or `paid_at`) must lie within PUSH_WINDOW of now and the
  delivery id comes from the signed body alone (the natural key `(acct_id, ref,
  occurred_at)` of a `transaction.posted`): a replay is the same delivery.

Then the customer's consent (not revoked, not expired; `statements:read` for a
bank's `transaction.posted`), and the delivery id (unique per connection: a replay
changes nothing and says so). The raw event is stored before the view answers 2xx;
`inbound_event_process` runs in a task. Nothing that holds a secret shows its
variables in an error report.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from core.exceptions import (
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    TonleError,
    TransientError,
    Unauthorized,
)
from core.signing import (
    SCHEME_SHA256,
    SCHEME_TONLE,
    SignatureError,
    body_signature_verify,
    signature_verify,
)
from merchants.exceptions import ConsentRefused
from merchants.models import Connection, ConsentScope
from merchants.selectors import (
    connection_consent_require,
    connection_signature_schemes,
)
from payments import hooks
from payments.bakong_access import BakongAccess
from payments.models import InboundEvent, PaymentRequest
from payments.services.settlement import (
    ClaimCheck,
    bakong_transaction_apply,
    paid_claim_check,
)

logger = logging.getLogger("tonle.webhooks")

SIGNATURE_HEADERS = ("X-Tonle-Signature", "X-KHQR-Signature")
BODY_SIGNATURE_HEADER = "X-Signature"
EXPECTED_HEADERS = {
    SCHEME_TONLE: "X-Tonle-Signature: t=<unix>,v1=<hex>",
    SCHEME_SHA256: "X-Signature: sha256=<hex>",
}
DELIVERY_HEADERS = ("X-Tonle-Delivery-Id", "X-KHQR-Delivery-Id")
KEPT_HEADERS = (
    *SIGNATURE_HEADERS,
    BODY_SIGNATURE_HEADER,
    *DELIVERY_HEADERS,
    "X-Tonle-Event",
    "X-KHQR-Event",
    "X-KHQR-Timestamp",
    "Content-Type",
    "User-Agent",
)
EVENTS = ("transaction.paid", "transaction.posted")
EVENT_SCOPES = {"transaction.posted": ConsentScope.STATEMENTS_READ}
EVENT_TIME_FIELDS = {"transaction.posted": "occurred_at", "transaction.paid": "paid_at"}
MAX_BODY_BYTES = 256 * 1024
# a push signed without a timestamp must be about now: a bank retries for a while,
# and the statement feed brings anything older
PUSH_WINDOW_PAST = dt.timedelta(days=3)
PUSH_WINDOW_FUTURE = dt.timedelta(minutes=5)
AMOUNT_MAX_DIGITS = 16


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return ""


@sensitive_variables()
def _connection_secrets(connection: Connection) -> list[str]:
    credentials = connection.credentials or {}
    found = [
        credentials.get("webhook_secret", ""),
        credentials.get("webhook_secret_previous", ""),
    ]
    return [s for s in found if isinstance(s, str) and s]


@sensitive_variables()
def _signature_check(
    *,
    connection: Connection,
    headers: Mapping[str, str],
    body: bytes,
    secrets: list[str],
    now: float | None,
) -> str:
    """The scheme the body was verifiably signed with, or Unauthorized. A request
    is judged by one header only: Tonle's timestamped one when the connection
    accepts it and it is there, else the brief's X-Signature."""
    schemes = connection_signature_schemes(connection=connection)
    tonle = next((v for n in SIGNATURE_HEADERS if (v := _header(headers, n))), "")
    sha256 = _header(headers, BODY_SIGNATURE_HEADER)
    try:
        if SCHEME_TONLE in schemes and tonle:
            signature_verify(header=tonle, secrets=secrets, body=body, now=now)
            return SCHEME_TONLE
        if SCHEME_SHA256 in schemes and sha256:
            body_signature_verify(header=sha256, secrets=secrets, body=body)
            return SCHEME_SHA256
        expected = " or ".join(EXPECTED_HEADERS[scheme] for scheme in schemes)
        raise SignatureError(
            f"missing signature header (this connection expects {expected})"
        )
    except SignatureError as exc:
        raise Unauthorized(f"signature: {exc}", field="signature") from None


def _event_time(event: dict[str, Any], name: str) -> dt.datetime:
    value = event.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(
            f"{name}: required on a push signed without a timestamp", field=name
        )
    try:
        instant = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{name}: {value[:40]!r} is not an ISO 8601 time", field=name
        ) from None
    if instant.tzinfo is None:
        raise InvalidInput(f"{name}: needs a UTC offset, e.g. +07:00", field=name)
    return instant


def _event_window_check(
    event: dict[str, Any], event_type: str, now: dt.datetime
) -> None:
    """Under the timestamp-less scheme the event's own time bounds a replay."""
    name = EVENT_TIME_FIELDS.get(event_type)
    if name is None:
        return
    instant = _event_time(event, name)
    if not now - PUSH_WINDOW_PAST <= instant <= now + PUSH_WINDOW_FUTURE:
        raise InvalidInput(
            f"{name}: {instant.isoformat()} is outside the window a push signed "
            f"with X-Signature is accepted in ({PUSH_WINDOW_PAST.days} days back to "
            f"{int(PUSH_WINDOW_FUTURE.total_seconds() // 60)} minutes ahead); the "
            "statement feed brings older lines",
            field=name,
        )


def _posted_natural_id(event: dict[str, Any]) -> str | None:
    """`posted:` + a digest of (acct_id, ref, occurred_at), the instant read in UTC
    so that +07:00 and Z spellings of one moment are one delivery."""
    natural = [str(event.get(k) or "").strip() for k in ("acct_id", "ref")]
    occurred = str(event.get("occurred_at") or "").strip()
    try:
        instant = dt.datetime.fromisoformat(occurred.replace("Z", "+00:00"))
        if instant.tzinfo is not None:
            occurred = instant.astimezone(dt.UTC).isoformat()
    except ValueError:
        pass
    natural.append(occurred)
    if not all(natural):
        return None
    digest = hashlib.sha256("|".join(natural).encode()).hexdigest()[:32]
    return f"posted:{digest}"


def _own_id(event: dict[str, Any]) -> str | None:
    for key in ("id", "event_id", "delivery_id"):
        value = event.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, (str, int)) and str(value).strip():
            return str(value).strip()[:200]
    return None


def _delivery_id(headers: Mapping[str, str], event: dict[str, Any]) -> str:
    for name in DELIVERY_HEADERS:
        value = _header(headers, name).strip()
        if value:
            return value[:200]
    own = _own_id(event)
    if own:
        return own
    if event.get("event") == "transaction.posted":
        # DESIGN: bank push events are de-duplicated on (acct_id, ref, occurred_at)
        natural = _posted_natural_id(event)
        if natural:
            return natural
    raise InvalidInput(
        "delivery id: send X-Tonle-Delivery-Id (or an `id` in the event)",
        field="delivery_id",
    )


def _signed_delivery_id(event: dict[str, Any], event_type: str, body: bytes) -> str:
    """Under the timestamp-less scheme only the signed body names a delivery (a
    header could be changed to pass a replay off as new)."""
    if event_type == "transaction.posted":
        natural = _posted_natural_id(event)
        if natural is None:
            raise InvalidInput(
                "acct_id, ref, occurred_at: a transaction.posted needs all three "
                "(they identify the push)",
                field="ref",
            )
        return natural
    return _own_id(event) or f"body:{hashlib.sha256(body).hexdigest()[:32]}"


@sensitive_variables()
def inbound_event_receive(
    *,
    connection_id: int,
    body: bytes,
    headers: Mapping[str, str],
    now: float | None = None,
) -> tuple[InboundEvent, bool]:
    """Verify and store one inbound webhook; return (event, replay). A replay (the
    same delivery id on this connection) is answered with the stored event and
    changes nothing. A push on a connection without consent is refused and stored
    nowhere. Raises NotFound / Forbidden (ConsentRefused) / Unauthorized /
    InvalidInput."""
    connection = (
        Connection.objects.select_related("merchant").filter(pk=connection_id).first()
    )
    if connection is None:
        raise NotFound(f"no connection #{connection_id} receives webhooks here")
    secrets = _connection_secrets(connection)
    if not secrets:
        raise Forbidden("this connection has no webhook_secret; it cannot receive")
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge("body: larger than 256 KiB", field="body")
    scheme = _signature_check(
        connection=connection, headers=headers, body=body, secrets=secrets, now=now
    )
    try:
        event = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        # RecursionError: a signed body of thousands of nested [ (never a 500)
        raise InvalidInput("body: not valid JSON", field="body") from None
    if not isinstance(event, dict):
        raise InvalidInput("body: must be a JSON object", field="body")
    event_type = event.get("event") or event.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise InvalidInput("event: missing (e.g. transaction.paid)", field="event")
    moment = timezone.now() if now is None else dt.datetime.fromtimestamp(now, dt.UTC)
    try:
        connection_consent_require(
            connection=connection, scope=EVENT_SCOPES.get(event_type), now=moment
        )
    except ConsentRefused:
        logger.info(
            "webhooks.in.refused_consent",
            extra={"connection": connection.pk, "event": event_type},
        )
        raise
    if scheme == SCHEME_SHA256:
        _event_window_check(event, event_type, moment)
        delivery_id = _signed_delivery_id(event, event_type, body)
    else:
        delivery_id = _delivery_id(headers, event)
    kept = {name: _header(headers, name) for name in KEPT_HEADERS}
    try:
        with transaction.atomic():
            inbound = InboundEvent.objects.create(
                merchant=connection.merchant,
                connection=connection,
                delivery_id=delivery_id,
                event_type=event_type[:64],
                raw_body=body.decode("utf-8"),
                headers={k: v for k, v in kept.items() if v},
            )
            if event_type in EVENTS:
                from core.tasks import enqueue_on_commit
                from payments.tasks import process_inbound_event

                enqueue_on_commit(process_inbound_event, inbound.pk)
            else:
                InboundEvent.objects.filter(pk=inbound.pk).update(
                    status=InboundEvent.Status.IGNORED,
                    error=f"event {event_type!r} is not one Tonle acts on",
                    processed_at=timezone.now(),
                )
                inbound.refresh_from_db()
    except IntegrityError:
        existing = InboundEvent.objects.get(
            connection=connection, delivery_id=delivery_id
        )
        logger.info(
            "webhooks.in.replay",
            extra={"connection": connection.pk, "delivery_id": delivery_id},
        )
        return existing, True
    logger.info(
        "webhooks.in.received",
        extra={"connection": connection.pk, "event": event_type, "id": inbound.pk},
    )
    return inbound, False


def _decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise InvalidInput(f"{field}: missing", field=field)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInput(f"{field}: {value!r} is not a number", field=field) from None
    if not amount.is_finite():
        raise InvalidInput(f"{field}: {value!r} is not a number", field=field)
    # no real payment has 16 integer digits (in minor units it would near the
    # BigIntegerField's limit), and past 28 digits Decimal arithmetic raises
    if amount.adjusted() >= AMOUNT_MAX_DIGITS or amount.as_tuple().exponent < -6:
        raise InvalidInput(f"{field}: {str(value)[:40]} is out of range", field=field)
    return amount


def _millis(value: Any) -> int | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value if value > 10**11 else value * 1000)
    if isinstance(value, str) and value.strip():
        text = value.strip().replace("Z", "+00:00")
        try:
            instant = dt.datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInput(
                f"paid_at: {value!r} is not an ISO 8601 time", field="paid_at"
            ) from None
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=dt.UTC)
        return int(instant.timestamp() * 1000)
    return None


@dataclass(frozen=True)
class _PaidClaim:
    """A `transaction.paid` event read and checked with Bakong."""

    payment_request: PaymentRequest
    check: ClaimCheck


def _paid_check(
    connection: Connection, event: dict[str, Any], access: BakongAccess | None
) -> _PaidClaim:
    """Read the event and ask Bakong about it (the network, before any lock)."""
    md5 = str(event.get("md5") or "").strip().lower()
    order_id = str(event.get("external_order_id") or "").strip()
    requests = PaymentRequest.objects.for_merchant(connection.merchant)
    payment_request = None
    if md5:
        payment_request = requests.filter(md5=md5).first()
    if payment_request is None and order_id:
        payment_request = requests.filter(order_id=order_id).first()
    if payment_request is None:
        raise NotFound(
            f"no payment request of this merchant with md5 {md5 or '-'} "
            f"or order id {order_id or '-'}"
        )
    amount = _decimal(event.get("amount"), "amount")
    currency = str(event.get("currency") or "").strip().upper()
    if not currency:
        raise InvalidInput("currency: missing", field="currency")
    raw_id = event.get("hash") or event.get("transaction_id") or ""
    if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
        raise InvalidInput("transaction_id: must be text", field="transaction_id")
    claimed = str(raw_id).strip()
    if not claimed:
        raise InvalidInput("transaction_id: missing", field="transaction_id")
    paid_at_ms = _millis(event.get("paid_at"))
    own = access is None
    access = access or BakongAccess.from_settings()
    try:
        check = paid_claim_check(
            payment_request=payment_request,
            claimed_id=claimed,
            claimed_amount=amount,
            claimed_at_ms=paid_at_ms,
            access=access,
        )
    finally:
        if own:
            access.close()
    return _PaidClaim(payment_request, check)


def _paid_apply(claim: _PaidClaim) -> tuple[str, str]:
    """Record what Bakong confirmed: (status, what was done). A claim it did not
    confirm fails the event with the reason, after the code's own payment (if
    Bakong reports one) is recorded."""
    applied = claim.payment_request
    for info in claim.check.confirmed:
        applied = bakong_transaction_apply(payment_request_id=applied.pk, info=info)
    said = f"payment request #{applied.pk} is {applied.status}" + (
        f" (flagged: {applied.get_flag_display().lower()})" if applied.flag else ""
    )
    if claim.check.refusal:
        if claim.check.confirmed:
            return InboundEvent.Status.FAILED, f"{claim.check.refusal}; {said}"
        return InboundEvent.Status.FAILED, claim.check.refusal
    return InboundEvent.Status.PROCESSED, said


def inbound_event_process(
    *, inbound_event_id: int, access: BakongAccess | None = None
) -> InboundEvent | None:
    """Apply a stored event once: `transaction.paid` settles a payment request with
    what Bakong confirms (`access`, default the configured Bakong),
    `transaction.posted` goes to the app registered for it (the ledger). A processed
    event is left alone; a bad one is marked failed with the reason; a transient
    error is re-raised for the task to retry."""
    early = (
        InboundEvent.objects.select_related("connection__merchant")
        .filter(pk=inbound_event_id, status=InboundEvent.Status.RECEIVED)
        .first()
    )
    claim: _PaidClaim | Exception | None = None
    if early is not None and early.event_type == "transaction.paid":
        # Bakong is asked before the event's row is locked: no lock is held while
        # we wait on the network
        try:
            claim = _paid_check(early.connection, json.loads(early.raw_body), access)
        except TransientError:
            raise
        except (TonleError, ValueError, TypeError, KeyError, AttributeError) as exc:
            claim = exc
    with transaction.atomic():
        inbound = (
            InboundEvent.objects.select_for_update()
            .select_related("connection__merchant")
            .filter(pk=inbound_event_id)
            .first()
        )
        if inbound is None:
            logger.info("webhooks.in.vanished", extra={"id": inbound_event_id})
            return None
        if inbound.status != InboundEvent.Status.RECEIVED:
            return inbound
        status, message = InboundEvent.Status.PROCESSED, ""
        try:
            with transaction.atomic():
                if inbound.event_type == "transaction.paid":
                    if isinstance(claim, Exception):
                        raise claim
                    if claim is None:  # pragma: no cover - received just now
                        raise TransientError("the event arrived while being read")
                    status, message = _paid_apply(claim)
                elif inbound.event_type == "transaction.posted":
                    outcome = hooks.inbound_event_apply(
                        event_type=inbound.event_type,
                        connection=inbound.connection,
                        payload=json.loads(inbound.raw_body),
                    )
                    if outcome is None:
                        status = InboundEvent.Status.IGNORED
                        message = "statement push processing is not available"
                    else:
                        message = outcome
                else:
                    status = InboundEvent.Status.IGNORED
                    message = f"event {inbound.event_type!r} is not one Tonle acts on"
        except TransientError:
            raise
        except TonleError as exc:
            status, message = InboundEvent.Status.FAILED, exc.message
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # a payload we could not read: mark it, so the sweeper does not
            # retry it forever; the raw event stays for a person to look at
            logger.exception("webhooks.in.crashed", extra={"id": inbound.pk})
            status = InboundEvent.Status.FAILED
            message = f"could not process: {type(exc).__name__}: {exc}"
        InboundEvent.objects.filter(pk=inbound.pk).update(
            status=status, error=message[:2000], processed_at=timezone.now()
        )
        inbound.refresh_from_db()
    logger.info(
        "webhooks.in.processed",
        extra={"id": inbound.pk, "status": status, "detail": message},
    )
    return inbound
