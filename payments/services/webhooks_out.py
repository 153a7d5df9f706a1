"""Webhooks to the merchant: endpoints with rotatable secrets, one delivery row per
endpoint and event (written in the same transaction as the payment it reports), and
signed attempts with exponential backoff.

An attempt never follows a redirect and never reaches a private, loopback or
link-local address unless the sandbox is on (the demo and the tests deliver to this
machine). A 410 Gone disables the endpoint.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import secrets as secrets_module
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import Conflict, InvalidInput, NotFound
from core.money import format_number
from core.retry import backoff_seconds
from core.signing import signature_compute
from merchants.models import Merchant
from merchants.services import audit_event_record
from payments.models import (
    DeliveryStatus,
    PaymentRequest,
    Refund,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

logger = logging.getLogger("tonle.webhooks")

EVENTS = ("transaction.paid", "transaction.refunded")
MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 6 * 3600.0
CLAIM_SECONDS = 120
PREVIOUS_SECRET_HOURS = 24
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "Tonle-Webhooks/1.0"

Resolver = Callable[[str, int], Iterable[str]]


# --- endpoints ----------------------------------------------------------------


def _new_secret() -> str:
    return "whsec_" + secrets_module.token_urlsafe(32)


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("url: must be an http:// or https:// address", field="url")
    if parts.username or parts.password:
        raise InvalidInput("url: must not contain a user name or password", field="url")
    if len(url) > 500:
        raise InvalidInput("url: at most 500 characters", field="url")
    return url


def _clean_events(events: Iterable[str] | None) -> list[str]:
    chosen = list(events) if events else list(EVENTS)
    unknown = sorted(set(chosen) - set(EVENTS))
    if unknown:
        raise InvalidInput(
            f"events: {', '.join(unknown)} not known; use {', '.join(EVENTS)}",
            field="events",
        )
    return sorted(set(chosen))


@transaction.atomic
def webhook_endpoint_create(
    *,
    merchant: Merchant,
    url: str,
    events: Iterable[str] | None = None,
    actor: Any = None,
) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint and return its signing secret in plain text, this once."""
    secret = _new_secret()
    endpoint = WebhookEndpoint.objects.create(
        merchant=merchant,
        url=_clean_url(url),
        events=_clean_events(events),
        secrets={"current": secret, "previous": "", "previous_until": ""},
    )
    audit_event_record(
        merchant=merchant,
        action="webhook_endpoint.created",
        obj=endpoint,
        actor=actor,
        details={"url": endpoint.url, "events": endpoint.events},
    )
    return endpoint, secret


def _endpoint_locked(merchant: Merchant, endpoint_id: int) -> WebhookEndpoint:
    endpoint = (
        WebhookEndpoint.objects.for_merchant(merchant)
        .select_for_update()
        .filter(pk=endpoint_id)
        .first()
    )
    if endpoint is None:
        raise NotFound("no such webhook endpoint")
    return endpoint


@transaction.atomic
def webhook_endpoint_rotate_secret(
    *, merchant: Merchant, endpoint_id: int, actor: Any = None
) -> tuple[WebhookEndpoint, str]:
    """A new secret signs from now on; for 24 hours deliveries carry a second v1
    made with the old one, so the shop can switch without missing an event."""
    endpoint = _endpoint_locked(merchant, endpoint_id)
    secret = _new_secret()
    until = timezone.now() + dt.timedelta(hours=PREVIOUS_SECRET_HOURS)
    endpoint.secrets = {
        "current": secret,
        "previous": endpoint.secrets.get("current", ""),
        "previous_until": until.isoformat(),
    }
    endpoint.save(update_fields=["secrets"])
    audit_event_record(
        merchant=merchant,
        action="webhook_endpoint.secret_rotated",
        obj=endpoint,
        actor=actor,
    )
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_set_active(
    *,
    merchant: Merchant,
    endpoint_id: int,
    active: bool,
    reason: str = "",
    actor: Any = None,
) -> WebhookEndpoint:
    """Disable (nothing more is sent) or enable an endpoint again."""
    endpoint = _endpoint_locked(merchant, endpoint_id)
    if endpoint.is_active == active:
        return endpoint
    endpoint.is_active = active
    endpoint.disabled_reason = "" if active else (reason or "disabled by the owner")
    endpoint.save(update_fields=["is_active", "disabled_reason"])
    audit_event_record(
        merchant=merchant,
        action="webhook_endpoint.enabled" if active else "webhook_endpoint.disabled",
        obj=endpoint,
        actor=actor,
        details={"reason": endpoint.disabled_reason},
    )
    return endpoint


