"""BakongClient and BakongAccess against a scripted Bakong (httpx.MockTransport)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import httpx
import pytest
from django.core.cache import cache
from freezegun import freeze_time

from core.exceptions import (
    ConfigurationError,
    InvalidInput,
    PermanentError,
    TransientError,
)
from core.http import RateLimited
from payments.bakong_access import (
    BREAKER_COOLDOWN,
    BREAKER_THRESHOLD,
    BakongAccess,
    CircuitOpen,
    ProviderPaused,
    jwt_expires_at,
)
from payments.clients.bakong import (
    BakongBulkUnsupported,
    BakongClient,
    BakongError,
    BakongUnauthorized,
)
from payments.clients.bakong_types import CheckStatus
from payments.models import BakongTokenState
from tests.payments.bakong_fakes import (
    BASE,
    TX_HASH,
    FakeBakong,
    fail,
    jwt,
    ok,
    tx_data,
)

MD5 = "d60f3db96913029a2af979a1662c1e72"
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def client_for(
    fake: FakeBakong, *, base: str = BASE, token: str = "tok"
) -> BakongClient:
    return BakongClient(base_url=base, token=token, transport=fake.transport())


# -- the client: every endpoint and the envelope -----------------------------------


def test_request_token_posts_the_integrator_without_a_bearer_token():
    # given
    fake = FakeBakong().on("request_token", ok(None, message="Email has been sent"))
    # when
    message = client_for(fake).request_token(
        email="dev@shop.kh", organization="Shop", project="Tonle"
    )
    # then
    assert message == "Email has been sent"
    (request,) = fake.calls("request_token")
    assert fake.body(request) == {
        "email": "dev@shop.kh",
        "organization": "Shop",
        "project": "Tonle",
    }
    assert "authorization" not in request.headers


def test_verify_trades_the_code_for_a_token():
    fake = FakeBakong().on("verify", ok({"token": "eyJ.new.token"}))
    assert client_for(fake).verify(code="A" * 20) == "eyJ.new.token"
    assert fake.body(fake.calls("verify")[0]) == {"code": "A" * 20}


def test_renew_token_returns_the_new_token():
    fake = FakeBakong().on("renew_token", ok({"token": "eyJ.renewed"}))
    assert client_for(fake).renew_token(email="dev@shop.kh") == "eyJ.renewed"
    assert fake.body(fake.calls("renew_token")[0]) == {"email": "dev@shop.kh"}


def test_renew_token_for_an_unregistered_email_raises_with_bakongs_message():
    fake = FakeBakong().on("renew_token", fail(10, message="Not registered yet."))
    with pytest.raises(BakongError, match="Not registered yet") as caught:
        client_for(fake).renew_token(email="who@shop.kh")
    assert caught.value.error_code == 10


def test_generate_deeplink_sends_qr_and_source_info_and_returns_the_short_link():
    # given
    fake = FakeBakong().on(
        "generate_deeplink_by_qr",
        ok({"shortLink": "https://bakongsit.page.link/dGZAr1"}),
    )
    # when
    link = client_for(fake).generate_deeplink_by_qr(
        qr="000201...",
        app_name="Tonle",
        app_icon_url="https://x/i.svg",
        app_deeplink_callback="https://x/back",
    )
    # then
    assert link == "https://bakongsit.page.link/dGZAr1"
    request = fake.calls("generate_deeplink_by_qr")[0]
    assert fake.body(request) == {
        "qr": "000201...",
        "sourceInfo": {
            "appIconUrl": "https://x/i.svg",
            "appName": "Tonle",
            "appDeepLinkCallback": "https://x/back",
        },
    }
    assert request.headers["authorization"] == "Bearer tok"


@pytest.mark.parametrize(
    "missing", ["app_name", "app_icon_url", "app_deeplink_callback"]
)
def test_generate_deeplink_refuses_a_partial_source_info_without_calling(missing):
    # given
    fake = FakeBakong().on("generate_deeplink_by_qr", ok({"shortLink": "https://x"}))
    source = {
        "app_name": "Tonle",
        "app_icon_url": "https://x/i.png",
        "app_deeplink_callback": "https://x/back",
    }
    source[missing] = ""
    # when / then: Bakong refuses a sourceInfo with an empty field (spec 003)
    with pytest.raises(InvalidInput, match=f"{missing}: .*or none of them"):
        client_for(fake).generate_deeplink_by_qr(qr="000201...", **source)
    assert fake.calls("generate_deeplink_by_qr") == []


def test_generate_deeplink_without_source_info_sends_the_code_alone():
    # given
    fake = FakeBakong().on("generate_deeplink_by_qr", ok({"shortLink": "https://x"}))
    # when
    client_for(fake).generate_deeplink_by_qr(qr="000201...")
    # then
    assert fake.body(fake.calls("generate_deeplink_by_qr")[0]) == {"qr": "000201..."}


def test_check_by_md5_maps_a_found_transaction_with_a_decimal_amount():
    # given Bakong's sample answer, amount as a JSON number
    fake = FakeBakong().on("check_transaction_by_md5", ok(tx_data(amount=1.0)))
    # when
    result = client_for(fake).check_transaction_by_md5(md5=MD5)
    # then
    assert result.status is CheckStatus.FOUND
    info = result.transaction
    assert info.hash == TX_HASH and info.short_hash == "8465d722"
    assert info.amount == Decimal("1.0") and isinstance(info.amount, Decimal)
    assert (info.currency, info.md5) == ("USD", MD5)
    assert info.from_account_id == "rieu_dhqj_1984@devb"
    assert info.created_date_ms == 1764600000000
    assert info.external_ref == "EXT1"
    request = fake.calls("check_transaction_by_md5")[0]
    assert fake.body(request) == {"md5": MD5}
    assert request.headers["authorization"] == "Bearer tok"


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("1500.25", Decimal("1500.25")),
        (100000, Decimal("100000")),
        (0.1, Decimal("0.1")),
        (" 12.50 ", Decimal("12.50")),
    ],
)
def test_amounts_arrive_as_numbers_or_strings_and_stay_exact(wire, expected):
    fake = FakeBakong().on("check_transaction_by_md5", ok(tx_data(amount=wire)))
    info = client_for(fake).check_transaction_by_md5(md5=MD5).transaction
    assert info.amount == expected
    assert str(info.amount) == str(expected)


@pytest.mark.parametrize("wire", [None, True, "12,50", "abc", "NaN", [1]])
def test_an_amount_that_is_not_a_number_is_refused(wire):
    fake = FakeBakong().on("check_transaction_by_md5", ok(tx_data(amount=wire)))
    with pytest.raises(PermanentError, match="amount"):
        client_for(fake).check_transaction_by_md5(md5=MD5)


@pytest.mark.parametrize(
    ("error_code", "status"),
    [(1, CheckStatus.NOT_FOUND), (3, CheckStatus.FAILED), (2, CheckStatus.STATIC_QR)],
)
def test_check_error_codes_map_to_typed_statuses(error_code, status):
    fake = FakeBakong().on("check_transaction_by_md5", fail(error_code))
    result = client_for(fake).check_transaction_by_md5(md5=MD5)
    assert result.status is status
    assert result.transaction is None


def test_check_missing_fields_error_raises_a_bakong_error():
    fake = FakeBakong().on("check_transaction_by_md5", fail(5, status=400))
    with pytest.raises(BakongError, match="failed") as caught:
        client_for(fake).check_transaction_by_md5(md5=MD5)
    assert caught.value.error_code == 5


def test_cannot_connect_error_code_is_transient():
    fake = FakeBakong().on(
        "check_transaction_by_md5", fail(9, message="Cannot connect")
    )
    with pytest.raises(TransientError, match="Cannot connect"):
        client_for(fake).check_transaction_by_md5(md5=MD5)


def test_check_by_full_hash_posts_the_hash():
    fake = FakeBakong().on("check_transaction_by_hash", ok(tx_data()))
    result = client_for(fake).check_transaction_by_hash(hash=TX_HASH)
    assert result.status is CheckStatus.FOUND
    assert fake.body(fake.calls("check_transaction_by_hash")[0]) == {"hash": TX_HASH}


def test_check_by_short_hash_sends_the_amount_as_a_json_number():
    # given
    fake = FakeBakong().on("check_transaction_by_short_hash", fail(1))
    # when
    result = client_for(fake).check_transaction_by_short_hash(
        hash="8465d722", amount=Decimal("12.50"), currency="USD"
    )
    # then
    assert result.status is CheckStatus.NOT_FOUND
    raw = fake.calls("check_transaction_by_short_hash")[0].content
    assert b'"amount":12.50' in raw
    assert json.loads(raw) == {"hash": "8465d722", "amount": 12.5, "currency": "USD"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"hash": "8465d72", "amount": Decimal("1"), "currency": "USD"}, "hash"),
        ({"hash": "8465d722", "amount": 1.0, "currency": "USD"}, "amount"),
        ({"hash": "8465d722", "amount": Decimal("1"), "currency": "THB"}, "currency"),
    ],
)
def test_check_by_short_hash_refuses_bad_arguments_naming_the_field(kwargs, field):
    fake = FakeBakong()
    with pytest.raises(InvalidInput, match=field) as caught:
        client_for(fake).check_transaction_by_short_hash(**kwargs)
    assert caught.value.field == field
    assert fake.seen == []


def test_check_bakong_account_says_whether_it_exists():
    fake = FakeBakong().on(
        "check_bakong_account",
        ok(None, message="Account ID exists"),
        fail(11, message="Account ID not found"),
    )
    client = client_for(fake)
    assert client.check_bakong_account(account_id="shop_a@wing") is True
    assert client.check_bakong_account(account_id="nobody@wing") is False
    assert fake.body(fake.calls("check_bakong_account")[0]) == {
        "accountId": "shop_a@wing"
    }


def test_bulk_check_posts_an_array_and_answers_in_the_order_asked():
    # given three md5s answered out of order, one paid with a string amount
    paid, missing, failed = "a" * 32, "b" * 32, "c" * 32
    fake = FakeBakong().on(
        "check_transaction_by_md5_list",
        ok(
            [
                {"md5": failed, "status": "FAILED", "message": "Transaction failed."},
                {"md5": paid, "status": "SUCCESS", "data": tx_data(amount="25.00")},
                {"md5": missing, "status": "NOT_FOUND", "data": None},
            ]
        ),
    )
    # when
    results = client_for(fake).check_transaction_by_md5_list(
        md5s=[paid, missing, failed]
    )
    # then
    assert [r.md5 for r in results] == [paid, missing, failed]
    assert [r.status for r in results] == [
        CheckStatus.FOUND,
        CheckStatus.NOT_FOUND,
        CheckStatus.FAILED,
    ]
    assert results[0].transaction.amount == Decimal("25.00")
    assert results[0].transaction.md5 == paid
    assert fake.body(fake.calls("check_transaction_by_md5_list")[0]) == [
        paid,
        missing,
        failed,
    ]


def test_bulk_success_without_its_transaction_is_looked_up_singly():
    fake = (
        FakeBakong()
        .on(
            "check_transaction_by_md5_list",
            ok([{"md5": MD5, "status": "SUCCESS", "data": None}]),
        )
        .on("check_transaction_by_md5", ok(tx_data()))
    )
    (result,) = client_for(fake).check_transaction_by_md5_list(md5s=[MD5])
    assert result.status is CheckStatus.FOUND
    assert result.transaction.hash == TX_HASH
    assert len(fake.calls("check_transaction_by_md5")) == 1


def test_bulk_check_refuses_more_than_fifty_before_sending():
    fake = FakeBakong()
    with pytest.raises(InvalidInput, match="at most 50"):
        client_for(fake).check_transaction_by_md5_list(md5s=[MD5] * 51)
    assert fake.seen == []


def test_a_provider_without_the_bulk_endpoint_says_so():
    fake = FakeBakong()  # answers 404 to everything
    with pytest.raises(BakongBulkUnsupported, match="not offered"):
        client_for(fake).check_transaction_by_md5_list(md5s=[MD5])


def test_a_relay_base_url_keeps_its_path_prefix():
    fake = FakeBakong().on("check_transaction_by_md5", fail(1))
    client_for(fake, base="https://relay.example/kh/bakong/").check_transaction_by_md5(
        md5=MD5
    )
    assert fake.seen[0].url == httpx.URL(
        "https://relay.example/kh/bakong/v1/check_transaction_by_md5"
    )


def test_from_settings_defaults_to_the_built_in_sandbox(settings):
    settings.BAKONG_BASE_URL = ""
    settings.SITE_URL = "http://127.0.0.1:8123"
    settings.BAKONG_TOKEN = "tok-from-env"
    client = BakongClient.from_settings()
    assert client.base_url == "http://127.0.0.1:8123/sandbox/bakong"
    assert client.token == "tok-from-env"
    settings.BAKONG_BASE_URL = "https://relay.example/bakong"
    assert BakongClient.from_settings().base_url == "https://relay.example/bakong"


def test_a_401_raises_unauthorized():
    fake = FakeBakong().on("check_transaction_by_md5", httpx.Response(401, text="no"))
    with pytest.raises(BakongUnauthorized, match="401"):
        client_for(fake).check_transaction_by_md5(md5=MD5)


def test_error_code_6_on_a_200_is_unauthorized_too():
    fake = FakeBakong().on("check_transaction_by_md5", fail(6, message="Unauthorized."))
    with pytest.raises(BakongUnauthorized, match="Unauthorized"):
        client_for(fake).check_transaction_by_md5(md5=MD5)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(status):
    fake = FakeBakong().on(
        "check_transaction_by_md5", httpx.Response(status, text="<html>down</html>")
    )
    with pytest.raises(TransientError, match=f"server error {status}"):
        client_for(fake).check_transaction_by_md5(md5=MD5)


def test_a_timeout_is_transient():
    def slow(request):
        raise httpx.ReadTimeout("slow", request=request)

    fake = FakeBakong().on("check_transaction_by_md5", slow)
    with pytest.raises(TransientError, match="timed out"):
        client_for(fake).check_transaction_by_md5(md5=MD5)


def test_malformed_json_is_a_permanent_error():
    fake = FakeBakong().on(
        "check_transaction_by_md5", httpx.Response(200, text='{"responseCode": 0,')
    )
    with pytest.raises(PermanentError, match="not JSON"):
        client_for(fake).check_transaction_by_md5(md5=MD5)


def test_json_without_the_envelope_is_refused():
    fake = FakeBakong().on("check_transaction_by_md5", httpx.Response(200, json=[1]))
    with pytest.raises(PermanentError, match="envelope"):
        client_for(fake).check_transaction_by_md5(md5=MD5)


def test_found_without_a_hash_is_refused():
    fake = FakeBakong().on("check_transaction_by_md5", ok(tx_data(hash="")))
    with pytest.raises(PermanentError, match="no hash"):
        client_for(fake).check_transaction_by_md5(md5=MD5)


# -- access: tokens ---------------------------------------------------------------


def access_for(fake: FakeBakong, *, token: str = "old", email: str = "dev@shop.kh"):
    return BakongAccess(client=client_for(fake, token=token), email=email)


@pytest.mark.django_db
def test_a_401_renews_the_token_once_and_retries_with_it():
    # given Bakong refuses the old token once, then accepts the renewed one
    fake = (
        FakeBakong()
        .on("check_transaction_by_md5", httpx.Response(401, text="expired"), fail(1))
        .on("renew_token", ok({"token": "new-token"}))
    )
    # when
    result = access_for(fake).check_transaction_by_md5(md5=MD5)
    # then
    assert result.status is CheckStatus.NOT_FOUND
    assert len(fake.calls("renew_token")) == 1
    checks = fake.calls("check_transaction_by_md5")
    assert [c.headers["authorization"] for c in checks] == [
        "Bearer old",
        "Bearer new-token",
    ]
    state = BakongTokenState.objects.get(base_url=BASE)
    assert state.token == {"token": "new-token"}
    assert state.renewed_at is not None and state.last_error == ""


@pytest.mark.django_db
def test_error_code_6_renews_like_a_401():
    fake = (
        FakeBakong()
        .on("check_transaction_by_md5", fail(6), ok(tx_data()))
        .on("renew_token", ok({"token": "new-token"}))
    )
    result = access_for(fake).check_transaction_by_md5(md5=MD5)
    assert result.status is CheckStatus.FOUND
    assert len(fake.calls("renew_token")) == 1


@pytest.mark.django_db
def test_a_token_refused_again_after_renewal_is_not_renewed_twice():
    fake = (
        FakeBakong()
        .on("check_transaction_by_md5", httpx.Response(401, text="no"))
        .on("renew_token", ok({"token": "new-token"}))
    )
    with pytest.raises(BakongUnauthorized, match="401"):
        access_for(fake).check_transaction_by_md5(md5=MD5)
    assert len(fake.calls("renew_token")) == 1
    assert len(fake.calls("check_transaction_by_md5")) == 2


@pytest.mark.django_db
def test_a_failed_renewal_is_recorded_for_the_admin_and_raised():
    # given
    fake = (
        FakeBakong()
        .on("check_transaction_by_md5", httpx.Response(401, text="no"))
        .on("renew_token", fail(10, message="Not registered yet."))
    )
    # when
    with (
        freeze_time(NOW),
        pytest.raises(BakongUnauthorized, match="renewing the token failed"),
    ):
        access_for(fake).check_transaction_by_md5(md5=MD5)
    # then
    state = BakongTokenState.objects.get(base_url=BASE)
    assert "Not registered yet" in state.last_error
    assert state.last_error_at == NOW
    assert len(fake.calls("check_transaction_by_md5")) == 1


@pytest.mark.django_db
def test_without_a_renewal_email_the_failure_says_what_to_set():
    fake = FakeBakong().on("check_transaction_by_md5", httpx.Response(401, text="no"))
    with pytest.raises(BakongUnauthorized, match="BAKONG_EMAIL"):
        access_for(fake, email="").check_transaction_by_md5(md5=MD5)
    assert fake.calls("renew_token") == []
    assert "BAKONG_EMAIL" in BakongTokenState.objects.get(base_url=BASE).last_error


@pytest.mark.django_db
def test_the_stored_token_is_preferred_to_the_settings_token(settings):
    settings.BAKONG_TOKEN = "from-env"
    BakongTokenState.objects.create(base_url=BASE, token={"token": "from-db"})
    fake = FakeBakong().on("check_transaction_by_md5", fail(1))
    BakongAccess(
        client=client_for(fake, token="from-env"), email="x@y"
    ).check_transaction_by_md5(md5=MD5)
    assert fake.seen[0].headers["authorization"] == "Bearer from-db"


@pytest.mark.django_db
def test_a_token_near_its_exp_is_renewed_before_the_call():
    # given a stored 90-day token with 1 hour left (renewal is due inside 1 day)
    now = int(NOW.timestamp())
    stale = jwt(exp=now + 3600, iat=now - 90 * 86400 + 3600)
    fresh = jwt(exp=now + 90 * 86400, iat=now)
    BakongTokenState.objects.create(base_url=BASE, token={"token": stale})
    fake = (
        FakeBakong()
        .on("check_transaction_by_md5", fail(1))
        .on("renew_token", ok({"token": fresh}))
    )
    # when
    with freeze_time(NOW):
        access_for(fake, token="").check_transaction_by_md5(md5=MD5)
    # then the check went out with the renewed token; its exp is recorded
    assert [r.url.path.rsplit("/", 1)[-1] for r in fake.seen] == [
        "renew_token",
        "check_transaction_by_md5",
    ]
    assert fake.seen[1].headers["authorization"] == f"Bearer {fresh}"
    state = BakongTokenState.objects.get(base_url=BASE)
    assert state.expires_at == jwt_expires_at(fresh)
    assert state.expires_at == NOW + dt.timedelta(days=90)


@pytest.mark.django_db
def test_a_token_far_from_its_exp_is_not_renewed():
    now = int(NOW.timestamp())
    BakongTokenState.objects.create(
        base_url=BASE, token={"token": jwt(exp=now + 30 * 86400, iat=now - 86400)}
    )
    fake = FakeBakong().on("check_transaction_by_md5", fail(1))
    with freeze_time(NOW):
        access_for(fake, token="").check_transaction_by_md5(md5=MD5)
    assert fake.calls("renew_token") == []


@pytest.mark.django_db
def test_while_another_process_renews_the_new_token_is_used_without_renewing():
    # given another process holds the renewal lock and, while our call is being
    # refused, stores the token it renewed
    def refuse_while_the_other_process_renews(request):
        BakongTokenState.objects.create(base_url=BASE, token={"token": "theirs"})
        return httpx.Response(401, text="expired")

    fake = (
        FakeBakong()
        .on("check_transaction_by_md5", refuse_while_the_other_process_renews, fail(1))
        .on("renew_token", ok({"token": "mine"}))
    )
    access = access_for(fake)
    cache.add(access._k("renew_lock"), "1", timeout=30)
    # when
    access.check_transaction_by_md5(md5=MD5)
    # then
    assert fake.calls("renew_token") == []
    assert [r.headers["authorization"] for r in fake.seen] == [
        "Bearer old",
        "Bearer theirs",
    ]


# -- access: the 429 pause -----------------------------------------------------------


@pytest.mark.django_db
def test_a_429_pauses_every_call_to_the_provider_even_from_another_client():
    # given Bakong answers 429 with Retry-After: 30
    fake = (
        FakeBakong()
        .on(
            "check_transaction_by_md5",
            httpx.Response(429, headers={"Retry-After": "30"}, text="slow down"),
            fail(1),
        )
        .on("check_bakong_account", ok(None))
    )
    with freeze_time(NOW) as clock:
        with pytest.raises(RateLimited, match="429") as first:
            access_for(fake).check_transaction_by_md5(md5=MD5)
        assert first.value.retry_after == 30
        # when another client instance (another worker) calls 10 s later
        clock.tick(10)
        other = access_for(fake)
        with pytest.raises(ProviderPaused, match="Retry-After") as paused:
            other.check_bakong_account(account_id="shop_a@wing")
        # then nothing was sent, and it knows how long to wait
        assert paused.value.retry_after == pytest.approx(20, abs=0.01)
        assert len(fake.seen) == 1
        # and once the window has passed, calls go out again
        clock.tick(21)
        assert other.check_transaction_by_md5(md5=MD5).status is CheckStatus.NOT_FOUND
        assert len(fake.seen) == 2


@pytest.mark.django_db
def test_a_429_pause_does_not_stop_another_provider():
    fake = FakeBakong().on(
        "check_transaction_by_md5",
        httpx.Response(429, headers={"Retry-After": "30"}),
    )
    with pytest.raises(RateLimited):
        access_for(fake).check_transaction_by_md5(md5=MD5)
    other_fake = FakeBakong().on("check_transaction_by_md5", fail(1))
    other = BakongAccess(
        client=client_for(other_fake, base="https://other.example"), email="x@y"
    )
    assert other.check_transaction_by_md5(md5=MD5).status is CheckStatus.NOT_FOUND


@pytest.mark.django_db
def test_a_429_with_an_http_date_retry_after_pauses_until_then():
    when = NOW + dt.timedelta(seconds=45)
    fake = FakeBakong().on(
        "check_transaction_by_md5",
        httpx.Response(
            429, headers={"Retry-After": when.strftime("%a, %d %b %Y %H:%M:%S GMT")}
        ),
    )
    with freeze_time(NOW):
        access = access_for(fake)
        with pytest.raises(RateLimited):
            access.check_transaction_by_md5(md5=MD5)
        assert access.pause_remaining() == pytest.approx(45, abs=0.01)


# -- access: the circuit breaker -----------------------------------------------------


@pytest.mark.django_db
def test_consecutive_transient_failures_open_the_circuit_then_it_recovers():
    # given Bakong is down: 503 to every call
    fake = FakeBakong().on("check_transaction_by_md5", httpx.Response(503, text="down"))
    with freeze_time(NOW) as clock:
        access = access_for(fake)
        for _ in range(BREAKER_THRESHOLD):
            with pytest.raises(TransientError, match="503"):
                access.check_transaction_by_md5(md5=MD5)
        # when one more call is made
        with pytest.raises(CircuitOpen, match="circuit open") as opened:
            access_for(fake).check_transaction_by_md5(md5=MD5)
        # then it was not sent, and says when to come back
        assert len(fake.seen) == BREAKER_THRESHOLD
        assert opened.value.retry_after == pytest.approx(BREAKER_COOLDOWN, abs=0.01)
        # after the cool-down one trial goes out; a failure opens it again at once
        clock.tick(BREAKER_COOLDOWN + 1)
        with pytest.raises(TransientError, match="503"):
            access.check_transaction_by_md5(md5=MD5)
        with pytest.raises(CircuitOpen):
            access.check_transaction_by_md5(md5=MD5)
        assert len(fake.seen) == BREAKER_THRESHOLD + 1
        # and when Bakong is back, one success closes it
        clock.tick(BREAKER_COOLDOWN + 1)
        fake.on("check_transaction_by_md5", fail(1))
        access.check_transaction_by_md5(md5=MD5)
        access.check_transaction_by_md5(md5=MD5)
        assert access.breaker_remaining() == 0
        assert len(fake.seen) == BREAKER_THRESHOLD + 3


@pytest.mark.django_db
def test_a_success_resets_the_failure_count():
    fake = FakeBakong().on(
        "check_transaction_by_md5",
        *([httpx.Response(500)] * (BREAKER_THRESHOLD - 1)),
        fail(1),
        httpx.Response(500),
    )
    access = access_for(fake)
    for _ in range(BREAKER_THRESHOLD - 1):
        with pytest.raises(TransientError):
            access.check_transaction_by_md5(md5=MD5)
    access.check_transaction_by_md5(md5=MD5)
    with pytest.raises(TransientError, match="500"):
        access.check_transaction_by_md5(md5=MD5)
    assert access.breaker_remaining() == 0


@pytest.mark.django_db
def test_a_provider_without_bulk_is_remembered():
    fake = FakeBakong()  # 404 to everything
    access = access_for(fake)
    assert access.supports_bulk() is True
    with pytest.raises(BakongBulkUnsupported):
        access.check_transaction_by_md5_list(md5s=[MD5])
    assert access_for(fake).supports_bulk() is False


def test_the_bulk_setting_turns_bulk_off(settings):
    settings.BAKONG_BULK_MD5 = False
    assert access_for(FakeBakong()).supports_bulk() is False


def test_a_base_url_that_is_not_an_url_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="not an URL"):
        BakongClient(base_url="bakong.example", token="t")


@pytest.mark.django_db
def test_with_no_token_at_all_one_is_renewed_before_the_first_call(settings):
    settings.BAKONG_TOKEN = ""
    fake = (
        FakeBakong()
        .on("check_transaction_by_md5", fail(1))
        .on("renew_token", ok({"token": "first"}))
    )
    access_for(fake, token="").check_transaction_by_md5(md5=MD5)
    assert [r.url.path.rsplit("/", 1)[-1] for r in fake.seen] == [
        "renew_token",
        "check_transaction_by_md5",
    ]
    assert fake.seen[1].headers["authorization"] == "Bearer first"


def test_a_client_without_a_token_sends_no_authorization_header():
    fake = FakeBakong().on("check_transaction_by_md5", httpx.Response(401))
    with pytest.raises(BakongUnauthorized):
        client_for(fake, token="").check_transaction_by_md5(md5=MD5)
    assert "authorization" not in fake.seen[0].headers


@pytest.mark.django_db
def test_a_configured_pace_spaces_the_calls_out(settings, monkeypatch):
    # given at most 4 calls a second
    settings.BAKONG_MAX_REQUESTS_PER_SECOND = 4
    from payments import bakong_access

    waits = []
    monkeypatch.setattr(bakong_access.time, "sleep", waits.append)
    fake = FakeBakong().on("check_transaction_by_md5", fail(1))
    access = BakongAccess(
        client=client_for(fake, base="https://paced.example"), email="x@y"
    )
    # when three calls are made at once
    with freeze_time(NOW):
        for _ in range(3):
            access.check_transaction_by_md5(md5=MD5)
    # then the second and third waited their turn (a quarter second apart)
    assert waits == pytest.approx([0.25, 0.5], abs=0.01)
