"""Decoding and verifying: malformed strings, codes that break KHQR rules, ThaiQR."""

from __future__ import annotations

import pytest

from payments.khqr import (
    KhqrDecodeError,
    KhqrFields,
    crc16,
    decode,
    encode,
    parse,
    verify,
)

NOW = 1_767_225_600_000
LATER = NOW + 3_600_000
STATIC = (
    "00020101021129180014jonhsmith@nbcq5204599953031165802KH5910Jonh Smith"
    "6010Phnom Penh6304856B"
)


def with_crc(body: str) -> str:
    return body + "6304" + crc16(body + "6304")


def dynamic_code(**overrides) -> str:
    values = {
        "bakong_account_id": "jonhsmith@nbcq",
        "merchant_name": "Jonh Smith",
        "amount": 100,
        "expiration_ms": LATER,
    }
    return encode(KhqrFields(**(values | overrides)), now_ms=NOW).qr


def test_decode_reads_every_field_of_a_static_code():
    # when
    decoded = decode(STATIC)
    # then
    assert decoded.scheme == "khqr"
    assert decoded.type == "individual"
    assert decoded.point_of_initiation == "static"
    assert decoded.bakong_account_id == "jonhsmith@nbcq"
    assert decoded.currency == "KHR"
    assert decoded.amount is None
    assert (decoded.crc, decoded.crc_valid, decoded.is_khqr) == ("856B", True, True)


def test_decode_gives_the_amount_as_written_and_the_timestamps_as_ints():
    # given
    qr = dynamic_code(currency="USD", amount="12.5")
    # when
    decoded = decode(qr)
    # then
    assert decoded.amount == "12.50"
    assert decoded.currency == "USD"
    assert (decoded.created_ms, decoded.expiration_ms) == (NOW, LATER)
    assert decoded.is_dynamic


def test_decode_exposes_nested_templates_in_the_tag_tree():
    # given
    qr = dynamic_code(bill_number="INV-1", store_label="Main")
    # when
    tags = {t.tag: t for t in decode(qr).tags}
    # then
    assert [(c.tag, c.value) for c in tags["62"].children] == [
        ("01", "INV-1"),
        ("03", "Main"),
    ]
    assert tags["99"].children[1].value == str(LATER)
    assert tags["59"].children is None


def test_decode_keeps_characters_outside_the_basic_plane_whole():
    # given
    qr = dynamic_code(merchant_name="Tea \U0001f375 Shop")
    # when
    decoded = decode(qr)
    # then
    assert decoded.merchant_name == "Tea \U0001f375 Shop"
    assert decoded.is_khqr


def test_decode_accepts_a_lowercase_crc_as_the_sdk_does():
    # given
    qr = STATIC[:-4] + STATIC[-4:].lower()
    # when / then
    assert decode(qr.replace("856B", "856b")).crc_valid
    assert verify(qr.replace("856B", "856b"))


@pytest.mark.parametrize(
    ("qr", "message"),
    [
        ("", "empty"),
        ("0002010", "truncated data object at offset 6"),
        ("000201010211295", "shorter than an id and a length"),
        ("00020101021129990014a@b", "tag 29 at offset 12 says 99 characters"),
        ("00AB01", "length 'AB' of tag 00 at offset 0"),
        ("AB020101", "id 'AB' at offset 0 is not two digits"),
        ("00020101021129180015jonhsmith@nbcq", "tag 00 in template 29 at offset 0"),
        ("0002010102112906001xab", "length '1x' of tag 00 in template 29"),
        ("00020101021262060105abcd", "in template 62"),
        (STATIC + "0000", "4 characters of junk after the CRC"),
        (STATIC + "9", "junk after the CRC"),
        ("00\u0661\u066201", "length '\u0661\u0662' of tag 00"),
    ],
)
def test_decode_names_what_is_wrong_with_malformed_strings(qr, message):
    # when / then
    with pytest.raises(KhqrDecodeError, match=message) as raised:
        decode(qr)
    assert raised.value.code == 8
    assert not verify(qr)


def test_decode_refuses_a_nested_template_that_overruns_without_hanging():
    # given: the SDK loops forever on a subtag whose length is not a number
    qr = with_crc(STATIC[:-8] + "6204" + "01ab")
    # when / then
    with pytest.raises(KhqrDecodeError, match="length 'ab' of tag 01 in template 62"):
        decode(qr)


def test_decode_refuses_non_text_and_unpaired_surrogates():
    # when / then
    with pytest.raises(KhqrDecodeError, match="text, not bytes"):
        decode(STATIC.encode())
    with pytest.raises(KhqrDecodeError, match="unpaired surrogate"):
        decode(STATIC[:-10] + "\ud800" + STATIC[-9:])


