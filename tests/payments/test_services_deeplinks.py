"""The deeplink of a new code: a complete sourceInfo or none, and why a code has
no deeplink when Bakong refuses or is away (scripted Bakong, MockTransport)."""

from __future__ import annotations

import httpx
import pytest
from django.contrib.staticfiles import finders

from payments import khqr
from payments.services.deeplinks import deeplink_fetch
from tests.payments.bakong_fakes import BASE, FakeBakong, fail, ok

QR = khqr.encode(khqr.KhqrFields(bakong_account_id="a@bank", merchant_name="Shop")).qr
LINK = "https://bakongsit.page.link/dGZAr1McBs1UaNmH9"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _bakong(settings):
    settings.BAKONG_BASE_URL = BASE
    settings.BAKONG_TOKEN = "tok"
    settings.BAKONG_APP_NAME = "Shop app"
    settings.BAKONG_APP_ICON_URL = "https://shop.example/icon.png"
    settings.BAKONG_APP_CALLBACK_URL = "https://shop.example/paid"


def test_deeplink_fetch_sends_the_complete_source_info_from_settings():
    # given
    fake = FakeBakong().on("generate_deeplink_by_qr", ok({"shortLink": LINK}))
    # when
    result = deeplink_fetch(qr=QR, transport=fake.transport())
    # then
    assert (result.link, result.error) == (LINK, "")
    assert fake.body(fake.calls("generate_deeplink_by_qr")[0]) == {
        "qr": QR,
        "sourceInfo": {
            "appIconUrl": "https://shop.example/icon.png",
            "appName": "Shop app",
            "appDeepLinkCallback": "https://shop.example/paid",
        },
    }


@pytest.mark.parametrize(
    "setting", ["BAKONG_APP_NAME", "BAKONG_APP_ICON_URL", "BAKONG_APP_CALLBACK_URL"]
)
def test_deeplink_fetch_sends_no_source_info_when_one_setting_is_empty(
    settings, setting
):
    # given
    setattr(settings, setting, "")
    fake = FakeBakong().on("generate_deeplink_by_qr", ok({"shortLink": LINK}))
    # when
    result = deeplink_fetch(qr=QR, transport=fake.transport())
    # then
    assert result.link == LINK
    assert fake.body(fake.calls("generate_deeplink_by_qr")[0]) == {"qr": QR}


def test_source_info_defaults_come_from_site_url_and_the_icon_is_served():
    # given the settings module as loaded (no override of the three settings)
    from config import settings as loaded

    site = loaded.SITE_URL.rstrip("/")
    name, icon = loaded.BAKONG_APP_NAME, loaded.BAKONG_APP_ICON_URL
    callback = loaded.BAKONG_APP_CALLBACK_URL
    # then
    assert (name, icon, callback) == (
        "Tonle",
        f"{site}/static/img/tonle-icon.png",
        f"{site}/payments/",
    )
    assert finders.find("img/tonle-icon.png")


def test_deeplink_fetch_keeps_bakongs_refusal_as_the_reason(caplog):
    # given Bakong refuses the request
    fake = FakeBakong().on(
        "generate_deeplink_by_qr",
        fail(5, status=400, message="Missing required fields."),
    )
    # when
    result = deeplink_fetch(qr=QR, transport=fake.transport())
    # then
    assert result.link == ""
    assert result.error == "Bakong refused it (error 5): Missing required fields"
    assert "payments.deeplink.failed" in caplog.text


def test_deeplink_fetch_says_bakong_could_not_be_reached_on_an_outage():
    # given
    fake = FakeBakong().on(
        "generate_deeplink_by_qr", httpx.Response(503, text="<html>down</html>")
    )
    # when
    result = deeplink_fetch(qr=QR, transport=fake.transport())
    # then
    assert result.link == ""
    assert result.error.startswith("Bakong could not be reached")


def test_deeplink_fetch_refuses_a_link_that_is_not_an_url():
    # given
    fake = FakeBakong().on(
        "generate_deeplink_by_qr", ok({"shortLink": "javascript:alert(1)"})
    )
    # when
    result = deeplink_fetch(qr=QR, transport=fake.transport())
    # then
    assert result.link == ""
    assert result.error.startswith("Bakong answered a link that cannot be used")


def test_deeplink_fetch_reason_fits_the_field():
    # given a very long refusal
    fake = FakeBakong().on(
        "generate_deeplink_by_qr", fail(4, message="provider says " + "no " * 200)
    )
    # when
    result = deeplink_fetch(qr=QR, transport=fake.transport())
    # then
    assert len(result.error) <= 200
    assert result.error.startswith("Bakong refused it (error 4): provider says no")
