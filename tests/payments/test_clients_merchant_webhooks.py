"""The merchant webhook client: the checked address pinned, the signature, and 429 /
5xx / transport trouble mapped to our errors."""

import logging

import httpx
import pytest

from core.exceptions import TransientError
from core.http import RateLimited, ServerError
from core.signing import signature_verify
from payments.clients.merchant_webhooks import (
    DestinationRefused,
    MerchantWebhookClient,
    address_refusal,
    system_resolve,
)

PUBLIC = lambda host, port: ["93.184.216.34"]  # noqa: E731


@pytest.fixture(autouse=True)
def _production_like(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False


def _client(url: str, handler, resolver=PUBLIC) -> MerchantWebhookClient:
    return MerchantWebhookClient(
        url=url, transport=httpx.MockTransport(handler), resolver=resolver
    )


def _send(client: MerchantWebhookClient, *, secrets=("whsec_a",)):
    return client.post_event(
        body=b'{"event":"transaction.paid"}',
        secrets=list(secrets),
        delivery_id="d-1",
        event="transaction.paid",
    )


def test_the_request_goes_to_the_checked_address_keeping_the_name():
    seen = []
    client = _client(
        "https://shop.example:8443/hooks?shop=42",
        lambda r: seen.append(r) or httpx.Response(200, text="ok"),
    )
    answer = _send(client)
    (request,) = seen
    assert str(request.url) == "https://93.184.216.34:8443/hooks?shop=42"
    assert request.headers["Host"] == "shop.example:8443"
    assert request.extensions["sni_hostname"] == "shop.example"
    assert (answer.status_code, answer.body) == (200, "ok")


def test_an_ipv6_address_is_pinned_in_brackets_and_plain_http_has_no_sni():
    seen = []
    client = _client(
        "http://shop.example/h",
        lambda r: seen.append(r) or httpx.Response(204),
        resolver=lambda host, port: ["2606:2800:220:1::1"],
    )
    _send(client)
    assert str(seen[0].url) == "http://[2606:2800:220:1::1]/h"
    assert "sni_hostname" not in seen[0].extensions


def test_every_secret_signs_and_each_verifies():
    seen = []
    client = _client(
        "https://shop.example/h", lambda r: seen.append(r) or httpx.Response(200)
    )
    _send(client, secrets=("whsec_new", "whsec_old"))
    request = seen[0]
    assert request.headers["X-Tonle-Delivery-Id"] == "d-1"
    assert request.headers["X-Tonle-Event"] == "transaction.paid"
    for secret in ("whsec_new", "whsec_old"):
        signature_verify(
            header=request.headers["X-Tonle-Signature"],
            secrets=[secret],
            body=request.content,
        )


def test_a_429_raises_rate_limited_with_its_retry_after():
    client = _client(
        "https://shop.example/h",
        lambda r: httpx.Response(429, text="slow down", headers={"Retry-After": "120"}),
    )
    with pytest.raises(RateLimited) as limited:
        _send(client)
    assert (limited.value.status_code, limited.value.retry_after) == (429, 120)
    assert limited.value.body == "slow down"


def test_a_5xx_raises_server_error_keeping_status_and_body():
    client = _client(
        "https://shop.example/h", lambda r: httpx.Response(502, text="bad gw")
    )
    with pytest.raises(ServerError, match="server error 502") as failed:
        _send(client)
    assert (failed.value.status_code, failed.value.body) == (502, "bad gw")


def test_a_timeout_is_transient():
    def slow(request):
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(TransientError, match="webhooks: timed out"):
        _send(_client("https://shop.example/h", slow))


def test_a_redirect_is_answered_not_followed():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(301, headers={"Location": "http://10.0.0.1/"})

    answer = _send(_client("https://shop.example/h", handler))
    assert (answer.status_code, answer.location) == (301, "http://10.0.0.1/")
    assert len(seen) == 1


def test_a_private_destination_is_refused_before_any_request():
    seen = []
    with pytest.raises(DestinationRefused, match="10.9.9.9, a private address"):
        _client(
            "https://shop.example/h",
            lambda r: seen.append(r) or httpx.Response(200),
            resolver=lambda host, port: ["10.9.9.9"],
        )
    assert seen == []


def test_the_query_string_never_reaches_the_log(caplog):
    caplog.set_level(logging.INFO, logger="tonle.webhooks")
    _send(_client("https://shop.example/h?token=s3cret", lambda r: httpx.Response(200)))
    logged = [r.path for r in caplog.records if r.name == "tonle.webhooks"]
    assert logged == ["/h"]
    assert "s3cret" not in caplog.text


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("2002:a00:1::1", "a private address"),  # 6to4 around 10.0.0.1
        ("64:ff9b::a00:1", "a reserved address"),  # NAT64 around 10.0.0.1
        ("::ffff:169.254.169.254", "a cloud metadata address"),
        ("fe80::1%eth0", "a link-local address"),
        ("93.184.216.34", None),
        ("2606:2800:220:1::1", None),
    ],
)
def test_addresses_are_classified_through_their_ipv6_wrappings(address, why):
    assert address_refusal(address) == why


def test_the_system_resolver_gives_an_ip_literal_back_without_dns():
    assert system_resolve("127.0.0.1", 80) == ["127.0.0.1"]