def endpoint_signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The current secret, and the previous one while it is still honoured."""
    data = endpoint.secrets or {}
    found = [data.get("current", "")]
    previous, until = data.get("previous", ""), data.get("previous_until", "")
    if previous and until:
        try:
            still = dt.datetime.fromisoformat(until) > timezone.now()
        except ValueError:
            still = False
        if still:
            found.append(previous)
    return [s for s in found if s]


# --- deliveries ---------------------------------------------------------------


def _iso(instant: dt.datetime | None) -> str | None:
    if instant is None:
        return None
    return instant.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _amount_text(amount: Any, currency: str) -> str | None:
    if amount is None:
        return None
    return format_number(amount, currency).replace(",", "")


def payment_payload(payment_request: PaymentRequest) -> dict[str, Any]:
    """The `transaction.paid` body (the KHQR gateways' shape; amounts as text)."""
    currency = payment_request.paid_currency or payment_request.currency
    return {
        "event": "transaction.paid",
        "md5": payment_request.md5,
        "amount": _amount_text(
            payment_request.paid_amount
            if payment_request.paid_amount is not None
            else payment_request.amount,
            currency,
        ),
        "currency": currency,
        "bill_number": payment_request.bill_number,
        "paid_at": _iso(payment_request.paid_at),
        "transaction_id": payment_request.bakong_hash,
        "external_order_id": payment_request.order_id,
    }


def refund_payload(refund: Refund) -> dict[str, Any]:
    payment_request = refund.payment_request
    return {
        "event": "transaction.refunded",
        "md5": payment_request.md5,
        "amount": _amount_text(refund.amount, refund.currency),
        "currency": refund.currency,
        "refunded_total": _amount_text(
            payment_request.refunded_amount, refund.currency
        ),
        "status": payment_request.status,
        "bank_reference": refund.bank_reference,
        "bill_number": payment_request.bill_number,
        "refunded_at": _iso(refund.created_at),
        "transaction_id": payment_request.bakong_hash,
        "external_order_id": payment_request.order_id,
    }


def webhook_deliveries_enqueue(
    *,
    payment_request: PaymentRequest,
    event: str,
    refund: Refund | None = None,
) -> list[WebhookDelivery]:
    """One delivery per active endpoint that wants the event, written in the caller's
    transaction (so a payment and its notification commit together) and sent after
    commit; the sweeper resends any whose message was lost."""
    if event not in EVENTS:
        raise InvalidInput(f"event: {event!r} is not known", field="event")
    if refund is not None:
        payload, key = refund_payload(refund), f"{event}:refund:{refund.pk}"
    else:
        payload, key = (
            payment_payload(payment_request),
            f"{event}:request:{payment_request.pk}",
        )
    created = []
    endpoints = WebhookEndpoint.objects.for_merchant(payment_request.merchant).filter(
        is_active=True
    )
    now = timezone.now()
    for endpoint in endpoints:
        if endpoint.events and event not in endpoint.events:
            continue
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(
                    merchant=payment_request.merchant,
                    endpoint=endpoint,
                    payment_request=payment_request,
                    refund=refund,
                    event=event,
                    event_key=key,
                    payload=payload,
                    next_attempt_at=now,
                )
        except IntegrityError:
            continue  # this event was already queued for this endpoint
        created.append(delivery)
    if created:
        from core.tasks import enqueue_on_commit
        from payments.tasks import deliver_webhook

        for delivery in created:
            enqueue_on_commit(deliver_webhook, delivery.pk)
    return created


# --- one attempt --------------------------------------------------------------


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def _refused_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def destination_check(url: str, *, resolver: Resolver | None = None) -> str | None:
    """Refuse (PermissionError) a URL whose host is or resolves to a private,
    loopback or link-local address, unless the sandbox is enabled; return the
    address to connect to (None in sandbox mode: connect by name)."""
    if settings.SANDBOX_ENABLED:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = list((resolver or _system_resolver)(host, port))
    except (OSError, UnicodeError) as exc:
        raise ConnectionError(f"cannot resolve {host}: {exc}") from None
    if not addresses:
        raise ConnectionError(f"cannot resolve {host}")
    for address in addresses:
        if _refused_address(address):
            raise PermissionError(
                f"{host} resolves to {address}, a private or local address: refused"
            )
    return addresses[0]


def _pinned(url: str, address: str | None) -> tuple[str, dict[str, str], dict]:
    """The URL with its host replaced by the checked address, so a second DNS
    answer (rebinding) cannot send the request elsewhere; Host and TLS SNI keep
    the name, so virtual hosts and certificate checks still work."""
    if address is None:
        return url, {}, {}
    parts = urlsplit(url)
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    literal = f"[{ip}]" if ip.version == 6 else str(ip)
    netloc = literal + (f":{parts.port}" if parts.port else "")
    host_header = parts.hostname + (f":{parts.port}" if parts.port else "")
    pinned = parts._replace(netloc=netloc).geturl()
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return pinned, {"Host": host_header}, extensions


def _claim(delivery_id: int, now: dt.datetime) -> WebhookDelivery | None:
    """Take the delivery for one attempt (a conditional update), so two workers never
    send the same attempt."""
    due = WebhookDelivery.objects.filter(
        pk=delivery_id,
        status__in=(DeliveryStatus.PENDING, DeliveryStatus.FAILED),
        next_attempt_at__lte=now,
    )
    claimed = due.update(next_attempt_at=now + dt.timedelta(seconds=CLAIM_SECONDS))
    if not claimed:
        return None
    return (
        WebhookDelivery.objects.select_related("endpoint", "merchant")
        .filter(pk=delivery_id)
        .first()
    )


def _body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signed_headers(
    *, endpoint: WebhookEndpoint, delivery: WebhookDelivery, body: bytes, ts: int
) -> dict[str, str]:
    signatures = ",".join(
        f"v1={signature_compute(secret=s, timestamp=ts, body=body)}"
        for s in endpoint_signing_secrets(endpoint)
    )
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Tonle-Signature": f"t={ts},{signatures}",
        "X-Tonle-Timestamp": str(ts),
        "X-Tonle-Delivery-Id": str(delivery.delivery_id),
        "X-Tonle-Event": delivery.event,
    }


