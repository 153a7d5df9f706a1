"""Bakong polling throughput: how many pending payment requests one polling round
checks per second against a local Bakong stand-in, single checks at concurrency 1, 5
and 10 and bulk md5 checks (50 per call); then rounds while the stand-in answers 429
+ Retry-After, verifying that no request was sent inside a known window.

Two stand-ins, each a real HTTP server on a free loopback port in its own process:

- `sandbox`: Tonle's built-in Bakong sandbox (the full Django app) under gunicorn,
  over a bench SQLite database: the real contract, JWTs and all; its own cost per
  request (Django's middleware, two queries) is part of the figure;
- `tiny`: a few dozen lines of http.server speaking the same contract (envelope,
  bearer token, renew_token, md5 and bulk md5 checks, 429 switch), so the figure is
  the poller's own: claim, ask, record, apply.

    .venv/bin/python bench/poll.py                    # both, 1000 requests per run
    .venv/bin/python bench/poll.py --stand-in tiny --requests 3000

A round here is exactly what `poll_payments --once` and the beat's payments.poll_due
do: claim the due rows, ask Bakong, write a PaymentCheck per request, reschedule,
hand every found transaction to bakong_transaction_apply.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="tonle-bench-poll-"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PORT = free_port()
BASE = f"http://127.0.0.1:{PORT}"
ENV = {
    "DATABASE_URL": f"sqlite:///{WORK / 'bench.sqlite3'}",
    "CELERY_BROKER_URL": "filesystem://",
    "CELERY_FILESYSTEM_DIR": str(WORK / "celery"),
    "CACHE_URL": "locmemcache://",
    "FIELD_ENCRYPTION_KEYS": "3x6Vz0b1oVCbG1y0m4cVYt8t6m1Xo7cD9rN2yq0T6aE=",
    "SECRET_KEY": "bench-" + secrets.token_hex(16),
    "DEBUG": "false",
    "SANDBOX_ENABLED": "true",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SITE_URL": BASE,
    "BAKONG_BASE_URL": f"{BASE}/sandbox/bakong",
    "BAKONG_TOKEN": "",
    "BAKONG_EMAIL": "",
    "LOG_LEVEL": "ERROR",
    "DJANGO_SETTINGS_MODULE": "config.settings",
}
os.environ.update(ENV)

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from core.http import retry_after_seconds  # noqa: E402
from merchants.models import Merchant  # noqa: E402
from payments.bakong_access import SANDBOX_EMAIL, BakongAccess  # noqa: E402
from payments.clients.bakong import BakongClient  # noqa: E402
from payments.models import (  # noqa: E402
    BakongTransaction,
    PaymentCheck,
    PaymentRequest,
    PaymentStatus,
)
from payments.services.polling import payments_poll_due  # noqa: E402
from sandbox import bakong as sandbox  # noqa: E402
from sandbox.models import SandboxTransaction  # noqa: E402


class RecordingTransport(httpx.HTTPTransport):
    """Records when each request was sent and answered (monotonic seconds)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.lock = threading.Lock()
        self.log: list[tuple[float, float, int, float | None]] = []

    def handle_request(self, request):
        sent = time.monotonic()
        response = super().handle_request(request)
        answered = time.monotonic()
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        with self.lock:
            self.log.append((sent, answered, response.status_code, retry_after))
        return response


TINY_PORT = free_port()
STAND_INS = {
    "sandbox": f"{BASE}/sandbox/bakong",
    "tiny": f"http://127.0.0.1:{TINY_PORT}/bakong",
}


def access_with(transport: RecordingTransport, base: str) -> BakongAccess:
    client = BakongClient(base_url=base, transport=transport)
    return BakongAccess(client=client, email=SANDBOX_EMAIL)


def wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the stand-in did not start:\n{log.read_text()}")


