"""Properties: decode(encode(x)) == x for every valid x; the decoder only ever
raises its own error, on random and on mutated strings, and never hangs."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from payments.khqr import (
    KhqrDecodeError,
    KhqrError,
    KhqrFields,
    cli,
    decode,
    encode,
    verify,
)

NOW = 1_767_225_600_000
KHMER = "កខគឃងចឆជឈញដឋឌឍណតថទធនបផពភមយរលវសហឡអាិីឹឺុូួើឿៀេែៃោៅំះ្៛"
LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.#/&@"
PROPERTY = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def text(max_size: int, *, khmer: bool = True, min_size: int = 1):
    alphabet = LATIN + KHMER if khmer else LATIN
    return st.text(alphabet=alphabet, min_size=min_size, max_size=max_size)


def optional(strategy):
    return st.one_of(st.none(), strategy)


@st.composite
def khqr_fields(draw) -> KhqrFields:
    merchant = draw(st.booleans())
    currency = draw(st.sampled_from(["KHR", "USD"]))
    amount = None
    expiration = None
    if draw(st.booleans()):
        if currency == "KHR":
            amount = Decimal(draw(st.integers(1, 10**12)))
        else:
            amount = Decimal(draw(st.integers(1, 10**10))) / 100
        expiration = NOW + draw(st.integers(1, 10**10))
    name = draw(optional(text(25)))
    language = None
    if name is not None:
        language = draw(st.sampled_from(["km", "th", "zh"]))
    bank_required = merchant
    return KhqrFields(
        type="merchant" if merchant else "individual",
        bakong_account_id=draw(text(20, khmer=False)).replace("@", "") + "@bank",
        merchant_name=draw(text(25)),
        merchant_city=draw(optional(text(15))),
        merchant_id=draw(text(20, khmer=False)) if merchant else None,
        acquiring_bank=draw(text(20)) if bank_required else draw(optional(text(20))),
        account_information=None if merchant else draw(optional(text(20))),
        amount=amount,
        currency=currency,
        bill_number=draw(optional(text(20))),
        mobile_number=draw(optional(st.text("0123456789", min_size=1, max_size=12))),
        store_label=draw(optional(text(20))),
        terminal_label=draw(optional(text(20))),
        purpose_of_transaction=draw(optional(text(20))),
        language_preference=language,
        merchant_name_alternate_language=name,
        merchant_city_alternate_language=draw(optional(text(15))),
        upi_merchant_account=(
            draw(optional(text(30, khmer=False))) if currency == "KHR" else None
        ),
        merchant_category_code=draw(
            optional(st.text("0123456789", min_size=4, max_size=4))
        ),
        expiration_ms=expiration,
    )


@PROPERTY
@given(khqr_fields())
def test_decode_of_encode_gives_back_every_field(fields):
    # given
    try:
        encoded = encode(fields, now_ms=NOW)
    except KhqrError as exc:
        assume(exc.name != "TEMPLATE_LENGTH_INVALID")
        raise
    # when
    decoded = decode(encoded.qr)
    # then
    assert decoded.is_khqr, decoded.reason
    assert verify(encoded.qr, now_ms=NOW)
    same = [
        "type",
        "bakong_account_id",
        "merchant_name",
        "currency",
        "bill_number",
        "mobile_number",
        "store_label",
        "terminal_label",
        "purpose_of_transaction",
        "language_preference",
        "merchant_name_alternate_language",
        "merchant_city_alternate_language",
        "upi_merchant_account",
        "acquiring_bank",
        "expiration_ms",
    ]
    assert {k: getattr(decoded, k) for k in same} == {
        k: getattr(fields, k) for k in same
    }
    assert decoded.merchant_city == (fields.merchant_city or "Phnom Penh")
    assert decoded.merchant_category_code == (fields.merchant_category_code or "5999")
    if fields.type == "merchant":
        assert decoded.merchant_id == fields.merchant_id
    else:
        assert decoded.account_information == fields.account_information
    if fields.amount is None:
        assert (decoded.amount, decoded.point_of_initiation) == (None, "static")
    else:
        assert Decimal(decoded.amount) == fields.amount
        assert decoded.point_of_initiation == "dynamic"
        assert decoded.created_ms == NOW


def _decode_only_raises_its_own_error(qr: str) -> None:
    try:
        decoded = decode(qr)
    except KhqrDecodeError as exc:
        assert exc.detail
        return
    assert isinstance(decoded.is_khqr, bool)
    assert decoded.is_khqr or decoded.reason
    decoded.as_dict(with_tags=True)
    verify(qr)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789ABab@ .\u1780\ud800\U0001f600", max_size=120))
def test_decoder_only_raises_its_own_error_on_random_strings(qr):
    _decode_only_raises_its_own_error(qr)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_decoder_only_raises_its_own_error_on_any_unicode(qr):
    _decode_only_raises_its_own_error(qr)


SEEDS = [
    encode(
        KhqrFields(
            bakong_account_id="jonhsmith@nbcq",
            merchant_name="Jonh Smith",
            amount=Decimal("12.50"),
            currency="USD",
            bill_number="INV-1",
            language_preference="km",
            merchant_name_alternate_language="ចន ស្មីន",
            expiration_ms=NOW + 1000,
        ),
        now_ms=NOW,
    ).qr,
    encode(
        KhqrFields(
            type="merchant",
            bakong_account_id="shop@aclb",
            merchant_name="Shop",
            merchant_id="1",
            acquiring_bank="ACLEDA",
        ),
        now_ms=NOW,
    ).qr,
]


@st.composite
def mutated(draw) -> str:
    qr = list(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["replace", "delete", "insert", "truncate"]))
        at = draw(st.integers(0, max(0, len(qr) - 1)))
        char = draw(st.sampled_from("0123456789Xx@\u1780 "))
        if action == "replace" and qr:
            qr[at] = char
        elif action == "delete" and qr:
            del qr[at]
        elif action == "insert":
            qr.insert(at, char)
        else:
            qr = qr[:at]
    return "".join(qr)


@settings(max_examples=500, deadline=None)
@given(mutated())
def test_decoder_only_raises_its_own_error_on_mutated_codes(qr):
    _decode_only_raises_its_own_error(qr)


JUNK = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.integers(-(10**15), 10**22),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.floats(),
    st.booleans(),
    st.sampled_from(["", "0", "0.00", "1,000", "1e21", "KHR", "USD", "116", "840"]),
)


@settings(max_examples=400, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["individual", "merchant", "shop"]),
            "bakong_account_id": JUNK,
            "merchant_name": JUNK,
        },
        optional=dict.fromkeys(
            (
                "merchant_city",
                "merchant_id",
                "acquiring_bank",
                "account_information",
                "amount",
                "currency",
                "bill_number",
                "mobile_number",
                "language_preference",
                "merchant_name_alternate_language",
                "merchant_city_alternate_language",
                "upi_merchant_account",
                "merchant_category_code",
                "created_ms",
                "expiration_ms",
            ),
            JUNK,
        ),
    )
)
def test_encoder_only_raises_its_own_error_and_only_emits_valid_codes(values):
    # given
    fields = KhqrFields(**values)
    # when
    try:
        encoded = encode(fields, now_ms=NOW)
    except KhqrError as exc:
        # then
        assert exc.detail or exc.message
        return
    assert verify(encoded.qr, now_ms=NOW), decode(encoded.qr).reason


def _json_line_as_before(qr: str) -> str:
    """What `khqr decode --json` printed for a line before the batch writer: the
    dataclass as a dict (every field but the code), through json.dumps."""
    try:
        data = dataclasses.asdict(decode(qr))
    except KhqrError as exc:
        data = exc.as_dict()
    data.pop("qr", None)
    return json.dumps(data, ensure_ascii=False, default=str)


@PROPERTY
@given(khqr_fields())
def test_decode_json_writes_what_json_dumps_writes_for_any_valid_code(fields):
    # given
    try:
        qr = encode(fields, now_ms=NOW).qr
    except KhqrError as exc:
        assume(exc.name != "TEMPLATE_LENGTH_INVALID")
        raise
    # when / then
    assert cli.decode_json(qr) == _json_line_as_before(qr)


@settings(max_examples=500, deadline=None)
@given(mutated())
def test_decode_json_writes_what_json_dumps_writes_for_mutated_codes(qr):
    # when / then
    assert cli.decode_json(qr) == _json_line_as_before(qr)
