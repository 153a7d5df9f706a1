import pytest

from core.signing import SignatureError, signature_header, signature_verify

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
