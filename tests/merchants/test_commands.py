"""The DESIGN.md command contract: --json prints one object; errors exit non-zero."""

import json

import pytest
from django.core.management import call_command

from merchants.models import Account, Connection, Membership, Merchant


def run_json(*args) -> dict:
    from io import StringIO

    out = StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue())


def run_json_failing(*args) -> dict:
    from io import StringIO

    out = StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command(*args, "--json", stdout=out)
    assert exc.value.code != 0
    return json.loads(out.getvalue())


def test_create_merchant_account_user_key_and_connection(db):
    merchant_id = run_json(
        "create_merchant", "--name", "Lotus Mart", "--bakong-account-id", "lotus@aba"
    )["merchant_id"]
    account_id = run_json(
        "create_account",
        "--merchant",
        str(merchant_id),
        "--provider",
        "hattha",
        "--currency",
        "USD",
        "--number",
        "001-1",
    )["account_id"]
    user_id = run_json(
        "create_user",
        "--merchant",
        str(merchant_id),
        "--username",
        "sreyleak",
        "--password",
        "pw-12345",
        "--role",
        "accountant",
    )["user_id"]
    api_key = run_json("create_api_key", "--merchant", str(merchant_id), "--test")[
        "api_key"
    ]
    connection_id = run_json(
        "connect_account",
        "--account",
        str(account_id),
        "--provider",
        "statement_feed",
        "--base-url",
        "http://127.0.0.1:9/feed",
        "--credentials",
        '{"token": "t"}',
    )["connection_id"]

    assert Merchant.objects.get(pk=merchant_id).legal_name == "Lotus Mart"
    assert Account.objects.get(pk=account_id).merchant_id == merchant_id
    assert Membership.objects.get(user_id=user_id).role == "accountant"
    assert api_key.startswith("tonle_test_")
    assert Connection.objects.get(pk=connection_id).credentials == {"token": "t"}


def test_create_account_for_a_missing_merchant_fails_with_not_found(db):
    answer = run_json_failing(
        "create_account",
        "--merchant",
        "999",
        "--provider",
        "aba",
        "--currency",
        "USD",
        "--number",
        "1",
    )
    assert answer["error"] == "not_found"
    assert "999" in answer["message"]


def test_connect_account_with_bad_json_names_the_field(account):
    answer = run_json_failing(
        "connect_account",
        "--account",
        str(account.pk),
        "--provider",
        "bakong",
        "--base-url",
        "http://127.0.0.1:9",
        "--credentials",
        "{not json",
    )
    assert answer["error"] == "invalid_input"
    assert answer["message"].startswith("credentials")


def test_seed_demo_is_idempotent(db):
    # when
    first = run_json("seed_demo")
    counts = (
        Merchant.objects.count(),
        Account.objects.count(),
        Membership.objects.count(),
    )
    second = run_json("seed_demo")
    # then
    assert first == second
    assert counts == (
        Merchant.objects.count(),
        Account.objects.count(),
        Membership.objects.count(),
    )
    assert {a["provider"] for a in first["accounts"]} >= {
        "bakong",
        "hattha",
        "krungsri",
    }


def test_seed_demo_points_the_sandbox_connections_at_the_server_it_runs_on(
    db, settings
):
    # given a demo seeded for a server on port 8000
    settings.SITE_URL = "http://127.0.0.1:8000"
    run_json("seed_demo")

    # when `make run PORT=8011` seeds it again
    settings.SITE_URL = "http://127.0.0.1:8011/"
    run_json("seed_demo")

    # then every sandbox connection follows (two Bakong wallets, one feed)
    urls = sorted(Connection.objects.values_list("provider", "base_url"))
    assert urls == [
        ("bakong", "http://127.0.0.1:8011/sandbox/bakong"),
        ("bakong", "http://127.0.0.1:8011/sandbox/bakong"),
        ("statement_feed", "http://127.0.0.1:8011/sandbox/feed"),
    ]


def test_seed_demo_key_and_login_work(client, db):
    answer = run_json("seed_demo")
    # through the sign-in page, as a person would (django-axes wants the request)
    signed_in = client.post(
        "/login/", {"username": answer["username"], "password": answer["password"]}
    )
    assert signed_in.status_code == 302
    assert client.get("/").status_code == 200
    from merchants.services import api_key_authenticate

    assert (
        api_key_authenticate(raw_key=answer["api_key"]).merchant_id
        == answer["merchant_id"]
    )
