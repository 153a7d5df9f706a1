"""Walk every URL pattern as a member of merchant B against merchant A's objects.

Each URL keyword argument must be listed in OBJECT_OF_A with a way to make merchant
A's object of that kind; a new URL with an unknown argument fails this test until it
is listed, so every later page and API route is covered automatically.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from merchants.services import api_key_create
from tests import tenancy_objects

SKIPPED_PREFIXES = ("admin/", "sandbox/", "api/schema/", "api/docs/", "static/")
PUBLIC_NAMES = {"login", "logout", "password-change", "password_change_done"}
# forgot password: no merchant data, and the confirm link's arguments are a signed
# token (tests/merchants/test_password_reset.py)
PUBLIC_NAMES |= {
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}
# probes for load balancers and Prometheus: no merchant data, and /readyz answers
# 503 by design when the beat is silent (tests/core/test_health.py, test_metrics.py)
PUBLIC_NAMES |= {"healthz", "readyz", "metrics"}
REFUSED = {400, 401, 403, 404, 405}
A_MARKER = "Merchant-A-secret-marker"


def _walk(patterns, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        else:
            yield route, pattern


def _all_routes() -> list[tuple[str, URLPattern]]:
    return [
        (route, p)
        for route, p in _walk(get_resolver().url_patterns)
        if not route.startswith(SKIPPED_PREFIXES) and p.name not in PUBLIC_NAMES
    ]


def _fill(route: str, pattern: URLPattern, values: dict[str, str]) -> str:
    import re

    def sub(match: re.Match) -> str:
        name = match.group(2)
        if name not in values:
            raise KeyError(name)
        return values[name]

    path = re.sub(r"<(?:(\w+):)?(\w+)>", sub, route)
    return "/" + path.lstrip("^").rstrip("$")


@pytest.fixture
def merchant_a_objects(merchant) -> dict[str, str]:
    merchant.display_name = A_MARKER[:25]
    merchant.legal_name = A_MARKER
    merchant.save()
    makers: dict[str, Callable] = tenancy_objects.OBJECT_OF_A
    return {name: str(make(merchant)) for name, make in makers.items()}


@pytest.mark.django_db
def test_every_url_refuses_merchant_a_objects_to_a_member_of_b(
    merchant_a_objects, other_merchant, member_client_factory
):
    # given an owner of merchant B, in the browser and with B's API key
    browser = member_client_factory(other_merchant, "owner")
    api = APIClient()
    api.credentials(
        HTTP_AUTHORIZATION=f"Bearer {api_key_create(merchant=other_merchant)[1]}"
    )
    unknown, leaks, checked = [], [], 0
    for route, pattern in _all_routes():
        try:
            url = _fill(route, pattern, merchant_a_objects)
        except KeyError as exc:
            unknown.append(f"{route} (argument {exc.args[0]})")
            continue
        has_object = "<" in route
        client = api if url.startswith("/api/") else browser
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            checked += 1
            raw = (
                b"".join(response.streaming_content)
                if response.streaming
                else response.content
            )  # exports and downloads stream: read what they would send
            body = raw.decode(errors="replace")
            if A_MARKER[:25] in body:
                leaks.append(f"{method.upper()} {url} shows merchant A's data")
            if has_object and response.status_code not in REFUSED:
                leaks.append(f"{method.upper()} {url} answered {response.status_code}")
            if response.status_code >= 500:
                leaks.append(f"{method.upper()} {url} crashed ({response.status_code})")
    assert unknown == [], "add these URL arguments to tests/tenancy_objects.py"
    assert leaks == []
    assert checked > 10


def test_the_walker_sees_the_object_urls():
    routes = [route for route, _ in _all_routes()]
    assert "accounts/<int:account_id>/" in routes
