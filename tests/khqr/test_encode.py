"""Encoding: the SDK's strings, and Tonle's refusals where the SDK is wrong."""

from __future__ import annotations

from decimal import Decimal

import pytest

from payments.khqr import KhqrError, KhqrFields, decode, encode, verify

NOW = 1_767_225_600_000
LATER = NOW + 3_600_000


def fields(**overrides) -> KhqrFields:
    values = {
        "bakong_account_id": "jonhsmith@nbcq",
        "merchant_name": "Jonh Smith",
        "merchant_city": "Phnom Penh",
    }
    return KhqrFields(**(values | overrides))


def test_encode_static_individual_code_is_the_sdk_string():
    # given
    info = fields()
    # when
    result = encode(info, now_ms=NOW)
    # then
    assert result.qr == (
        "00020101021129180014jonhsmith@nbcq5204599953031165802KH5910Jonh Smith"
        "6010Phnom Penh6304856B"
    )
    assert result.md5 == "cba0b1de19ac736653267fc127e08b92"


def test_encode_dynamic_code_writes_amount_and_both_timestamps():
    # given
    info = fields(amount=Decimal("50000"), expiration_ms=LATER)
    # when
    qr = encode(info, now_ms=NOW).qr
    # then
    assert qr.startswith("000201010212")
    assert "5405500005802KH" in qr
    assert f"99340013{NOW}0113{LATER}6304" in qr


def test_encode_writes_created_ms_when_given():
    # given
    info = fields(amount=100, expiration_ms=LATER, created_ms=NOW - 5)
    # when
    decoded = decode(encode(info, now_ms=NOW).qr)
    # then
    assert (decoded.created_ms, decoded.expiration_ms) == (NOW - 5, LATER)


def test_encode_merchant_code_uses_tag_30_with_id_and_bank():
    # given
    info = fields(type="merchant", merchant_id="123456", acquiring_bank="Dev Bank")
    # when
    qr = encode(info, now_ms=NOW).qr
    # then
    assert "30400014jonhsmith@nbcq01061234560208Dev Bank52" in qr


def test_encode_pads_usd_amounts_to_two_places_and_keeps_whole_dollars():
    # given / when
    one_and_half = encode(
        fields(currency="USD", amount=Decimal("1.5"), expiration_ms=LATER), now_ms=NOW
    )
    one = encode(fields(currency="USD", amount=1, expiration_ms=LATER), now_ms=NOW)
    # then
    assert "54041.50" in one_and_half.qr
    assert "54011" in one.qr


def test_encode_counts_lengths_as_the_sdk_does_in_utf16_units():
    # given: Khmer is one unit a character, an emoji two
    info = fields(
        merchant_name="Coffee \U0001f600",
        language_preference="km",
        merchant_name_alternate_language="ចន ស្មីន",
    )
    # when
    qr = encode(info, now_ms=NOW).qr
    # then
    assert "5909Coffee \U0001f600" in qr
    assert "0108ចន ស្មីន" in qr
    assert verify(qr).valid


@pytest.mark.parametrize(
    "amount",
    [
        Decimal("NaN"),
        Decimal("Infinity"),
        "1,000",
        "1e21",
        Decimal("1E+21"),
        "abc",
        "0x10",
        " 12",
        "-5",
        Decimal("-0.01"),
    ],
)
def test_encode_refuses_amounts_that_are_not_plain_positive_decimals(amount):
    # given
    info = fields(currency="USD", amount=amount, expiration_ms=LATER)
    # when
    with pytest.raises(KhqrError, match="Amount is invalid") as raised:
        encode(info, now_ms=NOW)
    # then
    assert raised.value.code == 4
    assert raised.value.field == "amount"


def test_encode_refuses_float_amounts():
    # given
    info = fields(currency="USD", amount=1.5, expiration_ms=LATER)
    # when / then
    with pytest.raises(KhqrError, match="never a float"):
        encode(info, now_ms=NOW)


def test_encode_refuses_fractional_riel():
    # given
    info = fields(currency="KHR", amount=Decimal("1000.50"), expiration_ms=LATER)
    # when / then
    with pytest.raises(KhqrError, match="fractional riel"):
        encode(info, now_ms=NOW)


def test_encode_refuses_a_template_over_99_characters_instead_of_three_digits():
    # given: four additional-data fields of 25 characters make 116
    info = fields(
        bill_number="B" * 25,
        mobile_number="1" * 25,
        store_label="S" * 25,
        terminal_label="T" * 25,
    )
    # when
    with pytest.raises(KhqrError) as raised:
        encode(info, now_ms=NOW)
    # then
    assert raised.value.name == "TEMPLATE_LENGTH_INVALID"
    assert "tag 62 would be 116 characters" in str(raised.value)


def test_encode_reports_the_sdk_error_before_an_overlong_template():
    # given: the SDK stops at the bad amount before it writes the long template
    info = fields(
        bill_number="B" * 25,
        mobile_number="1" * 25,
        store_label="S" * 25,
        terminal_label="T" * 25,
        amount=-3,
        expiration_ms=LATER,
    )
    # when / then
    with pytest.raises(KhqrError, match="Amount is invalid"):
        encode(info, now_ms=NOW)


def test_encode_requires_language_preference_with_an_alternate_name():
    # given: the SDK crashes on this and returns a TypeError as the "code"
    info = fields(merchant_name_alternate_language="ចន")
    # when / then
    with pytest.raises(KhqrError, match="Language Preference cannot be null"):
        encode(info, now_ms=NOW)


