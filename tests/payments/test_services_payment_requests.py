import datetime as dt
from decimal import Decimal

import pytest
from freezegun import freeze_time

from core.exceptions import Conflict, InvalidInput, MerchantNotConfigured
from merchants.models import AuditEvent
from merchants.services import api_key_create
from payments import khqr
from payments.clients.bakong_types import BakongTransactionInfo
from payments.models import (
    PaymentFlag,
    PaymentRequest,
    PaymentStatus,
)
from payments.services.payment_requests import (
    payment_request_cancel,
    payment_request_create,
)
from payments.services.settlement import bakong_transaction_apply
from tests.factories import AccountFactory
from tests.payments.makers import payment_request_make

HASH = "a" * 64


@pytest.fixture(autouse=True)
def _no_bakong(settings):
    # nothing listens on port 9: the deeplink call fails at once, as when Bakong is
    # unreachable
    settings.BAKONG_BASE_URL = "http://127.0.0.1:9"


def _info(**overrides) -> BakongTransactionInfo:
    values = {
        "hash": HASH,
        "from_account_id": "payer@aclb",
        "to_account_id": "shop_a@wing",
        "currency": "USD",
        "amount": Decimal("5.00"),
        "created_date_ms": None,
    }
    values.update(overrides)
    return BakongTransactionInfo(**values)


# --- create ---------------------------------------------------------------------


def test_payment_request_create_encodes_the_merchants_identity(merchant):
    # when
    pr, replay = payment_request_create(
        merchant=merchant, amount="12.50", currency="USD", bill_number="INV-7"
    )
    # then the code decodes to the merchant, amount and bill, with a 15 min expiry
    decoded = khqr.decode(pr.qr)
    assert replay is False
    assert decoded.bakong_account_id == "shop_a@wing"
    assert decoded.merchant_name == merchant.display_name
    assert decoded.amount == "12.50"
    assert decoded.currency == "USD"
    assert decoded.bill_number == "INV-7"
    assert pr.amount == Decimal("12.50")
    assert pr.status == PaymentStatus.PENDING
    assert (pr.expires_at - pr.created_at).total_seconds() == pytest.approx(900, abs=2)
    assert decoded.expiration_ms == int(pr.expires_at.timestamp() * 1000)
    assert AuditEvent.objects.filter(
        action="payment_request.created", object_id=str(pr.pk)
    ).exists()


def test_payment_request_create_uses_the_bakong_wallet_of_the_currency(merchant):
    # given a USD Bakong wallet with its own account id
    wallet = AccountFactory(
        merchant=merchant,
        provider="bakong",
        currency="USD",
        bakong_account_id="shop_a_usd@wing",
    )
    # when
    pr, _ = payment_request_create(merchant=merchant, amount="1", currency="USD")
    # then
    assert pr.account == wallet
    assert khqr.decode(pr.qr).bakong_account_id == "shop_a_usd@wing"


def test_payment_request_create_without_deeplink_when_bakong_is_away(merchant, caplog):
    # when Bakong cannot be reached (port 9)
    pr, _ = payment_request_create(merchant=merchant, amount="1000", currency="KHR")
    # then the code is issued anyway, without a deeplink, and a warning is logged
    assert pr.pk is not None
    assert pr.deeplink == ""
    assert pr.deeplink_error.startswith("Bakong could not be reached")
    assert "payments.deeplink.failed" in caplog.text


def test_payment_request_create_schedules_the_first_check_on_commit(
    merchant, django_capture_on_commit_callbacks, monkeypatch
):
    # given
    scheduled = []
    monkeypatch.setattr(
        "payments.services.polling.payment_request_schedule_first_check",
        lambda *, payment_request_id: scheduled.append(payment_request_id),
    )
    # when
    with django_capture_on_commit_callbacks(execute=True):
        pr, _ = payment_request_create(merchant=merchant, amount="2", currency="USD")
    # then
    assert scheduled == [pr.pk]


def test_payment_request_create_without_amount_is_a_static_code(merchant):
    # when
    pr, _ = payment_request_create(merchant=merchant, currency="KHR")
    # then
    assert pr.amount is None
    assert pr.expires_at is None
    assert khqr.decode(pr.qr).point_of_initiation == "static"


def test_payment_request_create_rejects_fractional_riel(merchant):
    with pytest.raises(InvalidInput, match="riel amounts are whole numbers") as exc:
        payment_request_create(merchant=merchant, amount="1000.5", currency="KHR")
    assert exc.value.field == "amount"
    assert PaymentRequest.objects.count() == 0


@pytest.mark.parametrize(
    ("amount", "message"),
    [("1.234", "at most 2 decimal places"), ("-5", "positive"), ("abc", "plain")],
)
def test_payment_request_create_rejects_bad_amounts(merchant, amount, message):
    with pytest.raises(InvalidInput, match=message):
        payment_request_create(merchant=merchant, amount=amount, currency="USD")
    assert PaymentRequest.objects.count() == 0


@pytest.mark.parametrize("seconds", [29, 86401, 0])
def test_payment_request_create_rejects_expiry_out_of_bounds(merchant, seconds):
    with pytest.raises(InvalidInput, match="between 30 and 86400") as exc:
        payment_request_create(
            merchant=merchant, amount="1", currency="USD", expires_in_seconds=seconds
        )
    assert exc.value.field == "expires_in_seconds"


