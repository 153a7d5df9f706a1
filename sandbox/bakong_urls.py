"""The Bakong Open API stand-in (mounted at /sandbox/bakong/ when SANDBOX_ENABLED)."""

from django.urls import path

from sandbox import bakong

app_name = "sandbox_bakong"

urlpatterns = [
    path("v1/request_token", bakong.request_token, name="request_token"),
    path("v1/verify", bakong.verify, name="verify"),
    path("v1/renew_token", bakong.renew_token, name="renew_token"),
    path(
        "v1/generate_deeplink_by_qr",
        bakong.generate_deeplink_by_qr,
        name="generate_deeplink_by_qr",
    ),
    path(
        "v1/check_transaction_by_md5",
        bakong.check_transaction_by_md5,
        name="check_transaction_by_md5",
    ),
    path(
        "v1/check_transaction_by_hash",
        bakong.check_transaction_by_hash,
        name="check_transaction_by_hash",
    ),
    path(
        "v1/check_transaction_by_short_hash",
        bakong.check_transaction_by_short_hash,
        name="check_transaction_by_short_hash",
    ),
    path(
        "v1/check_transaction_by_md5_list",
        bakong.check_transaction_by_md5_list,
        name="check_transaction_by_md5_list",
    ),
    path(
        "v1/check_bakong_account",
        bakong.check_bakong_account,
        name="check_bakong_account",
    ),
    path("pay/", bakong.pay_view, name="pay"),
    path("control/", bakong.control_view, name="control"),
]
