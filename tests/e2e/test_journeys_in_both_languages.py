"""An accountant's day and an auditor's look, once in English and once in Khmer, in
Debian's chromium: sign in, choose the language in the header (remembered for the
next sign-in), issue a code and watch the whole page turn paid, import a file in a
layout no preset knows through the mapping, export the ledger, read the audit log as
an auditor, and a pass at 390 px.

The words each step expects come from the catalogue (`gettext` with the journey's
language), and in Khmer a word that has no translation fails the journey."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from django.utils import translation
from django.utils.translation import gettext

from merchants.audit_actions import action_words
from payments.models import PaymentRequest
from payments.services.polling import payment_request_check
from statements.models import Transaction
from tests.e2e.bank_file import map_unknown_layout, unknown_layout
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.payments.makers import payment_request_make

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
PASSWORD = "pw-for-tests"


class Words:
    """The catalogue's words in one language; English words must not leak into km."""

    def __init__(self, lang: str):
        self.lang = lang

    def __call__(self, msgid: str) -> str:
        with translation.override(self.lang):
            text = gettext(msgid)
        if self.lang != "en":
            assert text != msgid, f"{msgid!r} has no {self.lang} translation"
        return text

    def action(self, code: str) -> str:
        with translation.override(self.lang):
            return str(action_words(code))


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state()


def html_lang(page) -> str:
    return page.get_attribute("html", "lang")


def nav_link(page, href: str):
    return page.locator(f"nav.mainnav a[href='{href}']")


@pytest.mark.parametrize("lang", ["en", "km"])
def test_an_accountants_day_and_an_auditors_look(
    live_server, browser, settings, merchant, tmp_path, lang
):
    t = Words(lang)
    settings.SITE_URL = live_server.url
    settings.SANDBOX_ENABLED = True
    base = live_server.url
    account = AccountFactory(merchant=merchant, currency="KHR")
    for username, role in (("sreymom", "accountant"), ("audrey", "auditor")):
        MembershipFactory(
            user=UserFactory(username=username), merchant=merchant, role=role
        )
    desk = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = desk.new_page()
    page.set_default_timeout(15_000)
    try:
        # she signs in on a browser that asks for English, and chooses her language
        sign_in(page, base, "sreymom")
        assert html_lang(page) == "en"
        page.select_option("#language-switch", lang)
        page.wait_for_function(
            "(want) => document.documentElement.lang === want", arg=lang
        )
        assert nav_link(page, "/payments/").inner_text().strip() == t("Payments")

        # she issues a code; the customer pays; the whole page turns paid
        page.goto(f"{base}/payments/new/")
        page.fill("#id_amount", "15000")
        page.select_option("#id_currency", "KHR")
        page.fill("#id_bill_number", f"JOURNEY-{lang}")
        page.click("#new-khqr button[type=submit]")
        page.wait_for_selector("#live-status")
        assert page.inner_text("#live-status").strip() == t("Pending")
        page.evaluate("window.__same_page = true")
        pr = PaymentRequest.objects.get(bill_number=f"JOURNEY-{lang}")
        paid = httpx.post(f"{base}/sandbox/bakong/pay/", data={"md5": pr.md5})
        assert paid.status_code == 302
        payment_request_check(payment_request_id=pr.pk, force=True)
        page.wait_for_function(
            "(want) => document.getElementById('live-status').textContent.trim()"
            " === want",
            arg=t("Paid"),
        )
        page.wait_for_selector("#refund-form")
        assert "15,000" in page.inner_text("#payment-details")
        assert page.evaluate("window.__same_page") is True

        # she imports a bank's file no preset knows, through the mapping
        upload = tmp_path / f"pp-commercial-{lang}.csv"
        upload.write_bytes(
            unknown_layout(
                ["Phnom Penh Commercial Bank", "Statement"],
                [
                    '03/10/2026,KHQR ហាងកាហ្វេ JOURNEY,"12,000",,"2,012,000"',
                    '14/10/2026,Supplier JOURNEY,,"5,000","2,007,000"',
                ],
            )
        )
        page.goto(f"{base}/statements/imports/")
        page.select_option("#id_account", str(account.pk))
        page.set_input_files("#id_file", str(upload))
        page.click("form[enctype='multipart/form-data'] button[type=submit]")
        page.wait_for_selector("select[name=map_credit]")
        map_unknown_layout(page)
        page.locator("select[name=map_credit]").evaluate("s => s.form.requestSubmit()")
        page.wait_for_selector("form[action$='/confirm/'] button:not([disabled])")
        assert "Supplier JOURNEY" in page.inner_text("main")
        page.click("form[action$='/confirm/'] button[type=submit]")
        page.wait_for_load_state()
        lines = Transaction.objects.filter(description__contains="JOURNEY")
        assert sorted(line.amount for line in lines) == [-5000, 12000]

        # she exports what the Transactions page shows, and Excel reads Khmer
        page.goto(f"{base}/statements/transactions/?q=JOURNEY")
        assert nav_link(page, "/statements/transactions/").inner_text().strip() == t(
            "Transactions"
        )
        with page.expect_download() as download:
            page.click("#txn-export a[href*='export-excel.csv']")
        raw = download.value.path().read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert sum("JOURNEY" in " ".join(row) for row in rows[1:]) == 2
        assert any("ហាងកាហ្វេ" in " ".join(row) for row in rows[1:])

        # her choice outlives the session: signed out and in again, same language
        page.context.clear_cookies()
        sign_in(page, base, "sreymom")
        assert html_lang(page) == lang
    finally:
        desk.close()

    # an auditor whose browser asks for the journey's language reads the log
    reader = browser.new_context(
        viewport={"width": 1366, "height": 900},
        locale=lang,
        extra_http_headers={"Accept-Language": lang},
    )
    page = reader.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{base}/login/")
        assert html_lang(page) == lang
        sign_in(page, base, "audrey")
        page.click("nav.mainnav a[href='/settings/audit/']")
        page.wait_for_selector("#audit-events")
        log = page.inner_text("#audit-events")
        assert t.action("statement.file_imported") in log
        assert t.action("payment_request.created") in log
        assert t.action("statements.transactions.exported") in log
    finally:
        reader.close()

    # and at 390 px the same accountant finds her language, a folded menu, the QR
    pending = payment_request_make(merchant=merchant, amount="2.50")
    phone = browser.new_context(viewport=PHONE, device_scale_factor=2, locale="en-US")
    page = phone.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, base, "sreymom")
        assert html_lang(page) == lang
        assert not page.locator("nav.mainnav").is_visible()
        page.click("[data-nav-toggle]")
        assert nav_link(page, "/payments/").is_visible()
        assert nav_link(page, "/payments/").inner_text().strip() == t("Payments")
        page.goto(f"{base}/payments/{pending.pk}/")
        qr = page.locator("#qr-image").bounding_box()
        assert qr and qr["x"] >= 0 and qr["x"] + qr["width"] <= PHONE["width"]
        assert page.evaluate(
            "() => document.documentElement.scrollWidth"
            " <= document.documentElement.clientWidth"
        )
    finally:
        phone.close()
