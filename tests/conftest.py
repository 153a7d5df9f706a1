"""Shared fixtures: two merchants, members of each role, clients signed in as them."""

from __future__ import annotations

import os

import pytest
from django.test import Client, override_settings
from django.utils import translation
from hypothesis import settings as hypothesis_settings

from core.translations import translations_compile
from tests.factories import (
    AccountFactory,
    MembershipFactory,
    MerchantFactory,
    UserFactory,
)

# CI replays the same examples on every run (`.ci/run` sets HYPOTHESIS_PROFILE=ci): a
# red build is a bug to replay, never a roll of the dice; `make test` explores anew.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

TEST_FERNET_KEY = "3x6Vz0b1oVCbG1y0m4cVYt8t6m1Xo7cD9rN2yq0T6aE="
# Tests only: PBKDF2's million rounds cost ~0.3 s per user the factories make.
FAST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True, scope="session")
def _translations_compiled():
    # a clean clone has only the .po catalogues; the Khmer pages need the .mo
    translations_compile()


@pytest.fixture(autouse=True)
def _language_reset():
    # a request in Khmer leaves Khmer active on its thread (LocaleMiddleware sets
    # it per request, nothing unsets it): the next test starts in the default
    yield
    translation.deactivate()


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher():
    with override_settings(PASSWORD_HASHERS=FAST_PASSWORD_HASHERS):
        yield


@pytest.fixture(autouse=True)
def _isolated_settings(settings, tmp_path):
    settings.FIELD_ENCRYPTION_KEYS = [TEST_FERNET_KEY]
    # the suite runs the sandbox whatever DEBUG says (off by default, and no .env
    # in a clean clone); a test that needs it off says so
    settings.SANDBOX_ENABLED = True
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    }
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media"},
        },
    }
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    from django.core.cache import cache

    cache.clear()  # locmem storage outlives the settings override between tests
    yield


# A public address (not a documentation range, which counts as private).
PUBLIC_ADDRESS = "93.184.216.34"


def fake_resolve(host: str, port: int) -> list[str]:
    """Tests never ask a DNS server: an IP literal is itself, localhost is loopback,
    any other name a public address."""
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return ["127.0.0.1"] if host == "localhost" else [PUBLIC_ADDRESS]
    return [host]


@pytest.fixture(autouse=True)
def _no_dns(monkeypatch):
    from payments.clients import merchant_webhooks

    monkeypatch.setattr(merchant_webhooks, "system_resolve", fake_resolve)


@pytest.fixture
def merchant(db):
    return MerchantFactory(display_name="Merchant A", bakong_account_id="shop_a@wing")


@pytest.fixture
def other_merchant(db):
    return MerchantFactory(display_name="Merchant B", bakong_account_id="shop_b@wing")


@pytest.fixture
def account(merchant):
    return AccountFactory(merchant=merchant, provider="hattha", currency="USD")


@pytest.fixture
def khr_account(merchant):
    return AccountFactory(merchant=merchant, provider="acleda", currency="KHR")


def _member_client(merchant, role: str) -> Client:
    user = UserFactory(username=f"{role}-{merchant.pk}")
    MembershipFactory(user=user, merchant=merchant, role=role)
    client = Client()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def owner_client(merchant):
    return _member_client(merchant, "owner")


@pytest.fixture
def accountant_client(merchant):
    return _member_client(merchant, "accountant")


@pytest.fixture
def auditor_client(merchant):
    return _member_client(merchant, "auditor")


@pytest.fixture
def viewer_client(merchant):
    return _member_client(merchant, "viewer")


@pytest.fixture
def member_client_factory():
    return _member_client


@pytest.fixture
def api_key(merchant):
    from merchants.services import api_key_create

    return api_key_create(merchant=merchant, name="tests")[1]


@pytest.fixture
def api_client(api_key):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client


@pytest.fixture
def sandbox_bakong(monkeypatch):
    """Bakong is the built-in sandbox reached in this process: the production client
    speaks the real wire protocol to it (also where a service builds its own access
    from the settings). Pay codes with sandbox.bakong.pay."""
    from payments.bakong_access import BakongAccess
    from sandbox.inprocess import sandbox_bakong_access, sandbox_bakong_access_build

    monkeypatch.setattr(
        BakongAccess,
        "from_settings",
        classmethod(lambda cls, transport=None: sandbox_bakong_access_build()),
    )
    with sandbox_bakong_access() as access:
        yield access
