"""The Bakong sandbox speaks the NBC Open API contract over real HTTP
(pytest-django's live_server), to raw httpx and to Tonle's own BakongClient."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import httpx
import pytest
from django.core.management import call_command

from core.exceptions import TransientError
from core.http import RateLimited
from payments.bakong_access import SANDBOX_EMAIL
from payments.clients.bakong import (
    BakongBulkUnsupported,
    BakongClient,
    BakongUnauthorized,
)
from payments.clients.bakong_types import CheckStatus
from sandbox import bakong as sandbox
from sandbox.models import SandboxControl, SandboxIntegrator, SandboxTransaction
from tests.payments.payment_helpers import pending_request

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def base(live_server) -> str:
    return f"{live_server.url}/sandbox/bakong"


@pytest.fixture
def token() -> str:
    return sandbox.issue_token(email=SANDBOX_EMAIL)


@pytest.fixture
def client(base, token):
    with BakongClient(base_url=base, token=token) as c:
        yield c


def post(base: str, endpoint: str, body, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{base}/v1/{endpoint}", json=body, headers=headers, timeout=10)


# -- tokens ---------------------------------------------------------------------


def test_an_integrator_registers_verifies_the_mailed_code_and_gets_a_working_token(
    base,
):
    # given a registration
    answer = post(
        base,
        "request_token",
        {"email": "dev@shop.kh", "organization": "Shop", "project": "Tonle"},
    )
    assert answer.json() == {
        "responseCode": 0,
        "responseMessage": "Email has been sent",
        "errorCode": None,
        "data": None,
    }
    code = SandboxIntegrator.objects.get(email="dev@shop.kh").code
    assert len(code) == 20
    # when the mailed code is verified
    verified = post(base, "verify", {"code": code}).json()
    # then a JWT comes back that the check endpoints accept
    assert verified["responseCode"] == 0
    assert verified["responseMessage"] == "Token has been issued"
    issued = verified["data"]["token"]
    assert issued.count(".") == 2
    checked = post(base, "check_transaction_by_md5", {"md5": "0" * 32}, issued)
    assert checked.status_code == 200
    assert checked.json()["errorCode"] == 1
    # and the same email cannot register twice
    again = post(
        base,
        "request_token",
        {"email": "dev@shop.kh", "organization": "Shop", "project": "Tonle"},
    ).json()
    assert (again["responseCode"], again["errorCode"]) == (1, 8)


def test_missing_fields_answer_400_with_error_code_5(base, token):
    answer = post(base, "request_token", {"email": "dev@shop.kh"})
    assert answer.status_code == 400
    assert answer.json() == {
        "responseCode": 1,
        "responseMessage": "Missing required fields.",
        "errorCode": 5,
        "data": None,
    }
    assert post(base, "check_transaction_by_md5", {}, token).json()["errorCode"] == 5


def test_a_verify_code_of_the_wrong_length_is_missing_fields(base):
    assert post(base, "verify", {"code": "short"}).json()["errorCode"] == 5


def test_renew_token_knows_the_sandbox_integrator_and_refuses_strangers(base):
    renewed = post(base, "renew_token", {"email": SANDBOX_EMAIL}).json()
    assert renewed["responseCode"] == 0
    assert sandbox.token_is_valid(renewed["data"]["token"])
    stranger = post(base, "renew_token", {"email": "who@nowhere.kh"}).json()
    assert stranger == {
        "responseCode": 1,
        "responseMessage": "Not registered yet.",
        "errorCode": 10,
        "data": None,
    }


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer not-a-jwt",
        "Basic abc",
    ],
)
def test_a_missing_or_malformed_token_answers_401_error_code_6(base, header):
    headers = {"Authorization": header} if header else {}
    answer = httpx.post(
        f"{base}/v1/check_transaction_by_md5", json={"md5": "0" * 32}, headers=headers
    )
    assert answer.status_code == 401
    assert answer.json() == {
        "responseCode": 1,
        "responseMessage": "Unauthorized.",
        "errorCode": 6,
        "data": None,
    }


def test_a_forged_token_is_refused(base, token):
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-2]}AA"
    answer = post(base, "check_transaction_by_md5", {"md5": "0" * 32}, forged)
    assert answer.status_code == 401


def test_an_expired_token_is_refused(base):
    expired = sandbox.issue_token(email=SANDBOX_EMAIL, ttl_seconds=-1)
    answer = post(base, "check_transaction_by_md5", {"md5": "0" * 32}, expired)
    assert answer.status_code == 401


def test_expire_tokens_now_refuses_every_token_issued_so_far(base, client):
    # given a working token
    assert client.check_transaction_by_md5(md5="0" * 32).status is CheckStatus.NOT_FOUND
    # when the switch expires tokens
    sandbox.control_set(expire_tokens=True)
    # then the old one is refused and a renewed one works
    with pytest.raises(BakongUnauthorized, match="401"):
        client.check_transaction_by_md5(md5="0" * 32)
    client.token = client.renew_token(email=SANDBOX_EMAIL)
    assert client.check_transaction_by_md5(md5="0" * 32).status is CheckStatus.NOT_FOUND


# -- the simulated payer and the checks --------------------------------------------


def test_a_paid_code_is_found_by_md5_by_hash_by_short_hash_and_in_bulk(
    base, token, client, merchant
):
    # given a pending USD 12.50 request, paid by the sandbox payer
    request = pending_request(merchant, amount=Decimal("12.50"), currency="USD")
    tx = sandbox.pay(md5=request.md5)
    # when Bakong is asked by md5 (raw wire first)
    raw = post(base, "check_transaction_by_md5", {"md5": request.md5}, token)
    body = raw.json()
    # then the NBC sample's shape, the amount as a JSON number
    assert body["responseCode"] == 0 and body["errorCode"] is None
    assert body["responseMessage"] == "Getting transaction successfully."
    assert set(body["data"]) >= {
        "hash",
        "fromAccountId",
        "toAccountId",
        "currency",
        "amount",
        "description",
        "createdDateMs",
        "acknowledgedDateMs",
    }
    assert b'"amount": 12.50' in raw.content
    assert body["data"]["toAccountId"] == merchant.bakong_account_id
    # and the client maps it to the typed result
    found = client.check_transaction_by_md5(md5=request.md5)
    assert found.status is CheckStatus.FOUND
    assert found.transaction.hash == tx.hash
    assert found.transaction.amount == Decimal("12.50")
    assert found.transaction.currency == "USD"
    by_hash = client.check_transaction_by_hash(hash=tx.hash)
    assert by_hash.transaction.hash == tx.hash
    by_short = client.check_transaction_by_short_hash(
        hash=tx.hash[:8], amount=Decimal("12.5"), currency="USD"
    )
    assert by_short.transaction.hash == tx.hash
    wrong_amount = client.check_transaction_by_short_hash(
        hash=tx.hash[:8], amount=Decimal("12.51"), currency="USD"
    )
    assert wrong_amount.status is CheckStatus.NOT_FOUND
    bulk = client.check_transaction_by_md5_list(md5s=[request.md5, "f" * 32])
    assert [r.status for r in bulk] == [CheckStatus.FOUND, CheckStatus.NOT_FOUND]
    assert bulk[0].transaction.amount == Decimal("12.50")


def test_bulk_answers_amounts_as_strings_and_refuses_more_than_fifty(
    base, token, merchant
):
    request = pending_request(merchant, amount=Decimal("4000"), currency="KHR")
    sandbox.pay(md5=request.md5)
    answer = post(base, "check_transaction_by_md5_list", [request.md5], token).json()
    (item,) = answer["data"]
    assert item["status"] == "SUCCESS" and item["md5"] == request.md5
    assert item["data"]["amount"] == "4000.00"
    too_many = post(base, "check_transaction_by_md5_list", ["a" * 32] * 51, token)
    assert too_many.status_code == 400 and too_many.json()["errorCode"] == 5


def test_an_unknown_md5_is_error_code_1_and_a_failed_payment_error_code_3(
    base, token, merchant
):
    request = pending_request(merchant)
    sandbox.pay(md5=request.md5, failed=True)
    assert post(base, "check_transaction_by_md5", {"md5": "e" * 32}, token).json() == {
        "responseCode": 1,
        "responseMessage": "Transaction could not be found. "
        "Please check and try again.",
        "errorCode": 1,
        "data": None,
    }
    failed = post(base, "check_transaction_by_md5", {"md5": request.md5}, token).json()
    assert (failed["errorCode"], failed["responseMessage"]) == (
        3,
        "Transaction failed.",
    )


def test_the_payer_can_pay_another_amount_or_currency(client, merchant):
    request = pending_request(merchant, amount=Decimal("12.50"), currency="USD")
    sandbox.pay(md5=request.md5, amount="50000", currency="KHR")
    info = client.check_transaction_by_md5(md5=request.md5).transaction
    assert (info.amount, info.currency) == (Decimal("50000"), "KHR")


def test_a_code_is_paid_only_once(merchant):
    request = pending_request(merchant)
    sandbox.pay(md5=request.md5)
    with pytest.raises(Exception, match="already paid"):
        sandbox.pay(md5=request.md5)
    assert SandboxTransaction.objects.filter(md5=request.md5).count() == 1


def test_paying_fractional_riel_is_refused_naming_the_amount(merchant):
    request = pending_request(merchant, amount=Decimal("4000"), currency="KHR")
    with pytest.raises(Exception, match="amount|riel|places") as caught:
        sandbox.pay(md5=request.md5, amount="4000.5")
    assert SandboxTransaction.objects.count() == 0
    assert caught.value is not None


def test_check_bakong_account(client, merchant):
    assert client.check_bakong_account(account_id=merchant.bakong_account_id) is True
    assert client.check_bakong_account(account_id="nobody@nowhere") is False


SOURCE = {
    "app_name": "Tonle",
    "app_icon_url": "https://tonle.example/static/img/tonle-icon.png",
    "app_deeplink_callback": "https://tonle.example/payments/",
}


def test_generate_deeplink_answers_a_short_link_to_the_pay_page(client, base, merchant):
    request = pending_request(merchant)
    first = client.generate_deeplink_by_qr(qr=request.qr, **SOURCE)
    second = client.generate_deeplink_by_qr(qr=request.qr)
    assert first.startswith(f"{base}/pay/?md5={request.md5}")
    assert first != second  # a new link each call, like Bakong's
    page = httpx.get(first)
    assert page.status_code == 200 and "Pay this QR (sandbox)" in page.text


@pytest.mark.parametrize("empty", ["appIconUrl", "appName", "appDeepLinkCallback"])
def test_generate_deeplink_refuses_a_source_info_with_an_empty_field(
    base, token, merchant, empty
):
    # given: spec 003 makes the three fields mandatory once sourceInfo is sent
    source = {
        "appIconUrl": "https://tonle.example/i.png",
        "appName": "Tonle",
        "appDeepLinkCallback": "https://tonle.example/payments/",
        empty: "",
    }
    body = {"qr": pending_request(merchant).qr, "sourceInfo": source}
    # when
    answer = post(base, "generate_deeplink_by_qr", body, token)
    # then
    assert answer.json()["errorCode"] == 5
    assert answer.json()["data"] is None


def test_generate_deeplink_refuses_a_broken_qr(base, token):
    answer = post(base, "generate_deeplink_by_qr", {"qr": "00020101021229"}, token)
    assert answer.json()["errorCode"] == 4


def test_a_get_on_an_endpoint_is_405(base):
    assert httpx.get(f"{base}/v1/check_transaction_by_md5").status_code == 405


# -- switches ------------------------------------------------------------------------


def test_the_429_switch_answers_retry_after_and_counts_calls_inside_the_window(
    client,
):
    sandbox.control_set(fail_status=429, fail_times=1, retry_after=30)
    with pytest.raises(RateLimited) as limited:
        client.check_transaction_by_md5(md5="0" * 32)
    assert limited.value.retry_after == 30
    # a call inside the window is refused again and counted
    with pytest.raises(RateLimited) as again:
        client.check_transaction_by_md5(md5="0" * 32)
    assert 28 <= again.value.retry_after <= 30
    assert SandboxControl.objects.get(pk=1).calls_in_pause == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_the_server_error_switch_fails_the_next_calls_then_recovers(client, status):
    sandbox.control_set(fail_status=status, fail_times=2)
    for _ in range(2):
        with pytest.raises(TransientError, match=str(status)):
            client.check_transaction_by_md5(md5="0" * 32)
    assert client.check_transaction_by_md5(md5="0" * 32).status is CheckStatus.NOT_FOUND


def test_the_bulk_switch_removes_the_bulk_endpoint(client):
    sandbox.control_set(bulk_enabled=False)
    with pytest.raises(BakongBulkUnsupported):
        client.check_transaction_by_md5_list(md5s=["0" * 32])


def test_the_delay_switch_makes_calls_slow_enough_to_time_out(base, token):
    sandbox.control_set(delay_ms=600)
    slow = BakongClient(
        base_url=base, token=token, timeout=httpx.Timeout(0.2, connect=1.0)
    )
    with pytest.raises(TransientError, match="timed out"):
        slow.check_transaction_by_md5(md5="0" * 32)


@pytest.fixture
def staff_client():
    """A signed-in staff user: the only one the control page answers."""
    from django.test import Client

    from tests.factories import UserFactory

    client = Client()
    client.force_login(UserFactory(username="sandbox-staff", is_staff=True))
    return client


CONTROL = "/sandbox/bakong/control/"


def test_the_control_endpoint_sets_and_shows_switches_as_json(staff_client):
    # when
    answer = staff_client.post(
        CONTROL,
        {"fail_status": 503, "fail_times": 3, "delay_ms": 5},
        content_type="application/json",
        headers={"Accept": "application/json"},
    )
    # then
    assert answer.status_code == 200
    state = answer.json()
    assert (state["fail_status"], state["fail_remaining"], state["delay_ms"]) == (
        503,
        3,
        5,
    )
    shown = staff_client.get(CONTROL, headers={"Accept": "application/json"})
    assert shown.json()["fail_status"] == 503
    reset = staff_client.post(
        CONTROL, {"reset": True}, content_type="application/json"
    ).json()
    assert (reset["fail_status"], reset["delay_ms"]) == (0, 0)


def test_the_control_endpoint_refuses_a_bad_value_naming_it(staff_client):
    answer = staff_client.post(
        CONTROL, {"fail_status": 418}, content_type="application/json"
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_input",
        "message": "fail_status must be 0, 429, 500, 502 or 503",
    }
    not_number = staff_client.post(
        CONTROL, {"delay_ms": "soon"}, content_type="application/json"
    )
    assert "delay_ms" in not_number.json()["message"]
    assert sandbox.control().fail_status == 0


def test_the_control_page_renders_for_a_person(staff_client):
    page = staff_client.get(CONTROL)
    assert page.status_code == 200
    assert "Bakong sandbox: switches" in page.content.decode()


# -- the pay endpoint and command --------------------------------------------------


def test_the_pay_endpoint_pays_and_redirects_to_next(base, client, merchant):
    request = pending_request(merchant)
    answer = httpx.post(
        f"{base}/pay/",
        data={"md5": request.md5, "next": "/payments/somewhere/"},
    )
    assert answer.status_code == 302
    assert answer.headers["location"] == "/payments/somewhere/"
    assert client.check_transaction_by_md5(md5=request.md5).status is CheckStatus.FOUND


def test_the_pay_endpoint_ignores_an_offsite_next(base, merchant):
    request = pending_request(merchant)
    answer = httpx.post(
        f"{base}/pay/", data={"md5": request.md5, "next": "https://evil.example/"}
    )
    assert answer.status_code == 302
    assert "evil.example" not in answer.headers["location"]


def test_the_pay_endpoint_explains_a_refusal(base, merchant):
    request = pending_request(merchant)
    sandbox.pay(md5=request.md5)
    again = httpx.post(f"{base}/pay/", data={"md5": request.md5})
    assert again.status_code == 409
    assert "already paid" in again.text
    bad = httpx.post(f"{base}/pay/", data={"md5": "nope"})
    assert bad.status_code == 400 and "32 hexadecimal" in bad.text


def test_sandbox_pay_command_pays_the_codes_own_amount(merchant):
    request = pending_request(merchant, amount=Decimal("4000"), currency="KHR")
    out = StringIO()
    call_command("sandbox_pay", request.md5, "--json", stdout=out)
    printed = json.loads(out.getvalue())
    assert printed["md5"] == request.md5
    assert (printed["amount"], printed["currency"]) == ("4000.00", "KHR")
    assert printed["to_account_id"] == merchant.bakong_account_id


def test_sandbox_pay_command_pays_a_mismatch_when_asked(merchant):
    request = pending_request(merchant, amount=Decimal("4000"), currency="KHR")
    out = StringIO()
    call_command(
        "sandbox_pay",
        request.md5,
        "--amount",
        "3.50",
        "--currency",
        "USD",
        "--json",
        stdout=out,
    )
    assert json.loads(out.getvalue())["amount"] == "3.50"
    tx = SandboxTransaction.objects.get(md5=request.md5)
    assert (tx.amount, tx.currency) == (Decimal("3.50"), "USD")


def test_sandbox_pay_command_needs_an_amount_for_a_static_code(merchant):
    request = pending_request(merchant, amount=None, currency="KHR")
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("sandbox_pay", request.md5, "--json", stdout=out)
    assert json.loads(out.getvalue()) == {
        "error": "invalid_input",
        "message": "this is a static code: give the amount the payer types",
    }


def test_sandbox_pay_command_pays_a_paid_code_again_only_when_asked(merchant):
    # given a code the payer paid
    request = pending_request(merchant)
    call_command("sandbox_pay", request.md5, "--json", stdout=StringIO())
    # when it is paid again, first without --again, then with it
    refused = StringIO()
    with pytest.raises(SystemExit):
        call_command("sandbox_pay", request.md5, "--json", stdout=refused)
    out = StringIO()
    call_command("sandbox_pay", request.md5, "--again", "--json", stdout=out)
    # then the second payment is another transaction
    assert "already paid in the sandbox" in json.loads(refused.getvalue())["message"]
    hashes = set(SandboxTransaction.objects.values_list("hash", flat=True))
    assert len(hashes) == 2
    assert json.loads(out.getvalue())["hash"] in hashes


def test_sandbox_pay_command_refuses_when_the_sandbox_is_off(settings, merchant):
    settings.SANDBOX_ENABLED = False
    request = pending_request(merchant)
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("sandbox_pay", request.md5, "--json", stdout=out)
    assert json.loads(out.getvalue())["error"] == "configuration_error"
    assert SandboxTransaction.objects.count() == 0


def test_a_body_that_is_not_json_is_missing_fields(base, token):
    answer = httpx.post(
        f"{base}/v1/check_transaction_by_md5",
        content=b'{"md5": ',
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        },
    )
    assert answer.status_code == 400
    assert answer.json()["errorCode"] == 5
