"""In Debian's chromium: the payment page turns whole when its code is paid, a
destructive action asks in a dialog, an auditor reads the audit log, at 390 px
the navigation folds, tables scroll inside their card and the QR fits, and on a
desktop the exceptions page fits beside a Bakong hash."""

from __future__ import annotations

import datetime as dt
import hashlib

import httpx
import pytest
from django.utils import timezone

from merchants.models import ApiKey, AuditEvent
from merchants.services import api_key_create
from payments.services.polling import payment_request_check
from tests.factories import (
    AccountFactory,
    MembershipFactory,
    TransactionFactory,
    UserFactory,
)
from tests.payments.makers import payment_request_make
from tests.reconciliation.review_makers import invoice, paid, run

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def sign_in(page, base: str, username: str, *, next_url: str = "/") -> None:
    page.goto(f"{base}/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_load_state()


def member(merchant, username: str, role: str):
    user = UserFactory(username=username)
    MembershipFactory(user=user, merchant=merchant, role=role)
    return user


def test_a_paid_code_turns_the_whole_page_without_a_reload(
    live_server, settings, page, merchant
):
    # given an accountant looking at a pending code
    settings.SITE_URL = live_server.url
    settings.SANDBOX_ENABLED = True
    member(merchant, "cashier", "accountant")
    pr = payment_request_make(merchant=merchant, amount="15000", currency="KHR")
    sign_in(page, live_server.url, "cashier", next_url=f"/payments/{pr.pk}/")
    page.wait_for_selector("#live-status")
    assert page.locator("#payment-actions").is_visible()
    assert page.locator("#refund-form").count() == 0
    assert "None yet" in page.inner_text("#bakong-transactions")
    page.evaluate("window.__same_page = true")
    # when the customer pays and one Bakong check learns of it
    paid = httpx.post(f"{live_server.url}/sandbox/bakong/pay/", data={"md5": pr.md5})
    assert paid.status_code == 302
    payment_request_check(payment_request_id=pr.pk, force=True)
    # then, on the same page, the details, the transaction, the actions and the
    # refund form all follow
    page.wait_for_selector(
        "#bakong-transactions .bakong-transaction[data-outcome=matched]",
        timeout=15_000,
    )
    assert page.inner_text("#live-status") == "Paid"
    assert page.locator("#refund-form").is_visible()
    assert page.locator("#payment-actions").count() == 0
    assert "15,000" in page.inner_text("#payment-details")
    assert page.evaluate("window.__same_page") is True
    # and the refund form works from the swapped-in part
    page.fill("#refund-form input[name=bank_reference]", "ABA-REF-1")
    page.click("#refund-form button[type=submit]")
    page.wait_for_selector("#refunds td:has-text('ABA-REF-1')")


def test_revoking_a_key_asks_in_a_dialog_first(live_server, page, merchant):
    # given an owner on the API keys page with one key
    member(merchant, "boss", "owner")
    key, _ = api_key_create(merchant=merchant, name="Web shop")
    sign_in(page, live_server.url, "boss", next_url="/settings/api-keys/")
    page.wait_for_selector("#api-key-list")
    # when they press Revoke, a dialog asks; Cancel leaves the key alone
    page.click("#api-key-list button:has-text('Revoke')")
    dialog = page.locator("dialog#confirm-dialog")
    assert dialog.is_visible()
    assert "Revoke the key" in dialog.inner_text()
    dialog.locator("button:has-text('Cancel')").click()
    assert not dialog.is_visible()
    key.refresh_from_db()
    assert key.revoked_at is None
    # and confirming revokes it
    page.click("#api-key-list button:has-text('Revoke')")
    dialog.locator("button:has-text('Revoke key')").click()
    page.wait_for_selector("#api-key-list .badge:has-text('revoked')")
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def test_an_auditor_reads_and_filters_the_audit_log(live_server, page, merchant):
    # given events of two kinds
    member(merchant, "audrey", "auditor")
    AuditEvent.objects.create(
        merchant=merchant,
        action="refund.created",
        actor_label="kanha",
        details={"bank_reference": "ABA-77"},
    )
    AuditEvent.objects.create(
        merchant=merchant, action="api_key.revoked", actor_label="dara"
    )
    # when the auditor opens the log from the navigation and filters refunds
    sign_in(page, live_server.url, "audrey")
    page.click("nav.mainnav a:has-text('Audit log')")
    page.wait_for_selector("#audit-events")
    page.select_option("#id_action", "refund.created")
    page.click("#audit-filter button[type=submit]")
    page.wait_for_selector("#audit-events tr[data-action='refund.created']")
    # then the rows are in words, with their details, and the exports keep it
    table = page.inner_text("#audit-events")
    assert "Recorded a refund" in table
    assert "ABA-77" in table
    assert "Revoked an API key" not in table
    href = page.get_attribute("#audit-export a:has-text('CSV')", "href")
    assert "action=refund.created" in href


def test_at_390_px_the_nav_folds_tables_scroll_and_the_qr_fits(
    live_server, browser, merchant
):
    # given an accountant with wide ledger lines and a pending code, on a phone
    member(merchant, "phone", "accountant")
    account = AccountFactory(merchant=merchant, currency="USD")
    start = timezone.now() - dt.timedelta(days=1)
    for n in range(5):
        TransactionFactory(
            account=account,
            merchant=merchant,
            posted_at=start + dt.timedelta(minutes=n),
            counterparty_name="A very long counterparty name Co., Ltd. " * 2,
            reference=f"REFERENCE-THAT-IS-RATHER-LONG-{n:04d}",
        )
    pr = payment_request_make(merchant=merchant, amount="2.50")
    context = browser.new_context(viewport=PHONE, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, live_server.url, "phone", next_url="/statements/transactions/")
        page.wait_for_selector("table")
        # then the navigation is folded behind Menu, and opens
        assert page.locator("[data-nav-toggle]").is_visible()
        assert not page.locator("nav.mainnav").is_visible()
        page.click("[data-nav-toggle]")
        assert page.locator("nav.mainnav a:has-text('Payments')").is_visible()
        # and the page does not scroll sideways: the table scrolls inside its card
        assert page.evaluate(
            "() => document.documentElement.scrollWidth"
            " <= document.documentElement.clientWidth"
        )
        assert page.evaluate(
            """() => Array.from(document.querySelectorAll('table')).some(t => {
                 const box = t.closest('.table-scroll, .card');
                 return box && box.scrollWidth > box.clientWidth;
               })"""
        )
        # and the payment page's QR fits the screen
        page.goto(f"{live_server.url}/payments/{pr.pk}/")
        qr = page.locator("#qr-image").bounding_box()
        assert qr["x"] >= 0 and qr["x"] + qr["width"] <= PHONE["width"]
        assert qr["width"] >= 200
        assert page.evaluate(
            "() => document.documentElement.scrollWidth"
            " <= document.documentElement.clientWidth"
        )
    finally:
        context.close()


TABLE_AUDIT = """() => {
  const out = {misaligned: [], mixed: [], loose: []};
  document.querySelectorAll('table.table').forEach(table => {
    table.querySelectorAll('th.num').forEach(th => {
      const align = getComputedStyle(th).textAlign;
      if (align !== 'right') { out.misaligned.push(th.textContent); }
    });
    table.querySelectorAll('tbody tr').forEach(tr => {
      const sizes = new Set();
      tr.querySelectorAll('td, td *').forEach(el => {
        const text = Array.from(el.childNodes).some(
          n => n.nodeType === 3 && n.textContent.trim());
        if (text) { sizes.add(getComputedStyle(el).fontSize); }
      });
      if (sizes.size > 1) { out.mixed.push(tr.textContent.trim().slice(0, 40)); }
      tr.querySelectorAll('td').forEach(td => {
        const padding = parseFloat(getComputedStyle(td).paddingTop);
        if (padding > 6) { out.loose.push(td.textContent); }
      });
    });
  });
  return out;
}"""


def test_tables_are_dense_with_headers_over_their_numbers(live_server, page, merchant):
    # given an account with lines and a counterparty
    from decimal import Decimal

    member(merchant, "reader", "viewer")
    account = AccountFactory(merchant=merchant, currency="USD")
    for amount in ("-12.50", "40.00"):
        TransactionFactory(
            account=account,
            merchant=merchant,
            amount=Decimal(amount),
            balance_after=Decimal("100.00"),
            counterparty_name="Sok Dara",
            posted_at=timezone.now() - dt.timedelta(days=2),
        )
    # when its page is read at a desktop width
    sign_in(page, live_server.url, "reader", next_url=f"/accounts/{account.pk}/")
    page.wait_for_selector("#counterparties")
    # then numeric headers sit right over their numbers, each row has one type
    # size, and rows are dense
    found = page.evaluate(TABLE_AUDIT)
    assert found == {"misaligned": [], "mixed": [], "loose": []}


def test_on_a_laptop_the_review_pages_fit_beside_bakong_hashes(
    live_server, page, merchant
):
    # given two invoices and two Bakong transfers, each line's id its
    # 64-character hash (one unbroken word): one names its invoice and is 0.30
    # short (a proposal), the other names nothing (two exceptions)
    member(merchant, "books", "accountant")
    account = AccountFactory(merchant=merchant, currency="USD")
    invoice(merchant, "INV-0042", "42.00")
    invoice(merchant, "INV-0043", "30.00")
    stray = hashlib.sha256(b"a transfer of 41.52").hexdigest()
    paid(account, 20, "41.52", external_id=stray, reference="transfer")
    named = hashlib.sha256(b"a transfer of 29.70").hexdigest()
    paid(account, 21, "29.70", external_id=named, reference="INV-0043")
    run(merchant)
    page.set_viewport_size({"width": 1024, "height": 768})
    sign_in(page, live_server.url, "books", next_url="/reconciliation/")
    for path, table, line in (
        ("/reconciliation/", "table", named),
        ("/reconciliation/exceptions/", "#exceptions", stray),
    ):
        # when the accountant opens the page on a 1024-px screen
        page.goto(f"{live_server.url}{path}")
        page.wait_for_selector(table)
        assert line[:8] in page.inner_text(table), path  # the hash is on the page
        # then it does not scroll sideways and its last column is on screen
        assert page.evaluate(
            "() => document.documentElement.scrollWidth"
            " <= document.documentElement.clientWidth"
        ), path
        last = page.locator(f"{table} thead th").last.bounding_box()
        assert last["x"] + last["width"] <= 1024, path
    # and on the exceptions page the hash reads as its head, whole in the title
    links = page.locator(f"#exceptions a[title='{stray}']")
    assert links.count() >= 2  # the line's own exception and the invoice's nearest
    assert {links.nth(k).inner_text().split()[-1] for k in range(links.count())} == {
        f"{stray[:8]}…"
    }
    assert "41.52 USD" in page.inner_text("#exceptions")
