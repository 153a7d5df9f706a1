"""The shop API against its own OpenAPI schema, over real HTTP: schemathesis
generates requests from /api/schema/ (bounded: a few examples per operation) and
checks every answer is documented (status, content type, headers, body) and never a
5xx, that schema-violating input is refused and that calls without a key are; then
merchant B's key is tried on merchant A's code."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from merchants.services import api_key_create
from tests.payments.makers import payment_request_make

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOP_ROUTES = r"^/api/v1/(qr|transaction/|me$)"


def _schemathesis() -> str:
    found = Path(sys.executable).with_name("schemathesis")
    return str(found) if found.exists() else (shutil.which("schemathesis") or "")


def test_the_shop_api_answers_as_its_schema_says(
    live_server, settings, merchant, other_merchant, tmp_path
):
    # given merchant A with a code and a live key, merchant B with its own key
    settings.API_RATE_LIMIT_PER_MINUTE = 100_000
    # Bakong is the live server's sandbox: slip look-ups (by-hash) are answered as
    # Bakong answers (found or not), never "Bakong unreachable" (503)
    settings.SITE_URL = live_server.url
    settings.BAKONG_BASE_URL = ""
    payment_request_make(merchant=merchant, order_id="A-1")
    _, key_a = api_key_create(merchant=merchant)
    _, key_b = api_key_create(merchant=other_merchant)
    binary = _schemathesis()
    assert binary, "schemathesis is missing: pip install -r requirements-test.txt"
    # when schemathesis drives every shop route with A's key
    result = subprocess.run(
        [
            binary,
            "run",
            f"{live_server.url}/api/schema/",
            "--header",
            f"Authorization: Bearer {key_a}",
            "--include-path-regex",
            SHOP_ROUTES,
            "--max-examples",
            "4",
            "--seed",
            "20261201",
            "--workers",
            "1",
            "--request-timeout",
            "20",
            # business rules (fractional riel, expiry ranges) refuse some
            # schema-valid input on purpose, with a documented 400
            "--exclude-checks",
            "positive_data_acceptance",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    # then it found nothing
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout, result.stdout[-4000:]
    # and B's key never reaches A's code
    a_code = payment_request_make(merchant=merchant, order_id="A-2")
    b = httpx.Client(
        base_url=live_server.url, headers={"Authorization": f"Bearer {key_b}"}
    )
    assert (
        b.post("/api/v1/transaction/check", json={"md5": a_code.md5}).status_code == 404
    )
    assert (
        b.post("/api/v1/transaction/by-order", json={"order_id": "A-2"}).status_code
        == 404
    )
    assert b.get(f"/api/v1/qr/{a_code.md5}.png").status_code == 404
    assert b.get(f"/api/v1/qr/{a_code.md5}.svg").json()["error"] == "not_found"
