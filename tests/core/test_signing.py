import contextlib
import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.signing import (
    SignatureError,
    body_signature_header,
    body_signature_verify,
    signature_header,
    signature_verify,
)

BODY = b'{"event":"transaction.paid"}'


def test_a_fresh_signature_verifies():
    header = signature_header(secret="whsec", body=BODY, timestamp=1_700_000_000)
    assert (
        signature_verify(header=header, secrets=["whsec"], body=BODY, now=1_700_000_100)
        == 1_700_000_000
    )


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_signature_outside_the_tolerance_is_refused_both_ways(skew):
    header = signature_header(secret="whsec", body=BODY, timestamp=1_700_000_000)
    with pytest.raises(SignatureError, match="tolerance"):
        signature_verify(
            header=header, secrets=["whsec"], body=BODY, now=1_700_000_000 + skew
        )


def test_a_forged_body_is_refused():
    header = signature_header(secret="whsec", body=BODY, timestamp=1_700_000_000)
    with pytest.raises(SignatureError, match="does not match"):
        signature_verify(
            header=header, secrets=["whsec"], body=BODY + b" ", now=1_700_000_000
        )


def test_any_of_several_v1_values_and_secrets_is_accepted_during_rotation():
    old = signature_header(secret="old", body=BODY, timestamp=1_700_000_000)
    new = signature_header(secret="new", body=BODY, timestamp=1_700_000_000)
    header = f"{old},v1={new.split('v1=')[1]}"
    assert signature_verify(
        header=header, secrets=["new"], body=BODY, now=1_700_000_000
    )
    assert signature_verify(
        header=header, secrets=["x", "old"], body=BODY, now=1_700_000_000
    )


@pytest.mark.parametrize("header", [None, "", "garbage", "t=abc,v1=00", "t=1", "v1=00"])
def test_malformed_headers_are_refused(header):
    with pytest.raises(SignatureError):
        signature_verify(header=header, secrets=["whsec"], body=BODY, now=1)


# --- strict parsing (issue 15, finding 1) ---------------------------------------


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("t=²,v1=" + "a" * 64, "ASCII digits"),  # "²".isdigit() is True
        ("t=١٧٠٠٠٠٠٠٠٠,v1=" + "a" * 64, "ASCII digits"),  # Arabic-Indic digits
        ("t=" + "9" * 5000 + ",v1=aa", "longer than 1024"),
        ("t=" + "9" * 13 + ",v1=" + "a" * 64, "at most 12"),
        ("t=1,t=2,v1=" + "a" * 64, "more than one t="),
        ("t=1,v1=é" + "a" * 63, "64-character hex"),  # compare_digest refuses non-ASCII
        ("t=1,v1=aa", "64-character hex"),
        ("t=1," + ",".join(["v1=" + "a" * 64] * 9), "more than 8 v1"),
        ("t=1," + ",".join(["x=1"] * 16), "more than 16 parts"),
    ],
)
def test_malformed_headers_are_refused_with_the_reason(header, message):
    # when / then
    with pytest.raises(SignatureError, match=message):
        signature_verify(header=header, secrets=["whsec"], body=BODY, now=1)


def test_unknown_schemes_beside_v1_are_ignored():
    # given a sender that also signs with a scheme we do not know
    header = signature_header(secret="whsec", body=BODY, timestamp=1_700_000_000)
    # when / then
    assert signature_verify(
        header=f"{header},v0=whatever", secrets=["whsec"], body=BODY, now=1_700_000_000
    )


@settings(max_examples=400, deadline=None)
@given(header=st.text(max_size=300))
def test_any_text_as_a_tonle_header_verifies_or_raises_signature_error(header):
    # given any text at all (a header is whatever the network sends)
    # when / then: only SignatureError escapes
    with contextlib.suppress(SignatureError):
        signature_verify(header=header, secrets=["whsec"], body=BODY, now=1)


@settings(max_examples=300, deadline=None)
@given(
    timestamp=st.text(
        alphabet=st.characters(categories=("Nd", "No")), min_size=1, max_size=20
    ),
    digests=st.lists(st.text(max_size=70), max_size=10),
)
def test_header_shaped_text_with_any_digits_raises_only_signature_error(
    timestamp, digests
):
    # given headers of the right shape with unicode digits and odd v1 values
    header = ",".join([f"t={timestamp}", *(f"v1={d}" for d in digests)])
    # when / then
    with contextlib.suppress(SignatureError):
        signature_verify(header=header, secrets=["whsec"], body=BODY, now=1)


@settings(max_examples=300, deadline=None)
@given(header=st.text(max_size=300))
def test_any_text_as_a_sha256_header_verifies_or_raises_signature_error(header):
    with contextlib.suppress(SignatureError):
        body_signature_verify(header=header, secrets=["whsec"], body=BODY)


# --- the Hattha brief's X-Signature: sha256=<hex> ---------------------------------


def test_a_body_signature_verifies_against_the_raw_body():
    # given the brief's scheme: HMAC-SHA256 of the raw body, hex, no timestamp
    expected = hmac.new(b"whsec", BODY, hashlib.sha256).hexdigest()
    header = body_signature_header(secret="whsec", body=BODY)
    # when / then
    assert header == f"sha256={expected}"
    body_signature_verify(header=header, secrets=["x", "whsec"], body=BODY)
    body_signature_verify(
        header=header.upper().replace("SHA256=", "sha256="),
        secrets=["whsec"],
        body=BODY,
    )


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "missing"),
        ("", "missing"),
        ("a" * 64, "sha256=<hex"),
        ("sha1=" + "a" * 40, "sha256=<hex"),
        ("sha256=" + "a" * 63, "64-character hex"),
        ("sha256=" + "g" * 64, "64-character hex"),
        ("sha256=" + "a" * 2000, "longer than 1024"),
    ],
)
def test_malformed_body_signatures_are_refused(header, message):
    with pytest.raises(SignatureError, match=message):
        body_signature_verify(header=header, secrets=["whsec"], body=BODY)


def test_a_body_signature_over_another_body_or_secret_does_not_match():
    header = body_signature_header(secret="whsec", body=BODY)
    with pytest.raises(SignatureError, match="does not match"):
        body_signature_verify(header=header, secrets=["whsec"], body=BODY + b" ")
    with pytest.raises(SignatureError, match="does not match"):
        body_signature_verify(header=header, secrets=["other"], body=BODY)
