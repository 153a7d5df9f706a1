"""/healthz and /readyz for load balancers and orchestrators.

/healthz says the process answers (it touches nothing else: a database outage must
not make every web process look dead and be restarted). /readyz says this process
can do useful work: the database answers `SELECT 1`, the broker accepts a
connection, and the beat's heartbeat is fresh. Both are JSON, open to anyone (no
login, no CSRF, nothing secret in them) and never cached.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from kombu import Connection

from core.downloads import no_store
from core.heartbeat import beat_tick_age_seconds

logger = logging.getLogger("tonle.health")

BROKER_TIMEOUT_SECONDS = 2.0


class CheckFailed(Exception):
    """A readiness check's own verdict (the message is safe to show anyone)."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: dict

    def as_json(self) -> dict:
        return {"ok": self.ok, **self.detail}


def database_check() -> dict:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        (one,) = cursor.fetchone()
    if one != 1:
        raise CheckFailed("SELECT 1 did not answer 1")
    return {}


def broker_check() -> dict:
    url = settings.CELERY_BROKER_URL
    options = dict(getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {})
    if url.startswith("filesystem"):
        # the filesystem broker is a folder: it must be there and writable
        folder = Path(options.get("data_folder_in", "."))
        if not (folder.is_dir() and os.access(folder, os.W_OK)):
            raise CheckFailed("the broker's queue folder is missing or read-only")
        return {"transport": "filesystem"}
    options.update(
        socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
        socket_timeout=BROKER_TIMEOUT_SECONDS,
    )
    with Connection(
        url, connect_timeout=BROKER_TIMEOUT_SECONDS, transport_options=options
    ) as connection:
        connection.ensure_connection(
            max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS
        )
        return {"transport": url.split(":", 1)[0]}


def beat_check() -> dict:
    limit = settings.BEAT_TICK_MAX_AGE_SECONDS
    age = beat_tick_age_seconds()
    if age is None:
        raise CheckFailed("the beat has not ticked yet")
    detail = {"age_seconds": round(age, 1), "max_age_seconds": limit}
    if age > limit:
        raise CheckFailed(
            f"the beat's last tick is {age:.0f} s old (more than {limit} s)"
        )
    return detail


READINESS_CHECKS: dict[str, Callable[[], dict]] = {
    "database": database_check,
    "broker": broker_check,
    "beat": beat_check,
}


def _run(name: str, check: Callable[[], dict]) -> CheckResult:
    started = time.monotonic()
    try:
        detail = check()
    except CheckFailed as exc:
        return CheckResult(name, False, {"error": str(exc)})
    except Exception as exc:  # any failure of a dependency is "not ready"
        # the class only: a driver's message may carry a host name or a user
        logger.warning("health.check.failed", extra={"check": name, "error": repr(exc)})
        return CheckResult(name, False, {"error": type(exc).__name__})
    elapsed = round((time.monotonic() - started) * 1000, 1)
    return CheckResult(name, True, {"ms": elapsed, **detail})


def _json(body: dict, status: int = 200) -> JsonResponse:
    return no_store(JsonResponse(body, status=status))


@csrf_exempt
@require_http_methods(["GET", "HEAD"])
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers; nothing else is touched."""
    return _json({"status": "ok"})


@csrf_exempt
@require_http_methods(["GET", "HEAD"])
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the broker and the beat all answer, else 503 naming
    each check that failed."""
    results = [_run(name, check) for name, check in READINESS_CHECKS.items()]
    failed = [result.name for result in results if not result.ok]
    body = {
        "status": "unavailable" if failed else "ok",
        "failed": failed,
        "checks": {result.name: result.as_json() for result in results},
    }
    return _json(body, status=503 if failed else 200)
