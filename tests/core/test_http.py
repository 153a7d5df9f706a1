import ssl

import httpx
import pytest

from core.exceptions import TransientError
from core.http import (
    HttpClient,
    RateLimited,
    retry_after_seconds,
    shared_ssl_context,
)
from core.retry import backoff_seconds


def _client(handler) -> HttpClient:
    return HttpClient(
        base_url="http://feed.test", transport=httpx.MockTransport(handler)
    )


def test_429_is_transient_and_carries_retry_after():
    client = _client(lambda r: httpx.Response(429, headers={"Retry-After": "7"}))
    with pytest.raises(RateLimited) as exc:
        client.request("POST", "/statement")
    assert exc.value.retry_after == 7


def test_5xx_is_transient():
    client = _client(lambda r: httpx.Response(503))
    with pytest.raises(TransientError, match="server error 503"):
        client.request("GET", "/")


def test_timeouts_are_transient():
    def handler(request):
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(TransientError, match="timed out"):
        _client(handler).request("GET", "/")


def test_retry_after_accepts_an_http_date():
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480) == 10


def test_backoff_grows_with_jitter_and_honours_retry_after():
    import random

    rng = random.Random(1)
    first = backoff_seconds(attempt=0, rng=rng)
    later = backoff_seconds(attempt=6, rng=rng)
    assert 1 <= first <= 2 and 64 <= later <= 128
    assert backoff_seconds(attempt=0, retry_after=30, rng=rng) >= 30
    assert backoff_seconds(attempt=50, rng=rng) <= 600


def test_status_errors_keep_the_status_and_the_start_of_the_body():
    from core.http import ServerError

    client = _client(lambda r: httpx.Response(500, text="x" * 5000))
    with pytest.raises(ServerError) as failed:
        client.request("GET", "/")
    assert failed.value.status_code == 500
    assert failed.value.body == "x" * 1000


def test_clients_share_one_tls_context_instead_of_reading_the_ca_bundle_each(
    monkeypatch,
):
    # given a process that has made one client already
    HttpClient(base_url="https://bakong.example").close()
    reads = []
    original = ssl.SSLContext.load_verify_locations

    def counting(self, *args, **kwargs):
        reads.append(args or kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    # when five more are made (a KHQR create or a task makes one each)
    for _ in range(5):
        HttpClient(base_url="https://bakong.example").close()
    # then none of them read the CA bundle again, and they verify certificates
    assert reads == []
    context = shared_ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
