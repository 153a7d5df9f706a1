from decimal import Decimal

import pytest
from django.core.cache import cache
from freezegun import freeze_time
from rest_framework.test import APIClient

from merchants.services import api_key_create, api_key_revoke
from payments import khqr
from payments.clients.bakong_types import BakongTransactionInfo
from payments.models import PaymentRequest
from payments.services.payment_requests import bakong_transaction_apply
from tests.payments.makers import payment_request_make


@pytest.fixture(autouse=True)
def _isolated(settings):
    settings.BAKONG_BASE_URL = "http://127.0.0.1:9"  # Bakong away: no deeplink
    cache.clear()  # fresh rate-limit buckets


def _client(raw_key: str | None) -> APIClient:
    client = APIClient()
    if raw_key:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def _pay(pr: PaymentRequest) -> PaymentRequest:
    return bakong_transaction_apply(
        payment_request_id=pr.pk,
        info=BakongTransactionInfo(
            hash="e" * 64,
            from_account_id="payer@aclb",
            to_account_id="x@wing",
            currency=pr.currency,
            amount=pr.amount,
        ),
    )


# --- POST /api/v1/qr ----------------------------------------------------------------


def test_qr_create_answers_the_code_with_amount_as_string(api_client):
    # when
    response = api_client.post(
        "/api/v1/qr",
        {"amount": 5.10, "currency": "USD", "bill_number": "INV-001"},
        format="json",
    )
    # then
    assert response.status_code == 201
    body = response.json()
    assert body["amount"] == "5.10"
    assert body["currency"] == "USD"
    assert body["idempotent_replay"] is False
    assert body["status"] == "pending"
    assert body["deeplink"] == ""
    assert khqr.decode(body["qr"]).amount == "5.10"
    assert body["md5"] == PaymentRequest.objects.get().md5
    assert body["image_url"] == f"http://testserver/api/v1/qr/{body['md5']}.png"
    assert body["expires_at"].endswith("Z") or "+" in body["expires_at"]
    assert response["X-RateLimit-Limit"] == "120"
    assert response["X-RateLimit-Remaining"] == "119"


