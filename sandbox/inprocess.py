"""The sandbox's Bakong reached inside this process: a BakongAccess whose httpx
transport is this Django application (WSGI), so Tonle's real client speaks the real
wire protocol to the sandbox views with no server running (`seed_demo` runs before
the web server starts; tests run the production poller and webhooks against it).

The calls run in this thread, on this thread's database connection, inside the
caller's transaction; so, as Django's test client does, each call holds off the
"close old connections" that a request normally starts and ends with.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from payments.bakong_access import SANDBOX_EMAIL, BakongAccess
from payments.clients.bakong import BakongClient

SANDBOX_PATH = "/sandbox/bakong"


def sandbox_base_url() -> str:
    """Where the running server answers as Bakong (the demo's own address)."""
    return settings.SITE_URL.rstrip("/") + SANDBOX_PATH


class InProcessApplication:
    """The Django WSGI application for calls from this very process."""

    def __init__(self) -> None:
        self.handler = WSGIHandler()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        started = request_started.disconnect(close_old_connections)
        finished = request_finished.disconnect(close_old_connections)
        try:
            response = self.handler(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                response.close()  # request_finished, without the closing
        finally:
            if started:
                request_started.connect(close_old_connections)
            if finished:
                request_finished.connect(close_old_connections)


def sandbox_bakong_access_build() -> BakongAccess:
    """A new BakongAccess to the sandbox through the WSGI application (close it
    after use)."""
    client = BakongClient(
        base_url=sandbox_base_url(),
        token="",
        transport=httpx.WSGITransport(app=InProcessApplication()),
    )
    return BakongAccess(client=client, email=SANDBOX_EMAIL)


@contextmanager
def sandbox_bakong_access() -> Iterator[BakongAccess]:
    """Access to the sandbox Bakong through the WSGI application, in process."""
    with sandbox_bakong_access_build() as access:
        yield access
