"""The client's IP address, trusting X-Forwarded-For only as far as our own proxies.

Each proxy in front of Tonle appends the address it saw to X-Forwarded-For, so with
TRUSTED_PROXY_COUNT proxies the client is the entry that many places from the right;
whatever stands further left was written by the client and proves nothing. With no
trusted proxy (the default) the header is ignored and REMOTE_ADDR is the client.
Login throttling (django-axes) and the audit log both use this one function.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or the address the outermost trusted proxy saw."""
    remote = _valid_ip(request.META.get("REMOTE_ADDR", "") or "")
    trusted = max(0, int(getattr(settings, "TRUSTED_PROXY_COUNT", 0)))
    if trusted == 0:
        return remote
    hops = [
        hop.strip()
        for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if hop.strip()
    ]
    if not hops:
        return remote
    # fewer entries than trusted proxies: every entry was written by one of ours
    seen = hops[-trusted] if len(hops) >= trusted else hops[0]
    return _valid_ip(seen) or remote