def start_tiny(paid: list[PaymentRequest]) -> subprocess.Popen:
    """The tiny stand-in, knowing the same paid codes as the sandbox."""
    import json

    data = {
        tx.md5: {
            "hash": tx.hash,
            "fromAccountId": tx.from_account_id,
            "toAccountId": tx.to_account_id,
            "currency": tx.currency,
            "amount": float(tx.amount),  # the wire sends numbers, as Bakong does
            "description": "",
            "createdDateMs": int(tx.created_at.timestamp() * 1000),
            "acknowledgedDateMs": int(tx.created_at.timestamp() * 1000),
        }
        for tx in SandboxTransaction.objects.filter(md5__in=[r.md5 for r in paid])
    }
    (WORK / "paid.json").write_text(json.dumps(data))
    log = WORK / "tiny.log"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "bakong_standin.py"), str(TINY_PORT)]
        + [str(WORK / "paid.json")],
        stdout=subprocess.DEVNULL,
        stderr=open(log, "wb"),  # noqa: SIM115
    )
    wait_for_port(TINY_PORT, process, log)
    return process


def set_429(stand_in: str, *, retry_after: int) -> None:
    if stand_in == "sandbox":
        sandbox.control_set(fail_status=429, fail_times=1, retry_after=retry_after)
    else:
        httpx.post(
            f"http://127.0.0.1:{TINY_PORT}/control",
            json={"fail429": 1, "retry_after": retry_after},
        )


