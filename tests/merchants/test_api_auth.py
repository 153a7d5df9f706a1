"""The base every shop route stands on: Bearer API keys and per-key rate limits."""

import pytest
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from merchants.api.base import MerchantApiView
from merchants.services import api_key_create, api_key_revoke


class WhoAmI(MerchantApiView):
    rate_limit = 3
    required_scope = None  # any valid key

    def get(self, request):
        return Response({"merchant": self.merchant.pk})


def _call(raw_key: str | None):
    factory = APIRequestFactory()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"} if raw_key else {}
    return WhoAmI.as_view()(factory.get("/x", **headers))


def test_a_valid_key_reaches_its_own_merchant(merchant):
    _, raw = api_key_create(merchant=merchant)
    response = _call(raw)
    assert response.status_code == 200
    assert response.data == {"merchant": merchant.pk}


def test_a_missing_key_is_unauthorized_with_the_error_shape(db):
    response = _call(None)
    assert response.status_code == 401
    assert response.data["error"] == "unauthorized"


def test_a_revoked_key_is_forbidden(merchant):
    api_key, raw = api_key_create(merchant=merchant)
    api_key_revoke(merchant=merchant, api_key_id=api_key.pk)
    response = _call(raw)
    assert response.status_code == 403
    assert response.data["error"] == "forbidden"
    assert "revoked" in response.data["message"]


def test_rate_limit_counts_down_then_answers_429_with_retry_after(merchant):
    # given a view allowing 3 calls a minute
    _, raw = api_key_create(merchant=merchant)
    # when
    remaining = [_call(raw)["X-RateLimit-Remaining"] for _ in range(3)]
    refused = _call(raw)
    # then
    assert remaining == ["2", "1", "0"]
    assert refused.status_code == 429
    assert refused.data["error"] == "rate_limit_exceeded"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["X-RateLimit-Limit"] == "3"
    assert refused["X-RateLimit-Remaining"] == "0"


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Token x.y"])
def test_other_authorization_schemes_are_refused(db, header):
    factory = APIRequestFactory()
    response = WhoAmI.as_view()(factory.get("/x", HTTP_AUTHORIZATION=header))
    assert response.status_code == 401
