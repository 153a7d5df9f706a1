"""Tonle against the NBC SDK on the committed fixtures: same string, same error."""

from __future__ import annotations

from fnmatch import fnmatch

import pytest

from payments.khqr import KhqrDecodeError, KhqrError, decode, encode, parse, verify
from payments.khqr.cli import fields_from_mapping

from . import sdk_fixtures

ENCODE = sdk_fixtures.encode_cases()
DECODE = sdk_fixtures.decode_cases()
SAME_ENCODE = [c for c in ENCODE if not c["difference"]]
DIFFERENT_ENCODE = [c for c in ENCODE if c["difference"]]


def _well_formed(qr):
    try:
        parse(qr)
    except KhqrDecodeError:
        return False
    return True


SAME_DECODE = [c for c in DECODE if not c["difference"] and _well_formed(c["qr"])]
# The SDK "decodes" these into junk; Tonle refuses them and says what is wrong.
MALFORMED = [c for c in DECODE if not c["difference"] and not _well_formed(c["qr"])]
NOT_KHQR = [c for c in DECODE if c["difference"] == "not_khqr"]


def _ids(cases):
    return [f"{c['id']} {c['name']}" for c in cases]


def _encode(case):
    return encode(fields_from_mapping(case["fields"]), now_ms=case["now_ms"])


def test_fixtures_hold_several_hundred_cases_of_every_kind():
    # given / when
    valid = [c for c in SAME_ENCODE if "qr" in c["sdk"]]
    invalid = [c for c in SAME_ENCODE if "error" in c["sdk"]]
    khmer = [
        c for c in valid if any("\u1780" <= ch <= "\u17ff" for ch in c["sdk"]["qr"])
    ]
    # then
    assert len(valid) >= 300
    assert len(invalid) >= 100
    assert len(khmer) >= 50
    assert len(DECODE) >= 300
    assert {c["fields"].get("type") for c in valid} == {"individual", "merchant"}


@pytest.mark.parametrize("case", SAME_ENCODE, ids=_ids(SAME_ENCODE))
def test_encode_answers_as_the_sdk_does(case):
    # given
    expected = case["sdk"]
    assert "crash" not in expected, "an SDK crash must be listed as a difference"
    # when
    if "error" in expected:
        with pytest.raises(KhqrError) as raised:
            _encode(case)
        # then
        assert (raised.value.code, raised.value.message) == (
            expected["error"]["code"],
            expected["error"]["message"],
        )
    else:
        result = _encode(case)
        # then
        assert result.qr == expected["qr"]
        assert result.md5 == expected["md5"]
        assert expected["sdk_verify"] is True, "the SDK rejects its own code"


@pytest.mark.parametrize("case", DIFFERENT_ENCODE, ids=_ids(DIFFERENT_ENCODE))
def test_encode_refuses_what_the_sdk_gets_wrong(case):
    # given
    expected = sdk_fixtures.DIFFERENCES[case["difference"]]
    # when
    with pytest.raises(KhqrError) as raised:
        _encode(case)
    # then
    assert fnmatch(raised.value.name, expected)
    assert raised.value.detail


@pytest.mark.parametrize("case", SAME_DECODE, ids=_ids(SAME_DECODE))
def test_decode_gives_the_sdk_fields(case):
    # given
    sdk = case["sdk_decode"]
    assert sdk != "hang" and "crash" not in sdk
    # when
    ours = decode(case["qr"]).as_dict()
    # then
    expected = sdk_fixtures.sdk_decode_as_tonle(sdk)
    assert {k: ours[k] for k in expected} == expected


@pytest.mark.parametrize("case", SAME_DECODE, ids=_ids(SAME_DECODE))
def test_verify_agrees_with_the_sdk(case):
    # when
    ours = verify(case["qr"], now_ms=case["now_ms"])
    # then
    assert ours.valid is case["sdk_verify"], ours.reason


@pytest.mark.parametrize("case", MALFORMED, ids=_ids(MALFORMED))
def test_decode_refuses_malformed_strings_the_sdk_turns_into_junk(case):
    # when
    with pytest.raises(KhqrDecodeError) as raised:
        decode(case["qr"])
    # then
    assert raised.value.detail
    assert case["sdk_verify"] is False
    assert verify(case["qr"]).reason_code == "KHQR_INVALID"


@pytest.mark.parametrize("case", NOT_KHQR, ids=_ids(NOT_KHQR))
def test_promptpay_codes_decode_but_are_not_khqr(case):
    # when
    ours = decode(case["qr"])
    # then
    assert ours.scheme == "promptpay"
    assert ours.crc_valid
    assert ours.currency == "THB"
    assert not ours.is_khqr
    assert not verify(case["qr"])


# Decoding differences: what the SDK did (recorded in the fixture) -> Tonle's answer.
DECODE_DIFFERENCES = {
    "sdk_hangs": ("hang", "KHQR_INVALID"),
    "sdk_junk_keys": (True, "KHQR_INVALID"),
    "country_not_kh": (True, "KHQR_INVALID"),
    "duplicate_tag": (True, "KHQR_INVALID"),
    "amount_not_plain_decimal": (True, "TRANSACTION_AMOUNT_INVALID"),
}
DIFFERENT_DECODE = [c for c in DECODE if c["difference"] in DECODE_DIFFERENCES]


@pytest.mark.parametrize("case", DIFFERENT_DECODE, ids=_ids(DIFFERENT_DECODE))
def test_verify_refuses_what_the_sdk_hangs_on_or_accepts(case):
    # given
    sdk_verify, reason_code = DECODE_DIFFERENCES[case["difference"]]
    assert case["sdk_verify"] == sdk_verify
    # when
    result = verify(case["qr"], now_ms=case["now_ms"])
    # then
    assert not result.valid
    assert result.reason_code == reason_code
    if case["difference"] in ("sdk_hangs", "sdk_junk_keys"):
        with pytest.raises(KhqrDecodeError):
            decode(case["qr"])
