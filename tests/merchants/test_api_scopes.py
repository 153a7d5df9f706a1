"""API keys carry scopes (qr:write, payments:read, statements:read,
reconciliation:read) and an optional expiry: every route needs its scope, a key
without it gets 403 `forbidden` naming it, an expired key 401 saying so."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import get_resolver
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory

from merchants.api.base import MerchantApiView
from merchants.models import ApiKey, ApiScope, AuditEvent
from merchants.services import api_key_create
from tests.payments.payment_helpers import pending_request

pytestmark = pytest.mark.django_db


def client_for(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def key_with(merchant, *scopes: str, **kwargs) -> str:
    return api_key_create(merchant=merchant, scopes=scopes, **kwargs)[1]


def all_but(scope: str) -> list[str]:
    return [s for s in ApiScope.values if s != scope]


def call(client: APIClient, method: str, path: str, body=None):
    if method == "post":
        return client.post(path, body or {}, format="json")
    return client.get(path)


def routes(merchant):
    """(method, path, body, scope) for every shop route of the API."""
    payment = pending_request(merchant)
    return [
        ("post", "/api/v1/qr", {"amount": "1.00", "currency": "USD"}, "qr:write"),
        ("get", f"/api/v1/qr/{payment.md5}.png", None, "qr:write"),
        ("get", f"/api/v1/qr/{payment.md5}.svg", None, "qr:write"),
        (
            "post",
            "/api/v1/transaction/check",
            {"md5": payment.md5},
            "payments:read",
        ),
        (
            "post",
            "/api/v1/transaction/by-order",
            {"order_id": "nope"},
            "payments:read",
        ),
        ("get", "/api/v1/accounts", None, "statements:read"),
        ("get", "/api/v1/transactions", None, "statements:read"),
        ("get", "/api/v1/statements", None, "statements:read"),
    ]


def test_each_route_refuses_a_key_without_its_scope_naming_it(merchant):
    for method, path, body, scope in routes(merchant):
        # given a key with every scope but this route's
        client = client_for(key_with(merchant, *all_but(scope)))
        # when
        answer = call(client, method, path, body)
        # then
        assert answer.status_code == 403, path
        assert answer.json()["error"] == "forbidden", path
        assert scope in answer.json()["message"], path


def test_each_route_serves_a_key_with_only_its_scope(merchant):
    for method, path, body, scope in routes(merchant):
        client = client_for(key_with(merchant, scope))
        answer = call(client, method, path, body)
        # past the scope check: the route's own answer (some want more input)
        assert answer.status_code != 403, (path, answer.content)
        assert answer.status_code in (200, 201, 400, 404), (path, answer.content)


def test_me_answers_any_valid_key(merchant):
    answer = client_for(key_with(merchant, "statements:read")).get("/api/v1/me")
    assert answer.status_code == 200


def test_a_refused_scope_is_audited_for_the_merchant(merchant):
    raw = key_with(merchant, "statements:read")
    client_for(raw).post("/api/v1/qr", {"amount": "1.00"}, format="json")
    event = AuditEvent.objects.get(action="access.denied")
    assert event.merchant == merchant
    assert event.details["reason"] == "the API key lacks the scope qr:write"
    assert event.details["api_key"] == raw.split(".")[0]


def test_an_expired_key_is_unauthorized_saying_it_expired(merchant):
    # given a key that expires in 30 days
    with freeze_time("2026-03-01 08:00:00+00:00"):
        raw = key_with(
            merchant,
            *ApiScope.values,
            expires_at=timezone.now() + dt.timedelta(days=30),
        )
    # then it works until then
    with freeze_time("2026-03-31 07:59:00+00:00"):
        assert client_for(raw).get("/api/v1/me").status_code == 200
    # and is refused after
    with freeze_time("2026-03-31 08:00:01+00:00"):
        answer = client_for(raw).get("/api/v1/me")
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthorized"
    assert "expired" in answer.json()["message"]


def test_a_key_cannot_be_made_already_expired(merchant):
    from core.exceptions import InvalidInput

    with pytest.raises(InvalidInput, match="expires_at: must be in the future"):
        api_key_create(
            merchant=merchant, expires_at=timezone.now() - dt.timedelta(seconds=1)
        )


def test_unknown_or_no_scopes_are_refused_naming_the_field(merchant):
    from core.exceptions import InvalidInput

    with pytest.raises(InvalidInput, match="scopes: qr:delete is not one of"):
        api_key_create(merchant=merchant, scopes=["qr:delete"])
    with pytest.raises(InvalidInput, match="scopes: a key needs at least one"):
        api_key_create(merchant=merchant, scopes=[])
    assert ApiKey.objects.count() == 0


def test_a_key_gets_every_scope_unless_narrowed(merchant):
    api_key, _ = api_key_create(merchant=merchant)
    assert api_key.scopes == [
        "qr:write",
        "payments:read",
        "statements:read",
        "reconciliation:read",
        "invoices:write",
    ]
    assert api_key.expires_at is None


class Undeclared(MerchantApiView):
    def get(self, request):
        return Response({"ok": True})


def test_a_route_that_declares_no_scope_is_refused_to_every_key(merchant):
    raw = key_with(merchant, *ApiScope.values)
    request = APIRequestFactory().get("/x", HTTP_AUTHORIZATION=f"Bearer {raw}")
    answer = Undeclared.as_view()(request)
    assert answer.status_code == 403
    assert "declares no API scope" in answer.data["message"]


def test_every_api_route_declares_its_scope():
    """A new route must say what it needs (the permission matrix lists it)."""
    from merchants.permission_matrix import api_routes

    found = api_routes(get_resolver())
    assert found, "no API route found"
    for route in found:
        assert route.declared, f"{route.path} ({route.view}) declares no scope"


# -- the command --------------------------------------------------------------------


def run(*args) -> dict:
    out = StringIO()
    call_command("create_api_key", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_create_api_key_keeps_its_contract_and_gives_every_scope(merchant):
    answer = run("--merchant", str(merchant.pk), "--test")
    assert set(answer) == {"api_key"}
    key = ApiKey.objects.get(prefix=answer["api_key"].split(".")[0])
    assert key.scopes == list(ApiScope.values)
    assert key.is_test and key.expires_at is None


def test_create_api_key_narrows_scopes_and_sets_an_expiry(merchant):
    with freeze_time("2026-03-01 08:00:00+00:00"):
        answer = run(
            "--merchant",
            str(merchant.pk),
            "--scope",
            "payments:read",
            "--scope",
            "qr:write",
            "--expires-days",
            "90",
        )
    key = ApiKey.objects.get(prefix=answer["api_key"].split(".")[0])
    assert key.scopes == ["qr:write", "payments:read"]
    assert key.expires_at == dt.datetime(2026, 5, 30, 8, 0, tzinfo=dt.UTC)


def test_create_api_key_names_a_bad_scope(merchant):
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command(
            "create_api_key",
            "--merchant",
            str(merchant.pk),
            "--scope",
            "everything",
            "--json",
            stdout=out,
        )
    answer = json.loads(out.getvalue())
    assert answer["error"] == "invalid_input"
    assert answer["message"].startswith("scopes: everything is not one of")


# -- the page -------------------------------------------------------------------------


def test_an_owner_creates_a_narrow_key_that_expires(owner_client, merchant):
    with freeze_time("2026-03-01 08:00:00+00:00"):
        answer = owner_client.post(
            "/settings/api-keys/",
            {
                "name": "Till",
                "mode": "live",
                "scopes": ["qr:write"],
                "expires_days": "30",
            },
        )
    assert answer.status_code == 200
    key = ApiKey.objects.get(name="Till")
    assert key.scopes == ["qr:write"]
    assert key.expires_at == dt.datetime(2026, 3, 31, 8, 0, tzinfo=dt.UTC)
    page = owner_client.get("/settings/api-keys/").content.decode()
    assert "<code>qr:write</code>" in page


def test_the_page_refuses_a_key_with_no_scope(owner_client, merchant):
    answer = owner_client.post(
        "/settings/api-keys/", {"name": "None", "mode": "live", "expires_days": ""}
    )
    assert answer.status_code == 400
    assert "at least one scope" in answer.content.decode()
    assert not ApiKey.objects.exists()


def test_the_page_offers_every_scope_ticked(owner_client):
    page = owner_client.get("/settings/api-keys/").content.decode()
    for scope in ApiScope.values:
        assert f'name="scopes" value="{scope}" checked' in page


# -- keys from before scopes ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_keys_made_before_scopes_keep_every_scope_and_no_expiry(merchant):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    # given the schema before scopes, and a key made then
    executor = MigrationExecutor(connection)
    before = [("merchants", "0003_account_available_as_of")]
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    OldKey = old_apps.get_model("merchants", "ApiKey")
    OldKey.objects.create(
        merchant_id=merchant.pk, prefix="tonle_live_old", secret_hash="0" * 64
    )
    # when the migration runs
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    # (every app's leaves: going back to 0003 also unapplied the migrations of
    # other apps that depend on later merchants migrations, and the tests run
    # after this one need the whole schema)
    executor.migrate(executor.loader.graph.leaf_nodes())
    # then
    key = ApiKey.objects.get(prefix="tonle_live_old")
    assert key.scopes == list(ApiScope.values)
    assert key.expires_at is None