def start_server() -> subprocess.Popen:
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    server = subprocess.Popen(
        [
            gunicorn,
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            "2",
            "--worker-class",
            "gthread",
            "--threads",
            "8",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, **ENV},
        stdout=subprocess.DEVNULL,
        stderr=open(WORK / "server.log", "wb"),  # noqa: SIM115
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{BASE}/sandbox/bakong/control/", timeout=1)
            return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(
        f"the stand-in did not start:\n{(WORK / 'server.log').read_text()}"
    )


def seed(n: int, paid_share: float) -> list[PaymentRequest]:
    merchant = Merchant.objects.create(
        legal_name="Bench Co., Ltd.",
        display_name="Bench Shop",
        bakong_account_id="bench@wing",
    )
    now = timezone.now()
    rows = [
        PaymentRequest(
            merchant=merchant,
            amount="12.50",
            currency="USD",
            qr=f"bench-{i}",
            md5=hashlib.md5(f"bench-{i}".encode(), usedforsecurity=False).hexdigest(),
            expires_at=now + timezone.timedelta(hours=2),
            next_check_at=now,
        )
        for i in range(n)
    ]
    PaymentRequest.objects.bulk_create(rows, batch_size=500)
    paid = list(PaymentRequest.objects.order_by("pk")[: int(n * paid_share)])
    SandboxTransaction.objects.bulk_create(
        [
            SandboxTransaction(
                hash=hashlib.sha256(r.md5.encode()).hexdigest(),
                md5=r.md5,
                from_account_id=sandbox.PAYER_ACCOUNT,
                to_account_id="bench@wing",
                amount=r.amount,
                currency="USD",
            )
            for r in paid
        ],
        batch_size=500,
    )
    return paid


def reset_round() -> None:
    """Every request pending and due again, nothing applied yet."""
    BakongTransaction.objects.all().delete()
    PaymentCheck.objects.all().delete()
    PaymentRequest.objects.update(
        status=PaymentStatus.PENDING,
        flag="",
        paid_at=None,
        paid_amount=None,
        paid_currency="",
        bakong_hash="",
        payer_account="",
        next_check_at=timezone.now() - timezone.timedelta(seconds=1),
    )
    cache.clear()


def run(label: str, *, stand_in: str, n: int, concurrency: int, bulk: bool) -> dict:
    from django.conf import settings

    reset_round()
    settings.BAKONG_BULK_MD5 = bulk
    transport = RecordingTransport()
    access = access_with(transport, STAND_INS[stand_in])
    access.token()  # a token is fetched once per process, not per round
    started = time.perf_counter()
    stats = payments_poll_due(limit=n, concurrency=concurrency, access=access)
    elapsed = time.perf_counter() - started
    http = sum(1 for _, _, status, _ in transport.log if status == 200)
    label = f"{stand_in}: {label}"
    print(
        f"{label:<36} {stats.checked:>6} checked {stats.paid:>5} paid "
        f"{stats.errors:>3} errors {http:>6} calls {elapsed:>7.2f} s "
        f"{stats.checked / elapsed:>8.0f} checks/s"
    )
    assert stats.checked == n and stats.errors == 0, stats
    return {"label": label, "rate": stats.checked / elapsed}


def run_with_429(*, stand_in: str, concurrency: int, seconds: float) -> None:
    """Rounds every 0.2 s for `seconds` while the sandbox rate-limits now and
    then; verify no request was SENT inside a Retry-After window we had been told
    about (a request already in flight when the 429 arrived is not a violation)."""
    from django.conf import settings

    reset_round()
    settings.BAKONG_BULK_MD5 = False
    transport = RecordingTransport()
    access = access_with(transport, STAND_INS[stand_in])
    access.token()
    windows = 0
    deadline = time.monotonic() + seconds
    next_429 = time.monotonic()
    checked = deferred = 0
    while time.monotonic() < deadline:
        if time.monotonic() >= next_429:
            set_429(stand_in, retry_after=1)
            windows += 1
            next_429 = time.monotonic() + 2.5
        # every request due again, as if the beat came round
        PaymentRequest.objects.update(next_check_at=timezone.now())
        stats = payments_poll_due(limit=200, concurrency=concurrency, access=access)
        checked += stats.checked
        deferred += stats.deferred
        time.sleep(0.2)
    sandbox.control_reset()
    violations = []
    for _, answered, status, retry_after in transport.log:
        if status != 429:
            continue
        window_end = answered + (retry_after or 0)
        violations += [
            sent for sent, _, _, _ in transport.log if answered < sent < window_end
        ]
    limited = sum(1 for *_, status, _ in transport.log if status == 429)
    print(
        f"{stand_in}: 429 + Retry-After 1 s every 2.5 s, single c={concurrency}: "
        f"{len(transport.log)} "
        f"requests, {limited} answered 429, {checked} checks, {deferred} deferred; "
        f"requests sent inside a known Retry-After window: {len(violations)}"
    )
    if violations:
        raise SystemExit("FAILED: requests were sent inside a Retry-After window")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--paid", type=float, default=0.1, help="share already paid")
    parser.add_argument(
        "--stand-in", choices=["both", "sandbox", "tiny"], default="both"
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench dir")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    paid = seed(args.requests, args.paid)
    stand_ins = ["sandbox", "tiny"] if args.stand_in == "both" else [args.stand_in]
    servers = [start_server()]
    if "tiny" in stand_ins:
        servers.append(start_tiny(paid))
    n = args.requests
    results = []
    try:
        print(
            f"{n} pending requests, {len(paid)} of them paid; {os.cpu_count()} CPUs "
            "shared by the stand-in and the poller. sandbox = the Django sandbox under "
            "gunicorn (2 workers x 8 threads); tiny = bench/bakong_standin.py"
        )
        for stand_in in stand_ins:
            for concurrency in (1, 5, 10):
                results.append(
                    run(
                        f"single checks, c={concurrency}",
                        stand_in=stand_in,
                        n=n,
                        concurrency=concurrency,
                        bulk=False,
                    )
                )
            for concurrency in (1, 5):
                results.append(
                    run(
                        f"bulk md5 (50/call), c={concurrency}",
                        stand_in=stand_in,
                        n=n,
                        concurrency=concurrency,
                        bulk=True,
                    )
                )
        for stand_in in stand_ins:
            run_with_429(stand_in=stand_in, concurrency=5, seconds=6)
        best = max(results, key=lambda r: r["rate"])
        print(f"best: {best['label']} at {best['rate']:.0f} checks/s (target >= 300)")
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
        if not args.keep:
            shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
