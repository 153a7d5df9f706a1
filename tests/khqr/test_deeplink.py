"""The Bakong deeplink request body, with the SDK's checks."""

from __future__ import annotations

import pytest

from payments.khqr import KhqrError, KhqrFields, encode
from payments.khqr.deeplink import (
    SourceInfo,
    check_deeplink_url,
    deeplink_from_response,
    deeplink_request,
)

QR = encode(KhqrFields(bakong_account_id="a@bank", merchant_name="Shop")).qr


def test_deeplink_request_sends_the_code_and_the_source_info():
    # given
    source = SourceInfo("https://shop.example/icon.png", "Shop", "shop://paid")
    # when
    body = deeplink_request(QR, source_info=source)
    # then
    assert body == {
        "qr": QR,
        "sourceInfo": {
            "appIconUrl": "https://shop.example/icon.png",
            "appName": "Shop",
            "appDeepLinkCallback": "shop://paid",
        },
    }


def test_deeplink_request_refuses_an_invalid_code_with_the_sdk_error():
    # when / then
    with pytest.raises(KhqrError, match="KHQR provided is invalid") as raised:
        deeplink_request(QR[:-4] + "0000")
    assert raised.value.code == 8


def test_deeplink_request_refuses_incomplete_source_info():
    # when / then
    with pytest.raises(KhqrError, match="Source Info for Deep Link is invalid"):
        deeplink_request(QR, source_info=SourceInfo("", "Shop", "shop://paid"))


def test_check_deeplink_url_wants_the_generate_deeplink_path():
    # then
    url = "https://api-bakong.nbc.gov.kh/v1/generate_deeplink_by_qr"
    assert check_deeplink_url(url) == url
    with pytest.raises(KhqrError, match="Deep Link URL is not valid"):
        check_deeplink_url("https://api-bakong.nbc.gov.kh/deeplink")


def test_deeplink_from_response_reads_the_short_link():
    # then
    body = {"responseCode": 0, "data": {"shortLink": "https://bakong.page.link/x"}}
    assert deeplink_from_response(body) == "https://bakong.page.link/x"
    with pytest.raises(KhqrError):
        deeplink_from_response({"responseCode": 1, "data": None})
