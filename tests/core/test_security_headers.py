"""Every page carries a Content-Security-Policy (scripts only from us or with the
page's nonce, nothing inline without it, no framing), X-Frame-Options,
Referrer-Policy and Permissions-Policy: read from real responses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from tests.payments.payment_helpers import pending_request

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    out = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def assert_protected(response) -> None:
    csp = directives(response)
    assert csp["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert csp["script-src"][0] == "'self'"
    assert "'unsafe-inline'" not in csp["style-src"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    permissions = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment"):
        assert f"{feature}=()" in permissions


def assert_scripts_carry_the_nonce(response) -> None:
    """Each <script>/<style> of the page has the nonce the header allows."""
    csp = directives(response)
    nonces = {
        word[len("'nonce-") : -1]
        for word in csp["script-src"]
        if word.startswith("'nonce-")
    }
    assert len(nonces) == 1
    (nonce,) = nonces
    body = response.content.decode()
    tags = re.findall(r"<(?:script|style)\b[^>]*>", body)
    assert tags, "the page has no script at all"
    for tag in tags:
        assert f'nonce="{nonce}"' in tag, tag


def test_the_sign_in_page_is_protected(db):
    answer = Client().get("/login/")
    assert answer.status_code == 200
    assert_protected(answer)
    assert_scripts_carry_the_nonce(answer)


def test_the_dashboard_is_protected(owner_client):
    answer = owner_client.get("/")
    assert answer.status_code == 200
    assert_protected(answer)
    assert_scripts_carry_the_nonce(answer)


def test_the_payment_page_is_protected_and_its_script_has_the_nonce(
    merchant, owner_client
):
    payment = pending_request(merchant)
    answer = owner_client.get(f"/payments/{payment.pk}/")
    assert answer.status_code == 200
    assert_protected(answer)
    assert_scripts_carry_the_nonce(answer)


def test_each_response_gets_its_own_nonce(owner_client):
    first = directives(owner_client.get("/"))["script-src"]
    second = directives(owner_client.get("/"))["script-src"]
    assert first != second


def test_error_pages_and_the_api_are_protected_too(owner_client, api_client):
    assert_protected(owner_client.get("/payments/999999/"))
    assert_protected(api_client.get("/api/v1/me"))
    assert_protected(Client().get("/api/docs/"))


def test_the_api_docs_page_has_no_inline_script(db):
    # drf-spectacular's Swagger page, split so its init script is a file, and its
    # <style> block given the nonce (templates/drf_spectacular/swagger_ui.html)
    answer = Client().get("/api/docs/")
    body = answer.content.decode()
    assert_protected(answer)
    for tag in re.findall(r"<script\b[^>]*>", body):
        assert "src=" in tag, tag
    nonce = next(
        w[len("'nonce-") : -1]
        for w in directives(answer)["style-src"]
        if w.startswith("'nonce-")
    )
    styles = re.findall(r"<style\b[^>]*>", body)
    assert styles
    for tag in styles:
        assert f'nonce="{nonce}"' in tag, tag


TEMPLATE_DIRS = [REPO / "templates", *REPO.glob("*/templates")]
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


@pytest.mark.parametrize(
    "template",
    sorted({p for d in TEMPLATE_DIRS for p in d.rglob("*.html")}),
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_no_template_has_inline_handlers_styles_or_unnonced_scripts(template):
    text = template.read_text()
    assert not INLINE_HANDLER.search(text), "an on…= handler: use static/js"
    assert "javascript:" not in text
    assert not re.search(r"\sstyle\s*=\s*[\"']", text), "a style= attribute"
    for tag in re.findall(r"<(?:script|style)\b[^>]*>", text):
        assert "src=" in tag or "request.csp_nonce" in tag, tag
