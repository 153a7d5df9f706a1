"""The API keys page says what is wrong with a new key in Khmer; the REST API and
the services keep their English."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from core.exceptions import InvalidInput
from merchants.services import api_key_create
from tests.core.khmer import in_khmer, khmer

pytestmark = pytest.mark.django_db


def _error(response) -> str:
    assert response.status_code == 400
    return html.unescape(
        re.search(r'id="api-key-error">(.*?)<', response.content.decode(), re.S)[1]
    )


def test_an_unknown_scope_is_refused_in_khmer_naming_it(owner_client, merchant):
    with pytest.raises(InvalidInput, match="is not one of"):
        api_key_create(merchant=merchant, scopes=["qr:fly"])
    in_khmer(owner_client)
    response = owner_client.post(
        reverse("api-keys"),
        {"name": "shop", "mode": "live", "scopes": ["qr:fly"], "expires_days": ""},
    )
    error = _error(response)
    head, _, tail = khmer("%(value)s is not one of %(choices)s.").partition("%(value)s")
    assert error.startswith("qr:fly" + tail.split("%(choices)s")[0])
    assert "qr:write" in error and "is not one of" not in error


def test_a_key_without_scopes_is_refused_in_khmer(owner_client):
    in_khmer(owner_client)
    response = owner_client.post(
        reverse("api-keys"), {"name": "shop", "mode": "live", "expires_days": ""}
    )
    assert _error(response) == khmer("scopes: a key needs at least one scope")
