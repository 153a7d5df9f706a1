import pytest

from core.exceptions import Conflict, Forbidden, InvalidInput, Unauthorized
from merchants.models import ApiKey, AuditEvent
from merchants.services import (
    account_create,
    api_key_authenticate,
    api_key_create,
    api_key_revoke,
    member_create,
    merchant_create,
)


def test_merchant_create_rejects_a_bakong_id_without_a_bank(db):
    with pytest.raises(InvalidInput, match="bakong_account_id"):
        merchant_create(legal_name="X", bakong_account_id="no-bank")


def test_merchant_create_writes_an_audit_event(db):
    merchant = merchant_create(legal_name="Lotus Mart", bakong_account_id="lotus@aba")
    assert (
        AuditEvent.objects.for_merchant(merchant)
        .filter(action="merchant.created")
        .exists()
    )


def test_account_create_rejects_an_unknown_provider(merchant):
    with pytest.raises(InvalidInput, match="provider"):
        account_create(
            merchant=merchant, provider="citibank", currency="USD", number="1"
        )


def test_account_create_twice_is_a_conflict_naming_the_field(merchant):
    account_create(merchant=merchant, provider="aba", currency="USD", number="42")
    with pytest.raises(Conflict, match="number"):
        account_create(merchant=merchant, provider="aba", currency="USD", number="42")


def test_member_create_refuses_an_unknown_role(merchant):
    with pytest.raises(InvalidInput, match="role"):
        member_create(merchant=merchant, username="x", password="pw", role="boss")


def test_api_key_is_stored_as_a_hash_and_shown_once(merchant):
    # when
    api_key, plaintext = api_key_create(merchant=merchant)
    # then
    prefix, secret = plaintext.split(".")
    assert prefix.startswith("tonle_live_")
    assert secret not in ApiKey.objects.get(pk=api_key.pk).secret_hash
    assert api_key_authenticate(raw_key=plaintext).merchant == merchant


def test_test_keys_carry_the_test_prefix(merchant):
    _, plaintext = api_key_create(merchant=merchant, is_test=True)
    assert plaintext.startswith("tonle_test_")
    assert api_key_authenticate(raw_key=plaintext).is_test


@pytest.mark.parametrize(
    "raw", ["", "garbage", "tonle_live_abc", "tonle_live_nothere.secret", "sk_live_x.y"]
)
def test_api_key_authenticate_refuses_malformed_or_unknown_keys(db, raw):
    with pytest.raises(Unauthorized):
        api_key_authenticate(raw_key=raw)


def test_api_key_with_a_wrong_secret_is_refused(merchant):
    _, plaintext = api_key_create(merchant=merchant)
    with pytest.raises(Unauthorized, match="not valid"):
        api_key_authenticate(raw_key=plaintext[:-2] + "xx")


def test_revoked_key_is_refused(merchant):
    api_key, plaintext = api_key_create(merchant=merchant)
    api_key_revoke(merchant=merchant, api_key_id=api_key.pk)
    with pytest.raises(Forbidden, match="revoked"):
        api_key_authenticate(raw_key=plaintext)
