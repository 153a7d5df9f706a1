"""Webhooks to a merchant's own server, on the project's one HTTP client base: one
signed POST per attempt, sent only to the public address that was checked.

A URL whose host is, or resolves to, a loopback, private, link-local, cloud metadata,
unspecified, multicast or reserved address is refused (`DestinationRefused`, naming
the address): when an endpoint is saved, and again before every attempt. The request
then goes to the checked address, with the name kept for Host and TLS SNI, so a second
DNS answer cannot send it elsewhere (rebinding). Redirects are not followed.

`settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES` (local testing and the demo only; off by
default) lifts the refusal: the request then connects by name.

No ORM, no Celery: the deliveries service decides what an answer means.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings

from core.exceptions import PermanentError, TransientError
from core.http import BODY_EXCERPT_CHARS, DEFAULT_TIMEOUT, HttpClient
from core.signing import signature_compute

Resolver = Callable[[str, int], Iterable[str]]
USER_AGENT = "Tonle-Webhooks/1.0"
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
}

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class DestinationRefused(PermanentError):
    """The URL's host is or resolves to an address webhooks must not reach."""

    code = "invalid_input"


class DestinationUnresolvable(TransientError):
    """The URL's host does not resolve (now)."""


def _embedded_ipv4(ip: IpAddress) -> IpAddress:
    """The IPv4 address an IPv6 one carries (mapped ::ffff:a.b.c.d or 6to4), which
    is where the packet ends up."""
    if isinstance(ip, ipaddress.IPv6Address):
        return ip.ipv4_mapped or ip.sixtofour or ip
    return ip


def address_refusal(address: str) -> str | None:
    """Why webhooks may not reach this address ("a loopback address", ...), or None
    for a public one."""
    ip = _embedded_ipv4(ipaddress.ip_address(address.split("%", 1)[0]))
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    checks = (
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_unspecified, "the unspecified address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a public address"),
    )
    return next((why for refused, why in checks if refused), None)


def system_resolve(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for host (an IP literal gives
    itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def destination_addresses(url: str, *, resolver: Resolver | None = None) -> list[str]:
    """Every address the URL's host resolves to, all public; raise
    DestinationRefused naming the first one that is not, DestinationUnresolvable
    when there is none."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = list((resolver or system_resolve)(host, port))
    except (OSError, UnicodeError, ValueError) as exc:
        raise DestinationUnresolvable(f"cannot resolve {host}: {exc}") from None
    if not addresses:
        raise DestinationUnresolvable(f"cannot resolve {host}")
    for address in addresses:
        why = address_refusal(address)
        if why:
            shown = (
                f"{host} is" if host == address else f"{host} resolves to {address},"
            )
            raise DestinationRefused(f"{shown} {why}: refused")
    return addresses


def _pinned(url: str, address: str) -> tuple[str, dict[str, str], dict]:
    """The URL with its host replaced by the checked address; Host and TLS SNI keep
    the name, so virtual hosts and certificate checks still work."""
    parts = urlsplit(url)
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    literal = f"[{ip}]" if ip.version == 6 else str(ip)
    port = f":{parts.port}" if parts.port else ""
    pinned = parts._replace(netloc=literal + port).geturl()
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return pinned, {"Host": f"{parts.hostname}{port}"}, extensions


@dataclass(frozen=True)
class WebhookAnswer:
    """What the merchant's server answered (any status below 500 but 429)."""

    status_code: int
    body: str
    location: str = ""


def signed_headers(
    *,
    body: bytes,
    secrets: Sequence[str],
    delivery_id: str,
    event: str,
    timestamp: int,
) -> dict[str, str]:
    """DESIGN's headers: one `v1` per secret (two while a rotated one is still
    honoured), over "<t>.<raw body>"."""
    signatures = ",".join(
        f"v1={signature_compute(secret=s, timestamp=timestamp, body=body)}"
        for s in secrets
    )
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Tonle-Signature": f"t={timestamp},{signatures}",
        "X-Tonle-Timestamp": str(timestamp),
        "X-Tonle-Delivery-Id": delivery_id,
        "X-Tonle-Event": event,
    }


class MerchantWebhookClient(HttpClient):
    """One merchant endpoint. Building it checks the destination (so it raises
    DestinationRefused / DestinationUnresolvable); `post_event` signs and sends."""

    system = "webhooks"

    def __init__(
        self,
        *,
        url: str,
        transport: httpx.BaseTransport | None = None,
        resolver: Resolver | None = None,
        allow_private: bool | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        if allow_private is None:
            allow_private = settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES
        if allow_private:
            target, self._host, self._extensions = url, {}, {}
        else:
            address = destination_addresses(url, resolver=resolver)[0]
            target, self._host, self._extensions = _pinned(url, address)
        parts = urlsplit(target)
        self._path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        super().__init__(
            base_url=f"{parts.scheme}://{parts.netloc}",
            transport=transport,
            timeout=timeout,
        )

    def post_event(
        self,
        *,
        body: bytes,
        secrets: Sequence[str],
        delivery_id: str,
        event: str,
        timestamp: int | None = None,
    ) -> WebhookAnswer:
        """POST the raw body signed with every secret; 429 and 5xx raise
        RateLimited / ServerError (with Retry-After), transport trouble
        TransientError; any other answer, redirects included, is returned."""
        headers = signed_headers(
            body=body,
            secrets=secrets,
            delivery_id=delivery_id,
            event=event,
            timestamp=int(time.time()) if timestamp is None else timestamp,
        )
        response = self.request(
            "POST",
            self._path,
            content=body,
            headers={**headers, **self._host},
            extensions=self._extensions,
        )
        return WebhookAnswer(
            status_code=response.status_code,
            body=response.text[:BODY_EXCERPT_CHARS],
            location=response.headers.get("location", ""),
        )

    def _log(self, method, path, status, started, error=None) -> None:
        # a merchant may put a token in the query string: never log it
        super()._log(method, path.split("?", 1)[0], status, started, error)
