"""QR images and stands (pages and API) and every API answer: clean names, no-store."""

import pytest
from django.core.cache import cache

from tests.core.test_downloads import parse_disposition
from tests.payments.makers import payment_request_make

HOSTILE_ORDER_ID = 'a"; filename="evil.exe'


@pytest.fixture(autouse=True)
def _isolated(settings):
    settings.BAKONG_BASE_URL = "http://127.0.0.1:9"  # Bakong away: no deeplink
    cache.clear()


def test_stand_pdf_name_from_a_hostile_order_id_cannot_inject(viewer_client, merchant):
    # given a code whose order id tries to end the header's file name
    pr = payment_request_make(merchant=merchant, order_id=HOSTILE_ORDER_ID)
    # when
    response = viewer_client.get(f"/payments/{pr.pk}/stand.pdf")
    # then one inline name, cleaned, in both RFC 6266 forms
    assert response.status_code == 200
    kind, fallback, utf8 = parse_disposition(response["Content-Disposition"])
    assert kind == "inline"
    assert utf8 == fallback == "khqr-a__ filename=_evil.exe.pdf"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["qr.png", "qr.svg", "card.png", "stand.pdf"])
def test_payment_images_are_not_stored_by_caches(viewer_client, merchant, path):
    pr = payment_request_make(merchant=merchant)
    response = viewer_client.get(f"/payments/{pr.pk}/{path}")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_payment_status_json_is_not_stored(viewer_client, merchant):
    pr = payment_request_make(merchant=merchant)
    response = viewer_client.get(f"/payments/{pr.pk}/status.json")
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_api_qr_images_are_not_stored_by_caches(api_client, merchant, fmt):
    pr = payment_request_make(merchant=merchant)
    response = api_client.get(f"/api/v1/qr/{pr.md5}.{fmt}")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("method", "path", "data", "status"),
    [
        ("get", "/api/v1/me", None, 200),
        ("get", "/api/v1/accounts", None, 200),
        ("get", "/api/v1/transactions", None, 200),
        ("post", "/api/v1/qr", {"amount": "1.00", "currency": "USD"}, 201),
        ("post", "/api/v1/transaction/check", {"md5": "a" * 32}, 404),
        ("post", "/api/v1/transaction/by-order", {"order_id": ""}, 400),
    ],
)
def test_every_api_answer_carries_no_store(api_client, method, path, data, status):
    response = getattr(api_client, method)(path, data, format="json")
    assert response.status_code == status
    assert response["Cache-Control"] == "no-store"


def test_an_unauthenticated_api_answer_carries_no_store(client, db):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response["Cache-Control"] == "no-store"
