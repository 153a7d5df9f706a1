"""In a real browser: an owner picks Khmer in the header, the pages turn Khmer and
stay so after signing in again, and the KHQR string (Latin and Khmer in a <code>)
is drawn with the Khmer font Tonle serves, not as boxes."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command

from merchants.models import Membership
from payments.services.payment_requests import payment_request_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "km" / "LC_MESSAGES" / "django.po"


def km(msgid: str) -> str:
    return polib.pofile(str(CATALOGUE)).find(msgid).msgstr


def _sign_in(page, url: str) -> None:
    page.goto(f"{url}/login/")
    page.fill("#id_username", "demo")
    page.fill("#id_password", "tonle-demo")
    page.click("button[type=submit]")
    page.wait_for_selector("#mainnav")


def _fonts_drawing(page, selector: str) -> set[str]:
    """The fonts Chromium really used for the text in the element (DevTools)."""
    page.evaluate("async () => { await document.fonts.ready }")
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})
    return {font["familyName"] for font in fonts["fonts"]}


def test_an_owner_reads_tonle_in_khmer_and_the_khqr_string_has_khmer_glyphs(
    live_server, page
):
    # given the demo shop, whose KHQR codes carry its Khmer name
    call_command("seed_demo", "--json", stdout=StringIO())
    merchant = Membership.objects.get(user__username="demo").merchant
    code, _ = payment_request_create(merchant=merchant, amount="12.50", currency="USD")
    assert merchant.name_km and merchant.name_km in code.qr
    _sign_in(page, live_server.url)
    assert page.get_attribute("html", "lang") == "en"
    # when the owner picks Khmer in the header
    page.select_option("#language-switch", "km")
    page.wait_for_selector(f"#mainnav >> text={km('Payments')}")
    assert page.get_attribute("html", "lang") == "km"
    # then it is remembered for them: signed out and in again, still Khmer
    page.click("form[action='/logout/'] button")
    page.context.clear_cookies()
    _sign_in(page, live_server.url)
    assert page.get_attribute("html", "lang") == "km"
    # and the payment page's KHQR string draws its Khmer with the Khmer font
    page.goto(f"{live_server.url}/payments/{code.pk}/")
    page.wait_for_selector(f"text={km('KHQR string')}")
    assert "12.50 USD" in page.inner_text("#code-card")
    assert "Noto Sans Khmer" in _fonts_drawing(page, "#payment-details code.break-all")