@pytest.mark.parametrize(
    ("qr", "reason_code", "reason"),
    [
        (STATIC[:-4] + "0000", "KHQR_INVALID", "CRC is 0000, the data says 856B"),
        (STATIC[:-8], "CRC_TAG_REQUIRED", "no CRC"),
        (
            with_crc(STATIC[:-8] + "5802KH"),
            "KHQR_INVALID",
            "tag 58 appears more than once",
        ),
        (
            with_crc(STATIC[:-8].replace("5802KH", "5802TH")),
            "KHQR_INVALID",
            "country code 'TH' is not KH",
        ),
        (
            with_crc(STATIC[:-8].replace("5303116", "5303764")),
            "UNSUPPORTED_CURRENCY",
            "'764'",
        ),
        (
            with_crc(STATIC[:-8].replace("010211", "010212") + "5403100"),
            "EXPIRATION_TIMESTAMP_REQUIRED",
            "tag 99",
        ),
        (
            with_crc(STATIC[:-8].replace("010211", "010212")),
            "INVALID_DYNAMIC_KHQR",
            "no amount",
        ),
        (
            with_crc(
                STATIC[:-8].replace("5303116", "53031165405NaN.0") + f"99170013{NOW}"
            ),
            "TRANSACTION_AMOUNT_INVALID",
            "NaN",
        ),
        (
            with_crc(STATIC[:-8].replace("5204", "30100006x@bank5204")),
            "KHQR_INVALID",
            "both tag 29 (individual) and tag 30 (merchant)",
        ),
        (
            with_crc("010211000201" + STATIC[12:-8]),
            "KHQR_INVALID",
            "tag 00) is not first",
        ),
        (
            with_crc(
                STATIC[:-8].replace("0014jonhsmith@nbcq", "0014jonhsmith@nbcq0100")
            ),
            "KHQR_INVALID",
            "",
        ),
    ],
)
def test_decode_flags_well_formed_codes_that_break_khqr_rules(qr, reason_code, reason):
    # when
    decoded = decode(qr)
    # then
    assert not decoded.is_khqr
    assert decoded.reason_code == reason_code
    assert reason in decoded.reason
    assert not verify(qr)


def test_decode_flags_a_wrong_crc_but_still_reads_the_fields():
    # given
    qr = STATIC[:-4] + "ABCD"
    # when
    decoded = decode(qr)
    # then
    assert decoded.merchant_name == "Jonh Smith"
    assert decoded.crc_valid is False


def test_verify_fails_an_expired_dynamic_code_that_decodes_as_khqr():
    # given
    qr = dynamic_code()
    # when
    decoded = decode(qr)
    result = verify(qr, now_ms=LATER + 1)
    # then
    assert decoded.is_khqr
    assert verify(qr, now_ms=NOW)
    assert (result.valid, result.reason_code) == (False, "KHQR_EXPIRED")


def tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def test_decode_reads_a_promptpay_credit_transfer():
    # given
    account = tlv("00", "A000000677010111") + tlv("01", "0066812345678")
    qr = with_crc(
        "000201010212" + tlv("29", account) + "5303764" + tlv("54", "50.00") + "5802TH"
    )
    # when
    decoded = decode(qr)
    # then
    assert decoded.scheme == "promptpay"
    assert decoded.promptpay.kind == "mobile"
    assert decoded.promptpay.proxy == "0066812345678"
    assert (decoded.currency, decoded.amount, decoded.country_code) == (
        "THB",
        "50.00",
        "TH",
    )
    assert decoded.crc_valid and not decoded.is_khqr
    assert "PromptPay" in decoded.reason


def test_decode_reads_a_promptpay_bill_payment():
    # given
    biller = (
        tlv("00", "A000000677010112")
        + tlv("01", "010555012345601")
        + tlv("02", "INV0001")
        + tlv("03", "REF2")
    )
    qr = with_crc(
        "000201010212"
        + tlv("30", biller)
        + "5303764"
        + tlv("54", "1000.00")
        + "5802TH"
        + tlv("59", "SIAM SHOP CO LTD")
        + tlv("60", "BANGKOK")
    )
    # when
    decoded = decode(qr)
    # then
    assert decoded.promptpay.kind == "bill_payment"
    assert decoded.promptpay.biller_id == "010555012345601"
    assert decoded.promptpay.reference_1 == "INV0001"
    assert decoded.promptpay.reference_2 == "REF2"
    assert decoded.merchant_name == "SIAM SHOP CO LTD"
    assert decoded.type is None


def test_parse_keeps_an_unparseable_unreserved_template_as_a_plain_value():
    # given: tag 80 holds a value that is not TLV
    qr = with_crc(STATIC[:-8] + "8003xyz")
    # when
    tags = {t.tag: t for t in parse(qr)}
    # then
    assert tags["80"].value == "xyz"
    assert tags["80"].children is None
    assert decode(qr).is_khqr
