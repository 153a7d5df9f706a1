"""The shop API against its own OpenAPI schema, over real HTTP: schemathesis
generates requests from /api/schema/ (bounded: a few examples per operation) and
checks every answer is documented (status, content type, headers, body) and never a
5xx, that schema-violating input is refused and that calls without a key are; then
merchant B's key is tried on merchant A's code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from merchants.services import api_key_create
from tests.payments.makers import payment_request_make
from tests.reconciliation.review_makers import invoice as invoice_make
from tests.reconciliation.review_makers import paid, run

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOP_ROUTES = r"^/api/v1/(qr|transaction/|me$)"
REPO = Path(__file__).resolve().parents[2]


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


def test_another_merchants_key_never_sees_a_merchants_objects(
    live_server, settings, merchant, other_merchant, account, tmp_path
):
    # given merchant A with a code, an invoice, ledger lines and a run, and
    # merchant B with a key of every scope and nothing of its own
    settings.API_RATE_LIMIT_PER_MINUTE = 100_000
    settings.SITE_URL = live_server.url
    settings.BAKONG_BASE_URL = ""
    code = payment_request_make(merchant=merchant, order_id="A-SECRET-ORDER")
    invoice = invoice_make(merchant, "INV-A-SECRET", "120.00", customer="A Customer")
    line = paid(account, 3, "120.00", reference="INV-A-SECRET", external_id="A-TXN-9")
    run(merchant)
    _, key_b = api_key_create(merchant=other_merchant)
    a = {
        "md5": code.md5,
        "order_id": code.order_id,
        "hash": "a" * 64,
        "forbidden": [
            # not A's order id: B may use the same words for its own order, and
            # B's own code under it is B's (its md5 and qr differ from A's)
            code.md5,
            code.qr,
            invoice.invoice_number,
            invoice.customer,
            line.external_id,
            account.number,
            merchant.display_name,
            merchant.bakong_account_id,
        ],
    }
    seen = tmp_path / "answers-checked.txt"
    binary = _schemathesis()
    assert binary, "schemathesis is missing: pip install -r requirements-test.txt"
    # when schemathesis drives every API route with B's key, aimed at A's objects
    result = subprocess.run(
        [
            binary,
            "run",
            f"{live_server.url}/api/schema/",
            "--header",
            f"Authorization: Bearer {key_b}",
            "--include-path-regex",
            r"^/api/v1/",
            "--checks",
            "not_a_server_error,no_other_merchants_data",
            "--max-examples",
            "6",
            "--seed",
            "20261204",
            "--workers",
            "1",
            "--request-timeout",
            "20",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
        env={
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_tenancy_hooks",
            "TONLE_TENANCY_A": json.dumps(a),
            "TONLE_TENANCY_SEEN": str(seen),
            "PYTHONPATH": str(REPO),
        },
    )
    # then no answer carried anything of A's (nor was a 500)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    # and the check looked at answers of every kind of route, 2xx among them
    checked = seen.read_text().splitlines()
    routes = {line.split()[1] for line in checked}
    assert {"/api/v1/invoices", "/api/v1/transactions", "/api/v1/me"} <= routes
    assert any(line.endswith(" 200") for line in checked)
