"""Webhook endpoints: the URL is checked when it is saved, secrets at rest."""

import pytest

from core.exceptions import InvalidInput
from merchants.models import AuditEvent
from payments.models import WebhookEndpoint
from payments.services.webhook_endpoints import (
    webhook_endpoint_create,
    webhook_url_check,
)


@pytest.fixture(autouse=True)
def _production_like(settings):
    settings.SANDBOX_ENABLED = True  # it must not matter
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://x.example/", "http:// or https://"),
        ("https://u:p@x.example/", "user"),
        ("https://x.example:99999/", "not a valid address"),
        ("https://x.example/" + "a" * 500, "at most 500 characters"),
    ],
)
def test_endpoint_create_rejects_bad_urls(merchant, url, message):
    with pytest.raises(InvalidInput, match=message):
        webhook_endpoint_create(merchant=merchant, url=url)
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("[::1]", "::1 is a loopback address"),
        ("169.254.169.254", "169.254.169.254 is a cloud metadata address"),
        ("[fd00:ec2::254]", "fd00:ec2::254 is a cloud metadata address"),
        ("169.254.10.1", "169.254.10.1 is a link-local address"),
        ("[fe80::1]", "fe80::1 is a link-local address"),
        ("10.0.0.5", "10.0.0.5 is a private address"),
        ("172.16.8.1", "172.16.8.1 is a private address"),
        ("192.168.1.10", "192.168.1.10 is a private address"),
        ("[fc00::1]", "fc00::1 is a private address"),
        ("0.0.0.0", "0.0.0.0 is the unspecified address"),
        ("[::]", ":: is the unspecified address"),
        ("224.0.0.1", "224.0.0.1 is a multicast address"),
        ("[ff02::1]", "ff02::1 is a multicast address"),
        ("[::ffff:10.0.0.5]", "::ffff:10.0.0.5 is a private address"),
        ("100.64.0.1", "100.64.0.1 is not a public address"),
    ],
)
def test_an_address_webhooks_must_not_reach_is_refused_when_saved(
    merchant, host, shown
):
    # when
    with pytest.raises(InvalidInput) as refused:
        webhook_endpoint_create(merchant=merchant, url=f"http://{host}/hook")
    # then the message names the address and why, and nothing is saved
    assert refused.value.field == "url"
    assert refused.value.message == (
        f"url: {shown}: refused; webhooks go only to public internet addresses"
    )
    assert WebhookEndpoint.objects.count() == 0
    assert not AuditEvent.objects.filter(action="webhook_endpoint.created").exists()


def test_a_name_resolving_to_a_private_address_is_refused_naming_both(merchant):
    with pytest.raises(InvalidInput) as refused:
        webhook_endpoint_create(
            merchant=merchant,
            url="https://shop.internal/hook",
            resolver=lambda host, port: ["93.184.216.34", "10.1.2.3"],
        )
    assert refused.value.message.startswith(
        "url: shop.internal resolves to 10.1.2.3, a private address: refused"
    )


def test_a_name_that_does_not_resolve_is_refused(merchant):
    def nothing(host, port):
        raise OSError("Name or service not known")

    with pytest.raises(InvalidInput, match="url: cannot resolve shop.invalid"):
        webhook_endpoint_create(
            merchant=merchant, url="https://shop.invalid/h", resolver=nothing
        )


def test_a_public_endpoint_is_saved(merchant):
    endpoint, _ = webhook_endpoint_create(
        merchant=merchant,
        url=" https://shop.example/h ",
        resolver=lambda host, port: ["93.184.216.34", "2606:2800:220:1::1"],
    )
    assert endpoint.url == "https://shop.example/h"


def test_the_explicit_setting_allows_a_local_receiver(merchant, settings):
    # given local testing, said so explicitly
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    # when
    endpoint, _ = webhook_endpoint_create(
        merchant=merchant, url="http://127.0.0.1:8001/hook"
    )
    # then
    assert endpoint.url == "http://127.0.0.1:8001/hook"


def test_the_url_check_is_the_same_function_pages_and_admin_use():
    with pytest.raises(InvalidInput, match="a loopback address"):
        webhook_url_check("http://localhost:8000/hook")


def test_endpoint_secret_is_encrypted_at_rest(merchant):
    from django.db import connection

    endpoint, secret = webhook_endpoint_create(
        merchant=merchant, url="https://shop.example/h"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secrets FROM payments_webhookendpoint WHERE id = %s", [endpoint.pk]
        )
        (raw,) = cursor.fetchone()
    assert secret not in str(raw)
    assert WebhookEndpoint.objects.get().secrets["current"] == secret
