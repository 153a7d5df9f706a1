"""In a real browser, Tonle's pages run under their Content-Security-Policy with
nothing refused: our scripts (static files and nonce'd blocks) run, no inline
handler or style is left for the policy to block."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from merchants.models import Merchant
from payments.models import PaymentRequest
from tests.factories import MembershipFactory, MerchantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Every violation the page reports, collected before any of its own scripts run
# (an init script is the browser's, not the page's, so the policy does not apply).
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def watch(page) -> list[str]:
    console = []
    page.on(
        "console",
        lambda message: (
            console.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    page.add_init_script(RECORD_VIOLATIONS)
    return console


def violations(page) -> list[str]:
    return page.evaluate("window.__csp || []")


def sign_in(page, base: str, username: str = "demo") -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "tonle-demo")
    page.click("button[type=submit]")
    page.wait_for_selector("#accounts")


def test_dashboard_and_payment_page_run_without_a_csp_violation(live_server, page):
    # given the demo data and its owner signed in
    call_command("seed_demo", "--json", stdout=StringIO())
    console = watch(page)
    sign_in(page, live_server.url)
    # when they open the dashboard and a pending payment
    assert violations(page) == []
    demo = Merchant.objects.get(display_name__startswith="Tonle Demo")
    payment = PaymentRequest.objects.filter(
        merchant=demo, status="pending", expires_at__isnull=False
    ).first()
    if payment is None:  # the demo's codes may all be settled: make a fresh one
        page.goto(f"{live_server.url}/payments/new/")
        page.fill("#id_amount", "15000")
        page.select_option("#id_currency", "KHR")
        page.click("#new-khqr button[type=submit]")
    else:
        page.goto(f"{live_server.url}/payments/{payment.pk}/")
    page.wait_for_selector("#live-status")
    # then nothing on either page was refused
    assert violations(page) == []
    assert console == []
    # and the page's own (nonce'd) script runs: the countdown ticks
    page.wait_for_function(
        # a function, not a string: the policy refuses eval of a string
        "() => document.getElementById('countdown').textContent.includes(':')"
    )
    assert page.locator("#paid-banner").is_hidden()
    assert violations(page) == []


def test_the_merchant_switch_works_without_an_inline_handler(live_server, page):
    # given the demo owner who also belongs to a second merchant
    call_command("seed_demo", "--json", stdout=StringIO())
    from django.contrib.auth import get_user_model

    demo = get_user_model().objects.get(username="demo")
    other = MerchantFactory(display_name="Second Shop")
    MembershipFactory(user=demo, merchant=other, role="viewer")
    console = watch(page)
    sign_in(page, live_server.url)
    # when they choose the other merchant in the switch (static/js/tonle.js)
    with page.expect_navigation():
        page.select_option("#merchant-switch", str(other.pk))
    # then the page says so, with no violation on the way
    assert "Now working on Second Shop" in page.inner_text("main")
    assert violations(page) == []
    assert console == []


def test_sign_in_two_factor_api_docs_and_admin_pages_have_no_violation(
    live_server, page, django_user_model
):
    call_command("seed_demo", "--json", stdout=StringIO())
    django_user_model.objects.filter(username="demo").update(
        is_staff=True, is_superuser=True
    )
    console = watch(page)
    sign_in(page, live_server.url)
    for path in ("/settings/two-factor/", "/settings/api-keys/", "/admin/"):
        page.goto(f"{live_server.url}{path}")
        assert violations(page) == [], path
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .info")
    assert violations(page) == []
    assert console == []
