"""The permission matrix (docs/permissions.md) is derived from the code, and each
route really answers as the matrix says: every role, every page and action, every
API route."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import get_resolver

from merchants.models import ApiScope
from merchants.permission_matrix import (
    ROLE_COLUMNS,
    SIGNED_IN,
    render_markdown,
    route_access,
    undeclared,
)
from merchants.services import api_key_create

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
ARGUMENT = re.compile(r"<(?:(\w+):)?\w+>")


def concrete(path: str) -> str:
    """A route's path with ids that exist nowhere: the role check comes first."""
    return ARGUMENT.sub(
        lambda m: "999999" if m.group(1) in (None, "int") else "nothing", path
    )


def answer(client: Client, path: str):
    got = client.get(path)
    if got.status_code == 405:
        got = client.post(path)
    return got


def test_the_checked_in_matrix_is_the_one_the_code_gives():
    generated = render_markdown(route_access(get_resolver()))
    assert DOC.read_text(encoding="utf-8") == generated, (
        "docs/permissions.md is out of date: "
        "python manage.py permission_matrix --write docs/permissions.md"
    )


def test_every_route_says_who_may_use_it():
    missing = undeclared(route_access(get_resolver()))
    assert missing == [], [f"{r.path} {r.view}" for r in missing]


@pytest.mark.django_db
def test_every_page_answers_each_role_as_the_matrix_says(
    merchant, member_client_factory
):
    clients = {role: member_client_factory(merchant, role) for role in ROLE_COLUMNS}
    pages = [r for r in route_access(get_resolver()) if r.kind == "page"]
    assert pages
    for route in pages:
        path = concrete(route.path)
        for role, client in clients.items():
            got = answer(client, path)
            if role in route.roles:
                assert got.status_code != 403, (route.path, role)
                assert "/login/" not in got.get("Location", ""), (route.path, role)
            else:
                assert got.status_code == 403, (route.path, role, got.status_code)
        signed_out = answer(Client(), path)
        assert signed_out.status_code == 302, route.path
        assert signed_out["Location"].startswith("/login/"), route.path


@pytest.mark.django_db
def test_every_signed_in_page_sends_a_visitor_to_sign_in_and_serves_a_member(
    merchant, member_client_factory
):
    viewer = member_client_factory(merchant, "viewer")
    for route in route_access(get_resolver()):
        if route.kind != SIGNED_IN:
            continue
        path = concrete(route.path)
        assert Client().get(path)["Location"].startswith("/login/"), route.path
        assert viewer.get(path).status_code == 200, route.path


@pytest.mark.django_db
def test_every_api_route_answers_keys_as_the_matrix_says(merchant):
    from rest_framework.test import APIClient

    for route in route_access(get_resolver()):
        if route.kind != "api":
            continue
        path = concrete(route.path)
        for scope in ApiScope.values:
            client = APIClient()
            raw = api_key_create(merchant=merchant, scopes=[scope])[1]
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
            got = client.get(path)
            if got.status_code == 405:
                got = client.post(path, {}, format="json")
            allowed = route.scope is None or route.scope == scope
            assert (got.status_code == 403) is not allowed, (route.path, scope)
        assert APIClient().get(path).status_code == 401, route.path


@pytest.mark.django_db
def test_staff_routes_refuse_a_merchant_owner(merchant, member_client_factory):
    owner = member_client_factory(merchant, "owner")
    for route in route_access(get_resolver()):
        if route.kind != "staff":
            continue
        path = concrete(route.path.replace("…", ""))
        got = owner.get(path)
        assert got.status_code == 302, route.path
        assert "login" in got["Location"], route.path


def test_the_command_checks_the_file(tmp_path):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    # given a fresh copy and a stale one
    fresh = tmp_path / "permissions.md"
    call_command("permission_matrix", "--write", str(fresh), stdout=StringIO())
    stale = tmp_path / "stale.md"
    stale.write_text(fresh.read_text().replace("`qr:write`", "`payments:read`"))
    # then
    out = StringIO()
    call_command("permission_matrix", "--check", str(fresh), stdout=out)
    assert "up to date" in out.getvalue()
    with pytest.raises(CommandError, match="stale.md is out of date"):
        call_command("permission_matrix", "--check", str(stale), stdout=StringIO())