@pytest.mark.parametrize(
    ("overrides", "code", "message"),
    [
        ({"bakong_account_id": None}, 1, "Bakong Account ID cannot be null or empty"),
        ({"bakong_account_id": "nobank"}, 3, "Bakong Account ID is invalid"),
        ({"bakong_account_id": "a" * 30 + "@bc"}, 6, "Bakong Account ID Length"),
        ({"merchant_name": ""}, 2, "Merchant name cannot be null or empty"),
        ({"merchant_name": "x" * 26}, 7, "Merchant Name Length is invalid"),
        ({"currency": "THB"}, 28, "Unsupported currency"),
        ({"amount": 100}, 45, "Expiration timestamp is required for dynamic KHQR"),
        ({"amount": 100, "expiration_ms": NOW - 1}, 50, "Expiration timestamp is in"),
        ({"amount": 100, "expiration_ms": 12345}, 49, "Expiration timestamp length"),
        ({"merchant_category_code": "59a9"}, 51, "Invalid merchant category code"),
    ],
)
def test_encode_raises_the_sdk_error_code_and_message(overrides, code, message):
    # given
    info = fields(**overrides)
    # when
    with pytest.raises(KhqrError, match=message) as raised:
        encode(info, now_ms=NOW)
    # then
    assert raised.value.code == code


def test_encode_refuses_an_unknown_merchant_type():
    # given
    info = fields(type="shop")
    # when / then
    with pytest.raises(KhqrError, match="individual or merchant"):
        encode(info, now_ms=NOW)


def test_encode_refuses_text_that_is_not_unicode():
    # given
    info = fields(merchant_name="bad \ud800")
    # when / then
    with pytest.raises(KhqrError, match="surrogate"):
        encode(info, now_ms=NOW)


def test_encode_checks_expiry_against_now_by_default():
    # given: an expiration long past
    info = fields(
        amount=100, expiration_ms=1_600_000_000_000, created_ms=1_500_000_000_000
    )
    # when / then
    with pytest.raises(KhqrError, match="This dynamic KHQR has expired"):
        encode(info)


# The SDK's README passes merchantID as a JSON number, and the SDK writes a number
# given for any of its text fields as its digits: Tonle accepts ints there too.
@pytest.mark.parametrize(
    ("overrides", "as_text"),
    [
        (
            {"type": "merchant", "merchant_id": 1243546472, "acquiring_bank": "B"},
            {"merchant_id": "1243546472"},
        ),
        (
            {"type": "merchant", "merchant_id": "M1", "acquiring_bank": 12345},
            {"acquiring_bank": "12345"},
        ),
        ({"bill_number": 20260001}, {"bill_number": "20260001"}),
        ({"bill_number": -7}, {"bill_number": "-7"}),
        ({"mobile_number": 85512345678}, {"mobile_number": "85512345678"}),
        (
            {"store_label": 7, "terminal_label": 2},
            {"store_label": "7", "terminal_label": "2"},
        ),
        ({"purpose_of_transaction": 42}, {"purpose_of_transaction": "42"}),
        ({"account_information": 12345}, {"account_information": "12345"}),
        ({"merchant_name": 12345}, {"merchant_name": "12345"}),
        ({"merchant_city": 12345}, {"merchant_city": "12345"}),
        ({"upi_merchant_account": 12345678}, {"upi_merchant_account": "12345678"}),
    ],
)
def test_encode_writes_an_int_text_field_as_its_digits(overrides, as_text):
    # when
    with_int = encode(fields(**overrides), now_ms=NOW)
    # then: the very code the digits as text give
    assert with_int == encode(fields(**(overrides | as_text)), now_ms=NOW)


@pytest.mark.parametrize(
    ("overrides", "same_as"),
    [
        ({"bill_number": 0}, {}),
        ({"merchant_city": 0}, {"merchant_city": "Phnom Penh"}),
    ],
)
def test_encode_reads_the_int_zero_in_a_text_field_as_empty(overrides, same_as):
    # then: as the SDK, which drops 0 with the empty values
    assert encode(fields(**overrides), now_ms=NOW) == encode(
        fields(**same_as), now_ms=NOW
    )


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"merchant_name": 0}, "MERCHANT_NAME_REQUIRED"),
        (
            {"type": "merchant", "merchant_id": 0, "acquiring_bank": "B"},
            "MERCHANT_ID_REQUIRED",
        ),
    ],
)
def test_encode_reads_the_int_zero_in_a_required_field_as_missing(overrides, error):
    # when / then
    with pytest.raises(KhqrError, match="cannot be null or empty") as raised:
        encode(fields(**overrides), now_ms=NOW)
    assert raised.value.name == error


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("merchant_id", 12.5),
        ("merchant_id", Decimal("12")),
        ("merchant_id", True),
        ("bill_number", False),
        ("store_label", 1.5),
        ("merchant_name", True),
        ("bakong_account_id", 12345),
    ],
)
def test_encode_refuses_a_fraction_or_boolean_for_a_text_field(field, value):
    # given
    merchant = {"type": "merchant", "merchant_id": "M1", "acquiring_bank": "B"}
    info = fields(**(merchant | {field: value}))
    # when / then
    with pytest.raises(KhqrError, match="Field has the wrong type") as raised:
        encode(info, now_ms=NOW)
    assert raised.value.field == field


def test_encode_checks_the_length_of_an_int_in_a_text_field():
    # when / then: the SDK skips its length check for numbers; Tonle does not
    with pytest.raises(KhqrError, match="Language Preference Length is invalid"):
        encode(
            fields(language_preference=123, merchant_name_alternate_language="ចន"),
            now_ms=NOW,
        )