@pytest.mark.parametrize("seconds", [30, 86400])
def test_payment_request_create_accepts_expiry_bounds(merchant, seconds):
    pr, _ = payment_request_create(
        merchant=merchant, amount="1", currency="USD", expires_in_seconds=seconds
    )
    assert (pr.expires_at - pr.created_at).total_seconds() == pytest.approx(
        seconds, abs=2
    )


def test_payment_request_create_rejects_unknown_currency(merchant):
    with pytest.raises(InvalidInput, match="use KHR or USD"):
        payment_request_create(merchant=merchant, amount="1", currency="THB")


def test_payment_request_create_rejects_long_labels(merchant):
    with pytest.raises(InvalidInput, match="bill_number: at most 25"):
        payment_request_create(
            merchant=merchant, amount="1", currency="USD", bill_number="x" * 26
        )


def test_payment_request_create_needs_a_bakong_account_id(merchant):
    merchant.bakong_account_id = ""
    merchant.save()
    with pytest.raises(MerchantNotConfigured, match="no Bakong account id"):
        payment_request_create(merchant=merchant, amount="1", currency="USD")


def test_same_order_id_again_is_the_same_code_as_a_replay(merchant):
    # given
    first, _ = payment_request_create(
        merchant=merchant, amount="5", currency="USD", order_id="ORD-1"
    )
    # when
    again, replay = payment_request_create(
        merchant=merchant, amount="5.00", currency="USD", order_id="ORD-1"
    )
    # then
    assert replay is True
    assert again.pk == first.pk
    assert again.md5 == first.md5
    assert PaymentRequest.objects.count() == 1


def test_same_order_id_with_another_amount_is_a_conflict(merchant):
    payment_request_create(
        merchant=merchant, amount="5", currency="USD", order_id="ORD-1"
    )
    with pytest.raises(Conflict, match="already used .* other fields"):
        payment_request_create(
            merchant=merchant, amount="6", currency="USD", order_id="ORD-1"
        )
    assert PaymentRequest.objects.count() == 1


def test_idempotency_key_is_honoured_like_order_id(merchant):
    first, _ = payment_request_create(
        merchant=merchant, amount="5", currency="USD", idempotency_key="k-1"
    )
    again, replay = payment_request_create(
        merchant=merchant, amount="5", currency="USD", idempotency_key="k-1"
    )
    assert (again.pk, replay) == (first.pk, True)
    with pytest.raises(Conflict):
        payment_request_create(
            merchant=merchant, amount="7", currency="USD", idempotency_key="k-1"
        )


def test_order_id_of_another_merchant_is_not_a_replay(merchant, other_merchant):
    mine, _ = payment_request_create(
        merchant=merchant, amount="5", currency="USD", order_id="ORD-1"
    )
    theirs, replay = payment_request_create(
        merchant=other_merchant, amount="5", currency="USD", order_id="ORD-1"
    )
    assert replay is False
    assert theirs.pk != mine.pk


def test_order_id_used_by_a_live_key_conflicts_for_a_test_key(merchant):
    live, _ = api_key_create(merchant=merchant)
    test, _ = api_key_create(merchant=merchant, is_test=True)
    payment_request_create(
        merchant=merchant, amount="5", currency="USD", order_id="O", api_key=live
    )
    with pytest.raises(Conflict, match="live API key"):
        payment_request_create(
            merchant=merchant, amount="5", currency="USD", order_id="O", api_key=test
        )


def test_payment_request_create_marks_test_key_requests(merchant):
    test, _ = api_key_create(merchant=merchant, is_test=True)
    pr, _ = payment_request_create(
        merchant=merchant, amount="5", currency="USD", api_key=test
    )
    assert pr.is_test is True


def test_cancel_a_pending_code(merchant):
    pr = payment_request_make(merchant=merchant)
    cancelled = payment_request_cancel(merchant=merchant, payment_request_id=pr.pk)
    assert cancelled.status == PaymentStatus.CANCELLED
    bakong_transaction_apply(payment_request_id=pr.pk, info=_info())
    pr.refresh_from_db()
    assert pr.flag == PaymentFlag.LATE


def test_cancel_a_paid_code_is_a_conflict(merchant):
    pr = payment_request_make(merchant=merchant)
    bakong_transaction_apply(payment_request_id=pr.pk, info=_info())
    with pytest.raises(Conflict, match="only a pending code"):
        payment_request_cancel(merchant=merchant, payment_request_id=pr.pk)


@freeze_time("2026-11-30 16:30:00")  # 23:30 in Phnom Penh
def test_create_late_evening_local_time_expires_the_next_day(merchant):
    pr, _ = payment_request_create(
        merchant=merchant, amount="1", currency="USD", expires_in_seconds=3600
    )
    assert pr.expires_at == dt.datetime(2026, 11, 30, 17, 30, tzinfo=dt.UTC)


def test_payment_request_create_refuses_control_characters_in_labels(merchant):
    with pytest.raises(InvalidInput, match="store_label: control characters"):
        payment_request_create(
            merchant=merchant, amount="1", currency="USD", store_label="Shop\x0b1"
        )