def webhook_delivery_attempt(
    *,
    delivery_id: int,
    transport: httpx.BaseTransport | None = None,
    resolver: Resolver | None = None,
) -> WebhookDelivery | None:
    """Send one signed attempt of a due delivery and log it; schedule the next try
    with exponential backoff, give up after MAX_ATTEMPTS, disable the endpoint on
    410. A delivery that is not due (or already taken) is left alone: None."""
    now = timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.DEAD,
            next_attempt_at=None,
            last_error="the endpoint is disabled",
        )
        delivery.refresh_from_db()
        return delivery
    number = delivery.attempt_log.count() + 1
    body = _body_of(delivery.payload)
    status_code: int | None = None
    response_text = ""
    error = ""
    started = time.monotonic()
    try:
        address = destination_check(endpoint.url, resolver=resolver)
        url, host_header, extensions = _pinned(endpoint.url, address)
        headers = signed_headers(
            endpoint=endpoint, delivery=delivery, body=body, ts=int(time.time())
        )
        with httpx.Client(
            timeout=TIMEOUT, follow_redirects=False, transport=transport
        ) as client:
            response = client.post(
                url,
                content=body,
                headers={**headers, **host_header},
                extensions=extensions,
            )
        status_code = response.status_code
        response_text = response.text[:1000]
        if 300 <= status_code < 400:
            error = (
                f"answered {status_code} (redirect to "
                f"{response.headers.get('location', '?')[:150]}); redirects are "
                "not followed"
            )
        elif status_code >= 400:
            error = f"answered {status_code}"
    except PermissionError as exc:
        error = str(exc)
    except (ConnectionError, httpx.HTTPError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    duration_ms = int((time.monotonic() - started) * 1000)
    return _record_attempt(
        delivery=delivery,
        number=number,
        status_code=status_code,
        response_text=response_text,
        error=error[:300],
        duration_ms=duration_ms,
    )


@transaction.atomic
def _record_attempt(
    *,
    delivery: WebhookDelivery,
    number: int,
    status_code: int | None,
    response_text: str,
    error: str,
    duration_ms: int,
) -> WebhookDelivery:
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=number,
        status_code=status_code,
        response_body=response_text,
        error=error,
        duration_ms=duration_ms,
    )
    now = timezone.now()
    attempts = delivery.attempts + 1
    updates: dict[str, Any] = {
        "attempts": attempts,
        "last_status_code": status_code,
        "last_error": error,
    }
    if status_code is not None and 200 <= status_code < 300:
        updates.update(
            status=DeliveryStatus.SUCCEEDED, delivered_at=now, next_attempt_at=None
        )
        event = "webhooks.delivered"
    elif status_code == 410:
        updates.update(status=DeliveryStatus.DEAD, next_attempt_at=None)
        WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(
            is_active=False,
            disabled_reason=f"the endpoint answered 410 Gone on {now:%Y-%m-%d %H:%M}",
        )
        audit_event_record(
            merchant=delivery.merchant,
            action="webhook_endpoint.disabled",
            obj=delivery.endpoint,
            actor_label="webhooks",
            details={"reason": "410 Gone", "delivery": str(delivery.delivery_id)},
        )
        event = "webhooks.gone"
    elif attempts >= MAX_ATTEMPTS:
        updates.update(status=DeliveryStatus.DEAD, next_attempt_at=None)
        event = "webhooks.gave_up"
    else:
        delay = backoff_seconds(
            attempt=attempts - 1, base=BACKOFF_BASE_SECONDS, cap=BACKOFF_CAP_SECONDS
        )
        updates.update(
            status=DeliveryStatus.FAILED,
            next_attempt_at=now + dt.timedelta(seconds=delay),
        )
        event = "webhooks.retry"
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**updates)
    delivery.refresh_from_db()
    logger.info(
        event,
        extra={
            "delivery": str(delivery.delivery_id),
            "attempt": number,
            "status": status_code,
            "error": error,
        },
    )
    return delivery


@transaction.atomic
def webhook_delivery_redeliver(
    *, merchant: Merchant, delivery_id: int, actor: Any = None
) -> WebhookDelivery:
    """Send a delivery again now, with a fresh series of attempts (the log keeps
    every earlier one)."""
    delivery = (
        WebhookDelivery.objects.for_merchant(merchant)
        .select_for_update()
        .select_related("endpoint")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        raise NotFound("no such webhook delivery")
    if not delivery.endpoint.is_active:
        raise Conflict(
            "the endpoint is disabled: enable it before redelivering", field="endpoint"
        )
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
    )
    delivery.refresh_from_db()
    audit_event_record(
        merchant=merchant,
        action="webhook_delivery.redelivered",
        obj=delivery,
        actor=actor,
        details={"delivery": str(delivery.delivery_id), "event": delivery.event},
    )
    from core.tasks import enqueue_on_commit
    from payments.tasks import deliver_webhook

    enqueue_on_commit(deliver_webhook, delivery.pk)
    return delivery