def test_qr_create_accepts_a_string_amount_and_keeps_it_exact(api_client):
    response = api_client.post(
        "/api/v1/qr", {"amount": "40000", "currency": "KHR"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["amount"] == "40000"
    assert PaymentRequest.objects.get().amount == Decimal("40000")


def test_qr_create_same_order_id_is_an_idempotent_replay(api_client):
    data = {"amount": "5", "currency": "USD", "order_id": "ORDER-1042"}
    first = api_client.post("/api/v1/qr", data, format="json")
    again = api_client.post("/api/v1/qr", data, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["idempotent_replay"] is True
    assert again.json()["md5"] == first.json()["md5"]
    assert again.json()["qr"] == first.json()["qr"]


def test_qr_create_same_order_id_other_fields_is_409(api_client):
    api_client.post(
        "/api/v1/qr",
        {"amount": "5", "currency": "USD", "order_id": "O1"},
        format="json",
    )
    response = api_client.post(
        "/api/v1/qr",
        {"amount": "6", "currency": "USD", "order_id": "O1"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"


def test_qr_create_honours_the_idempotency_key_header(api_client):
    data = {"amount": "5", "currency": "USD"}
    first = api_client.post(
        "/api/v1/qr", data, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    again = api_client.post(
        "/api/v1/qr", data, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    other = api_client.post(
        "/api/v1/qr",
        {"amount": "9", "currency": "USD"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert again.status_code == 200
    assert again.json()["md5"] == first.json()["md5"]
    assert other.status_code == 409


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"amount": "1000.5", "currency": "KHR"}, "amount"),
        ({"amount": 1.234, "currency": "USD"}, "amount"),
        ({"amount": True, "currency": "USD"}, "amount"),
        ({"amount": "1", "currency": "EUR"}, "currency"),
        ({"amount": "1", "expires_in_seconds": 29}, "expires_in_seconds"),
        ({"amount": "1", "expires_in_seconds": 86401}, "expires_in_seconds"),
        ({"amount": "1", "bill_number": "x" * 26}, "bill_number"),
        ({"amount": "1", "order_id": "x" * 65}, "order_id"),
    ],
)
def test_qr_create_invalid_input_names_the_field(api_client, data, field):
    response = api_client.post("/api/v1/qr", data, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_input"
    assert body["message"].startswith(f"{field}:")
    assert PaymentRequest.objects.count() == 0


def test_qr_create_malformed_json_is_invalid_input(api_client):
    response = api_client.post(
        "/api/v1/qr", data='{"amount": ', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_input"


def test_qr_create_without_bakong_account_id_is_merchant_not_configured(
    api_client, merchant
):
    merchant.bakong_account_id = ""
    merchant.save()
    response = api_client.post("/api/v1/qr", {"amount": "1"}, format="json")
    assert response.json()["error"] == "merchant_not_configured"
    assert response.status_code == 400


def test_qr_create_defaults_to_the_merchants_currency(api_client, merchant):
    merchant.default_currency = "KHR"
    merchant.save()
    response = api_client.post("/api/v1/qr", {"amount": "100"}, format="json")
    assert response.json()["currency"] == "KHR"


# --- auth -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "Bearer nonsense", "Bearer tonle_live_abc.wrong", "Basic dXNlcjpwdw=="],
)
def test_every_route_refuses_a_missing_or_bad_key(db, header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    for method, path in [
        ("post", "/api/v1/qr"),
        ("post", "/api/v1/transaction/check"),
        ("post", "/api/v1/transaction/by-order"),
        ("get", "/api/v1/me"),
        ("get", f"/api/v1/qr/{'0' * 32}.png"),
    ]:
        response = getattr(client, method)(path, {}, format="json")
        assert response.status_code == 401, path
        assert response.json()["error"] == "unauthorized"


def test_a_revoked_key_is_refused(merchant):
    key, raw = api_key_create(merchant=merchant)
    api_key_revoke(merchant=merchant, api_key_id=key.pk)
    response = _client(raw).get("/api/v1/me")
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert "revoked" in response.json()["message"]


# --- check and by-order ---------------------------------------------------------


def test_check_pending_then_paid(api_client, merchant):
    pr = payment_request_make(merchant=merchant, amount="5.00")
    pending = api_client.post(
        "/api/v1/transaction/check", {"md5": pr.md5}, format="json"
    )
    assert pending.json()["status"] == "pending"
    assert pending.json()["paid_at"] is None
    _pay(pr)
    paid = api_client.post("/api/v1/transaction/check", {"md5": pr.md5}, format="json")
    body = paid.json()
    assert paid.status_code == 200
    assert body["status"] == "paid"
    assert body["amount"] == "5.00"
    assert body["hash"] == "e" * 64
    assert body["paid_at"] is not None


def test_check_unknown_md5_is_404(api_client):
    response = api_client.post(
        "/api/v1/transaction/check", {"md5": "0" * 32}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("md5", ["", "xyz", "g" * 32, "0" * 33])
def test_check_bad_md5_is_invalid_input(api_client, md5):
    response = api_client.post("/api/v1/transaction/check", {"md5": md5}, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith("md5:")


def test_another_merchants_md5_and_order_id_are_404(merchant, other_merchant):
    # given merchant A's paid code and merchant B's key
    pr = payment_request_make(merchant=merchant, order_id="A-ORDER")
    _pay(pr)
    b = _client(api_key_create(merchant=other_merchant)[1])
    # then B sees none of it
    check = b.post("/api/v1/transaction/check", {"md5": pr.md5}, format="json")
    order = b.post(
        "/api/v1/transaction/by-order", {"order_id": "A-ORDER"}, format="json"
    )
    image = b.get(f"/api/v1/qr/{pr.md5}.png")
    assert (check.status_code, order.status_code, image.status_code) == (404, 404, 404)
    assert pr.md5 not in check.content.decode() + order.content.decode()


def test_test_keys_see_only_test_data_and_live_keys_only_live(merchant):
    live = _client(api_key_create(merchant=merchant)[1])
    test = _client(api_key_create(merchant=merchant, is_test=True)[1])
    made_by_test = test.post(
        "/api/v1/qr", {"amount": "1", "currency": "USD", "order_id": "T"}, format="json"
    ).json()
    made_by_live = live.post(
        "/api/v1/qr", {"amount": "1", "currency": "USD", "order_id": "L"}, format="json"
    ).json()

    def check(client, md5):
        return client.post(
            "/api/v1/transaction/check", {"md5": md5}, format="json"
        ).status_code

    assert check(test, made_by_test["md5"]) == 200
    assert check(test, made_by_live["md5"]) == 404
    assert check(live, made_by_live["md5"]) == 200
    assert check(live, made_by_test["md5"]) == 404
    by_order = live.post(
        "/api/v1/transaction/by-order", {"order_id": "T"}, format="json"
    )
    assert by_order.status_code == 404


def test_by_order_answers_the_status_with_order_fields(api_client, merchant):
    pr = payment_request_make(merchant=merchant, order_id="ORDER-1042", amount="5.00")
    response = api_client.post(
        "/api/v1/transaction/by-order", {"order_id": "ORDER-1042"}, format="json"
    )
    body = response.json()
    assert response.status_code == 200
    assert body["order_id"] == "ORDER-1042"
    assert body["md5"] == pr.md5
    assert body["status"] == "pending"
    assert body["bill_number"] == pr.bill_number
    assert {"created_at", "expires_at", "paid_at", "amount", "currency"} <= set(body)


def test_by_order_unknown_is_404_and_missing_is_400(api_client):
    unknown = api_client.post(
        "/api/v1/transaction/by-order", {"order_id": "nope"}, format="json"
    )
    missing = api_client.post("/api/v1/transaction/by-order", {}, format="json")
    assert unknown.status_code == 404
    assert missing.status_code == 400
    assert missing.json()["message"].startswith("order_id:")


def test_flagged_payment_is_visible_to_the_shop(api_client, merchant):
    pr = payment_request_make(merchant=merchant, amount="5.00")
    bakong_transaction_apply(
        payment_request_id=pr.pk,
        info=BakongTransactionInfo(
            hash="f" * 64,
            from_account_id="p@aclb",
            to_account_id="x@wing",
            currency="USD",
            amount=Decimal("4.00"),
        ),
    )
    body = api_client.post(
        "/api/v1/transaction/check", {"md5": pr.md5}, format="json"
    ).json()
    assert body["status"] == "pending"
    assert body["flag"] == "amount_mismatch"
    assert body["paid_amount"] == "4.00"


# --- me, images, rate limits ------------------------------------------------------


def test_me_describes_the_merchant_behind_the_key(api_client, merchant):
    body = api_client.get("/api/v1/me").json()
    assert body["merchant"]["bakong_account_id"] == "shop_a@wing"
    assert body["merchant"]["merchant_name"] == "Merchant A"
    assert body["api_key"]["mode"] == "live"


def test_qr_image_png_and_svg_with_etag_and_304(api_client, merchant):
    pr = payment_request_make(merchant=merchant)
    png = api_client.get(f"/api/v1/qr/{pr.md5}.png")
    svg = api_client.get(f"/api/v1/qr/{pr.md5}.svg")
    assert png.status_code == 200
    assert png["Content-Type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert svg["Content-Type"] == "image/svg+xml"
    assert svg.content.startswith(b"<svg")
    again = api_client.get(f"/api/v1/qr/{pr.md5}.png", HTTP_IF_NONE_MATCH=png["ETag"])
    assert again.status_code == 304
    assert again.content == b""


@freeze_time("2026-12-01 10:00:30")  # one rate-limit minute
def test_rate_limit_answers_429_with_retry_after(api_client, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    answers = [api_client.get("/api/v1/me") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    limited = answers[-1]
    assert limited.json()["error"] == "rate_limit_exceeded"
    assert limited["Retry-After"] == "30"  # until the minute ends
    assert limited["X-RateLimit-Limit"] == "3"


@freeze_time("2026-12-01 10:00:30")  # one rate-limit minute
def test_rate_limit_is_per_key(merchant, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    first = _client(api_key_create(merchant=merchant)[1])
    second = _client(api_key_create(merchant=merchant)[1])
    assert first.get("/api/v1/me").status_code == 200
    assert first.get("/api/v1/me").status_code == 429
    assert second.get("/api/v1/me").status_code == 200


def test_wrong_method_is_405_in_the_error_shape(api_client):
    response = api_client.get("/api/v1/qr")
    assert response.status_code == 405
    assert set(response.json()) >= {"error", "message"}


@pytest.mark.parametrize(
    ("route", "data", "field"),
    [
        ("/api/v1/qr", {"amount": "1", "order_id": 0}, "order_id"),
        ("/api/v1/qr", {"amount": " 5"}, "amount"),
        ("/api/v1/transaction/by-order", {"order_id": 12}, "order_id"),
        ("/api/v1/transaction/check", {"md5": 5}, "md5"),
    ],
)
def test_a_number_where_text_is_expected_is_refused(api_client, route, data, field):
    response = api_client.post(route, data, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith(f"{field}:")


def test_an_unexpected_failure_is_internal_error_in_the_error_shape(
    api_client, monkeypatch
):
    def broken(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr("payments.api.views.selectors.payment_request_by_md5", broken)
    response = api_client.post(
        "/api/v1/transaction/check", {"md5": "0" * 32}, format="json"
    )
    assert response.status_code == 500
    assert response.json() == {"error": "internal_error", "message": "internal error"}
    assert "on fire" not in response.content.decode()
