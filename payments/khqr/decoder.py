"""Decode and verify any EMVCo merchant-presented QR: KHQR, ThaiQR / PromptPay, ...

``decode`` raises KhqrDecodeError only when the string is not well-formed TLV; a
well-formed string that breaks a KHQR rule decodes, with ``is_khqr`` false and the
reason. ``verify`` is structure + CRC + the KHQR rules + expiry.
"""

from __future__ import annotations

import binascii
import re
import time
from dataclasses import fields as dataclass_fields
from operator import itemgetter
from typing import Any

from .errors import CODES, KhqrDecodeError
from .model import CURRENCY_ALPHA, DecodedKhqr, PromptPay, Tlv, Verification
from .tlv import crc_hex, from_units, has_astral, split, to_units

_PROMPTPAY_AID = "A000000677"
_PROMPTPAY_KINDS = {
    "01": "mobile",
    "02": "national_id",
    "03": "ewallet",
    "04": "bank_account",
}
_POI = {"11": "static", "12": "dynamic"}
_PLAIN_AMOUNT = re.compile(r"[0-9]+(?:\.[0-9]+)?\Z")
_DIGITS = re.compile(r"[0-9]+\Z")
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}\Z")
_STRICT_TEMPLATES = frozenset([str(n) for n in range(26, 52)] + ["62", "64", "99"])
_LOOSE_TEMPLATES = frozenset(str(n) for n in range(80, 99))
_REQUIRED_TAGS = frozenset(["52", "53", "58", "59", "60"])
_REQUIRED = (
    ("52", "MERCHANT_CATEGORY_TAG_REQUIRED"),
    ("53", "CURRENCY_TYPE_REQUIRED"),
    ("58", "COUNTRY_CODE_TAG_REQUIRED"),
    ("59", "MERCHANT_NAME_REQUIRED"),
    ("60", "MERCHANT_CITY_TAG_REQUIRED"),
)


def crc16(data: str) -> str:
    """CRC-16/CCITT-FALSE of the UTF-8 text, four uppercase hex digits."""
    return f"{binascii.crc_hqx(data.encode('utf-8'), 0xFFFF):04X}"


def _identity(text: str) -> str:
    return text


def _children(tag: str, value: str, convert) -> tuple[Tlv, ...] | None:
    if tag in _STRICT_TEMPLATES:
        items = split(value, where=f" in template {tag}")
    elif tag in _LOOSE_TEMPLATES:
        try:
            items = split(value, where=f" in template {tag}")
        except KhqrDecodeError:
            return None
    else:
        return None
    out = []
    for sub, v, _ in items:
        grandchildren = None
        if tag == "62" and sub >= "50":
            try:
                grandchildren = tuple(
                    Tlv(s, convert(x)) for s, x, _ in split(v, where=f" in {tag}.{sub}")
                )
            except KhqrDecodeError:
                grandchildren = None
        out.append(Tlv(sub, convert(v), grandchildren))
    return tuple(out)


def parse(qr: str) -> tuple[Tlv, ...]:
    """The TLV tree of a QR string; raises KhqrDecodeError when malformed."""
    if not isinstance(qr, str):
        raise KhqrDecodeError(f"a QR code is text, not {type(qr).__name__}")
    if not qr:
        raise KhqrDecodeError("the QR string is empty")
    convert = _identity
    text = qr
    if not qr.isascii():
        try:
            qr.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise KhqrDecodeError(
                f"unpaired surrogate at offset {exc.start}: not Unicode text",
                offset=exc.start,
            ) from None
        if has_astral(qr):
            text = to_units(qr)
            convert = from_units
    tags = []
    for tag, value, _ in split(text, crc_last=True):
        children = _children(tag, value, convert)
        tags.append(Tlv(tag, convert(value), children))
    return tuple(tags)


# "ttll" -> (tag, 4 + length, kind): the offset of the next data object, and kind
# 1 = a template scanned strictly, 2 = the CRC. Prebuilt tag strings keep their
# hash, so the dict work below stays cheap.
_TAGS = [f"{t:02d}" for t in range(100)]
_HEADER = {
    tag + length: (tag, 4 + n, 1 if tag in _STRICT_TEMPLATES else 2 if t == 63 else 0)
    for t, tag in enumerate(_TAGS)
    for n, length in enumerate(_TAGS)
}
_EMPTY: dict[str, str] = {}


def _first_repeat(text: str, where: str) -> str:
    seen = set()
    for tag, _, _ in split(text, where=where):
        if tag in seen:
            return tag
        seen.add(tag)
    return ""  # pragma: no cover - only called when a tag repeats


def _scan(text: str, tag: str) -> tuple[dict[str, str], str | None]:
    """A template's subtags (the last occurrence wins, as in the SDK) and the
    first repeated subtag, if any."""
    out: dict[str, str] = {}
    header = _HEADER
    count = 0
    i = 0
    end = len(text)
    try:
        while i < end:
            sub, step, _ = header[text[i : i + 4]]
            j = i + step
            if j > end:
                raise KeyError(sub)
            out[sub] = text[i + 4 : j]
            count += 1
            i = j
    except KeyError:
        split(text, where=f" in template {tag}")  # raises, naming what is wrong
        raise  # pragma: no cover
    if count != len(out):
        return out, _first_repeat(text, f" in template {tag}")
    return out, None


def decode(qr: str) -> DecodedKhqr:
    """Decode a merchant-presented QR into every field and nested template."""
    return DecodedKhqr(*decode_values(qr))


def _read(qr: str) -> tuple:
    """Scan a code once: its tags and templates, the account template, the CRC and
    the first KHQR rule it breaks (what decode and decode_json share)."""
    if not isinstance(qr, str):
        raise KhqrDecodeError(f"a QR code is text, not {type(qr).__name__}")
    if not qr:
        raise KhqrDecodeError("the QR string is empty")
    astral = False
    text = qr
    if qr.isascii():
        data = qr.encode("ascii")
    else:
        try:
            data = qr.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise KhqrDecodeError(
                f"unpaired surrogate at offset {exc.start}: not Unicode text",
                offset=exc.start,
            ) from None
        if len(qr.encode("utf-16-le", "surrogatepass")) != 2 * len(qr):
            astral = True
            text = to_units(qr)

    # Top level: each tag's value (the last occurrence wins, as in the SDK) and
    # every template the KHQR rules read, scanned strictly.
    top: dict[str, str] = {}
    subs: dict[str, dict[str, str]] = {}
    sub_repeated = None
    header = _HEADER
    count = 0
    i = 0
    end = len(text)
    first_tag = text[:2]
    if end >= 12 and text.startswith("0002010102"):
        # Nearly every code opens with tags 00 and 01 like this: skip two rounds.
        top["00"] = "01"
        top["01"] = text[10:12]
        count = 2
        i = 12
    try:
        while i < end:
            tag, step, kind = header[text[i : i + 4]]
            j = i + step
            if j > end:
                raise KeyError(tag)
            value = text[i + 4 : j]
            if kind:
                if kind == 2:
                    if j != end:
                        raise KhqrDecodeError(
                            f"{end - j} characters of junk after the CRC "
                            f"(tag 63 at offset {i})",
                            offset=j,
                        )
                else:
                    if (
                        step == 38
                        and tag == "99"
                        and value.startswith("0013")
                        and value.startswith("0113", 17)
                    ):
                        # The KHQR timestamps, as every SDK writes them.
                        children = {"00": value[4:17], "01": value[21:]}
                        repeated = None
                    else:
                        children, repeated = _scan(value, tag)
                    subs[tag] = children
                    if repeated and sub_repeated is None:
                        sub_repeated = f"{tag}.{repeated}"
            top[tag] = value
            count += 1
            i = j
    except KeyError:
        split(text, crc_last=True)  # raises, naming what is wrong
        raise  # pragma: no cover
    duplicate = _first_repeat(text, "") if count != len(top) else None
    # The account template: KHQR's 29 (individual) / 30 (merchant), or PromptPay.
    promptpay = None
    account_tag = None
    promptpay_tag = None
    khqr_account = subs.get("29") or subs.get("30")
    if khqr_account is None or "@" not in khqr_account.get("00", "@"):
        for tag, sub in subs.items():
            if "26" <= tag <= "51" and sub.get("00", "").startswith(_PROMPTPAY_AID):
                promptpay_tag = tag
                promptpay = _promptpay(tag, sub)
                break
    if promptpay is None:
        account_tag = "29" if "29" in top else "30" if "30" in top else None
    account = subs[account_tag] if account_tag else _EMPTY
    additional = subs.get("62", _EMPTY)
    language = subs.get("64", _EMPTY)
    stamps = subs.get("99", _EMPTY)

    crc = top.get("63")
    expected_crc = None
    crc_valid = False
    if crc is not None and len(crc) == 4 and qr.endswith(crc):
        expected_crc = crc_hex(binascii.crc_hqx(data[:-4], 0xFFFF))
        crc_valid = crc.upper() == expected_crc
    problem = _khqr_problem(
        top,
        first_tag,
        duplicate,
        sub_repeated,
        account_tag,
        account,
        additional,
        language,
        stamps,
        promptpay,
        crc,
        crc_valid,
        expected_crc,
    )
    return (
        top,
        subs,
        account_tag,
        account,
        additional,
        language,
        stamps,
        promptpay,
        promptpay_tag,
        crc,
        crc_valid,
        problem,
        astral,
    )


def decode_values(qr: str) -> tuple:
    """DecodedKhqr's fields, in its order (``DecodedKhqr(*values)`` is ``decode``)."""
    (
        top,
        subs,
        account_tag,
        account,
        additional,
        language,
        stamps,
        promptpay,
        promptpay_tag,
        crc,
        crc_valid,
        problem,
        astral,
    ) = _read(qr)
    poi_raw = top.get("01")
    currency_raw = top.get("53")
    if astral:
        # The rules above ran on UTF-16 units, as the SDK counts; fields are text.
        top = {k: from_units(v) for k, v in top.items()}
        subs = {k: {s: from_units(v) for s, v in d.items()} for k, d in subs.items()}
        account = subs[account_tag] if account_tag else _EMPTY
        additional = subs.get("62", _EMPTY)
        language = subs.get("64", _EMPTY)
        stamps = subs.get("99", _EMPTY)
        if promptpay_tag:
            promptpay = _promptpay(promptpay_tag, subs[promptpay_tag])
    if problem is None:
        reason = reason_code = None
    else:
        reason_code, detail = problem
        reason = f"{CODES[reason_code].message}: {detail}"
    # In DecodedKhqr's field order (checked at import).
    return (
        qr,
        "promptpay" if promptpay else "khqr" if account_tag else "emvco",
        top.get("00"),
        _POI.get(poi_raw, poi_raw),
        _ACCOUNT_TYPE.get(account_tag),
        account.get("00"),
        account.get("01") if account_tag == "29" else None,
        account.get("01") if account_tag == "30" else None,
        account.get("02"),
        top.get("15"),
        top.get("52"),
        CURRENCY_ALPHA.get(currency_raw, currency_raw),
        top.get("54"),
        top.get("58"),
        top.get("59"),
        top.get("60"),
        top.get("61"),
        additional.get("01"),
        additional.get("02"),
        additional.get("03"),
        additional.get("04"),
        additional.get("05"),
        additional.get("06"),
        additional.get("07"),
        additional.get("08"),
        language.get("00"),
        language.get("01"),
        language.get("02"),
        _millis(stamps.get("00")),
        _millis(stamps.get("01")),
        promptpay,
        crc,
        crc_valid,
        problem is None,
        reason,
        reason_code,
    )


def decode_json(qr: str) -> str | None:
    """``json.dumps(decode(qr).as_dict(), ensure_ascii=False)`` of a valid KHQR
    with no character JSON escapes, written straight from the scan (what
    ``khqr decode --json`` prints for most lines); None for any other string."""
    (
        top,
        _,
        account_tag,
        account,
        additional,
        language,
        stamps,
        _,
        _,
        crc,
        _,
        problem,
        astral,
    ) = _read(qr)
    if (
        problem is not None
        or astral
        or '"' in qr
        or "\\" in qr
        or (not qr.isprintable() and _NEEDS_ESCAPE.search(qr))
    ):
        return None
    # A valid KHQR has tags 00 (= 01), 52, 53 (116 or 840), 58 (= KH), 59 and 60,
    # an account template with subtag 00, a valid CRC, no PromptPay and no reason.
    info = account.get("01")
    if account_tag == "29":
        head = _JSON_INDIVIDUAL[top.get("01")]
        ids = _JSON_NO_IDS if info is None else _JSON_INFO % info
    else:
        head = _JSON_MERCHANT[top.get("01")]
        ids = _JSON_NO_IDS if info is None else _JSON_MERCHANT_ID % info
    bank = account.get("02")
    bank = "null" if bank is None else '"' + bank + '"'
    upi = top.get("15")
    upi = "null" if upi is None else '"' + upi + '"'
    amount = top.get("54")
    amount = "null" if amount is None else '"' + amount + '"'
    postal = top.get("61")
    postal = "null" if postal is None else '"' + postal + '"'
    # Subtags fill a template's slots (a format made once per set of subtags).
    if additional:
        shape = _JSON_62_SHAPES.get(tuple(additional))
        if shape is None:
            shape = _json_shape(_ADDITIONAL_NAMES, additional, _JSON_62_SHAPES)
        extra = shape[0] % shape[1](additional) if shape[1] else shape[0]
    else:
        extra = _JSON_NONE_62
    if language:
        shape = _JSON_64_SHAPES.get(tuple(language))
        if shape is None:
            shape = _json_shape(_LANGUAGE_NAMES, language, _JSON_64_SHAPES)
        names = shape[0] % shape[1](language) if shape[1] else shape[0]
    else:
        names = _JSON_NONE_64
    return (
        f'{head}{account["00"]}"{ids}, "acquiring_bank": {bank}'
        f', "upi_merchant_account": {upi}'
        f', "merchant_category_code": "{top["52"]}"'
        f', "currency": {_JSON_CURRENCY[top["53"]]}, "amount": {amount}'
        f', "country_code": "KH", "merchant_name": "{top["59"]}"'
        f', "merchant_city": "{top["60"]}", "postal_code": {postal}{extra}{names}'
        f', "created_ms": {_json_millis(stamps.get("00"))}'
        f', "expiration_ms": {_json_millis(stamps.get("01"))}'
        f', "promptpay": null, "crc": "{crc}{_JSON_TAIL}'
    )


def _json_shape(
    names: tuple[tuple[str, str], ...], template: dict[str, str], shapes: dict
) -> tuple[str, Any]:
    """The JSON of a template's fields with a %s slot for each subtag it has, and
    the getter of those subtags' values (as a tuple)."""
    present = [sub for sub, _ in names if sub in template]
    text = "".join(
        f', "{name}": ' + ('"%s"' if sub in template else "null") for sub, name in names
    )
    getter = None
    if present:
        getter = itemgetter(*present)
        if len(present) == 1:
            one = getter
            getter = lambda t: (one(t),)  # noqa: E731 - itemgetter of one is no tuple
    shape = (text, getter)
    if len(shapes) < 256:  # a handful in practice; never unbounded
        shapes[tuple(template)] = shape
    return shape


def _json_text(value: str | None) -> str:
    return "null" if value is None else '"' + value + '"'


def _json_millis(text: str | None) -> str:
    """A timestamp as json.dumps writes _millis(text)."""
    if text is not None and text.isdigit() and text.isascii():
        return text if text[0] != "0" or len(text) == 1 else str(int(text))
    return "null"


# What json.dumps(..., ensure_ascii=False) escapes: '"', '\\' and C0 controls.
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')
_JSON_HEAD = (
    '{"scheme": "khqr", "payload_format_indicator": "01", '
    '"point_of_initiation": %s, "type": "%s", "bakong_account_id": "'
)
_JSON_INDIVIDUAL = {
    poi: _JSON_HEAD % (_json_text(_POI.get(poi)), "individual")
    for poi in (None, "11", "12")
}
_JSON_MERCHANT = {
    poi: _JSON_HEAD % (_json_text(_POI.get(poi)), "merchant")
    for poi in (None, "11", "12")
}
_ADDITIONAL_NAMES = (
    ("01", "bill_number"),
    ("02", "mobile_number"),
    ("03", "store_label"),
    ("04", "loyalty_number"),
    ("05", "reference_label"),
    ("06", "customer_label"),
    ("07", "terminal_label"),
    ("08", "purpose_of_transaction"),
)
_LANGUAGE_NAMES = (
    ("00", "language_preference"),
    ("01", "merchant_name_alternate_language"),
    ("02", "merchant_city_alternate_language"),
)
_JSON_NONE_62 = "".join(f', "{name}": null' for _, name in _ADDITIONAL_NAMES)
_JSON_NONE_64 = "".join(f', "{name}": null' for _, name in _LANGUAGE_NAMES)
_JSON_62_SHAPES: dict[tuple[str, ...], tuple[str, Any]] = {}
_JSON_64_SHAPES: dict[tuple[str, ...], tuple[str, Any]] = {}
_JSON_CURRENCY = {"116": '"KHR"', "840": '"USD"'}
_JSON_NO_IDS = ', "account_information": null, "merchant_id": null'
_JSON_INFO = ', "account_information": "%s", "merchant_id": null'
_JSON_MERCHANT_ID = ', "account_information": null, "merchant_id": "%s"'
_JSON_TAIL = (
    '", "crc_valid": true, "is_khqr": true, "reason": null, "reason_code": null}'
)


_ACCOUNT_TYPE = {"29": "individual", "30": "merchant"}
_POSITIONAL = (
    "qr",
    "scheme",
    "payload_format_indicator",
    "point_of_initiation",
    "type",
    "bakong_account_id",
    "account_information",
    "merchant_id",
    "acquiring_bank",
    "upi_merchant_account",
    "merchant_category_code",
    "currency",
    "amount",
    "country_code",
    "merchant_name",
    "merchant_city",
    "postal_code",
    "bill_number",
    "mobile_number",
    "store_label",
    "loyalty_number",
    "reference_label",
    "customer_label",
    "terminal_label",
    "purpose_of_transaction",
    "language_preference",
    "merchant_name_alternate_language",
    "merchant_city_alternate_language",
    "created_ms",
    "expiration_ms",
    "promptpay",
    "crc",
    "crc_valid",
    "is_khqr",
    "reason",
    "reason_code",
)
if tuple(f.name for f in dataclass_fields(DecodedKhqr)) != _POSITIONAL:
    raise RuntimeError("decode() builds DecodedKhqr positionally: update it")


def _promptpay(tag: str, sub: dict[str, str]) -> PromptPay:
    aid = sub["00"]
    if tag == "30" or aid.endswith("12"):
        return PromptPay(
            aid=aid,
            kind="bill_payment",
            biller_id=sub.get("01"),
            reference_1=sub.get("02"),
            reference_2=sub.get("03"),
        )
    kind = next((k for k in _PROMPTPAY_KINDS if k in sub), None)
    return PromptPay(
        aid=aid,
        kind=_PROMPTPAY_KINDS[kind] if kind else "other",
        proxy=sub.get(kind) if kind else None,
    )


def _millis(text: str | None) -> int | None:
    if text is not None and text.isascii() and text.isdigit():
        return int(text)
    return None


def _khqr_problem(
    v: dict[str, str],
    first_tag: str,
    duplicate: str | None,
    sub_repeated: str | None,
    account_tag: str | None,
    account: dict[str, str],
    additional: dict[str, str],
    language: dict[str, str],
    stamps: dict[str, str],
    promptpay: PromptPay | None,
    crc: str | None,
    crc_valid: bool,
    expected_crc: str | None,
) -> tuple[str, str] | None:
    """The first KHQR rule the code breaks, as (error name, detail); None if none."""
    if crc is None:
        return "CRC_TAG_REQUIRED", "there is no CRC (tag 63)"
    if not crc_valid:
        if len(crc) != 4 or not _HEX4.match(crc):
            return "CRC_LENGTH_INVALID", f"CRC {crc!r} is not four hex digits"
        return "KHQR_INVALID", f"CRC is {crc}, the data says {expected_crc}"
    if duplicate is not None:
        return "KHQR_INVALID", f"tag {duplicate} appears more than once"
    if sub_repeated is not None:
        return "KHQR_INVALID", f"subtag {sub_repeated} appears more than once"
    if first_tag != "00":
        return "KHQR_INVALID", "the payload format indicator (tag 00) is not first"
    if promptpay is not None:
        return "KHQR_INVALID", "a Thai PromptPay (ThaiQR) code, not a KHQR"
    poi = v.get("01")
    if poi == "12":
        if "54" not in v:
            return "INVALID_DYNAMIC_KHQR", "a dynamic code (01 = 12) has no amount"
        if "99" not in v:
            return "EXPIRATION_TIMESTAMP_REQUIRED", "a dynamic code has no tag 99"
    if "54" in v and "99" not in v:
        return "EXPIRATION_TIMESTAMP_REQUIRED", "a code with an amount has no tag 99"
    if "00" not in v:
        return "PAYLOAD_FORMAT_INDICATOR_TAG_REQUIRED", "tag 00 is missing"
    if account_tag is None:
        return "MERCHANT_TYPE_REQUIRED", "there is no account template (tag 29 or 30)"
    if not v.keys() >= _REQUIRED_TAGS:
        for tag, name in _REQUIRED:
            if tag not in v:
                return name, f"tag {tag} is missing"
    if "29" in v and "30" in v:
        return "KHQR_INVALID", "both tag 29 (individual) and tag 30 (merchant)"
    if v["00"] != "01":
        if len(v["00"]) > 2:
            return "PAYLOAD_FORMAT_INDICATOR_LENGTH_INVALID", f"tag 00 is {v['00']!r}"
        return "KHQR_INVALID", f"payload format indicator {v['00']!r} is not 01"
    if poi is not None and poi not in _POI:
        if len(poi) > 2:
            return "POINT_INITIATION_LENGTH_INVALID", f"tag 01 is {poi!r}"
        return "POINT_OF_INITIATION_METHOD_INVALID", f"tag 01 is {poi!r}"
    bakong = account.get("00")
    if not bakong:
        return "BAKONG_ACCOUNT_ID_REQUIRED", f"tag {account_tag} has no subtag 00"
    if len(bakong) > 32:
        return "BAKONG_ACCOUNT_ID_LENGTH_INVALID", f"{bakong!r} is over 32 characters"
    if "@" not in bakong:
        return "BAKONG_ACCOUNT_ID_INVALID", f"{bakong!r} is not of the form name@bank"
    if "01" in account and len(account["01"]) > 32:
        name = (
            "ACCOUNT_INFORMATION_LENGTH_INVALID"
            if account_tag == "29"
            else "MERCHANT_ID_LENGTH_INVALID"
        )
        return name, f"subtag 01 of tag {account_tag} is over 32 characters"
    bank = account.get("02")
    if bank is not None:
        if bank == "":
            return "ACQUIRING_BANK_REQUIRED", "the acquiring bank (subtag 02) is empty"
        if len(bank) > 32:
            return (
                "ACQUIRING_BANK_LENGTH_INVALID",
                "acquiring bank is over 32 characters",
            )
    mcc = v["52"]
    if len(mcc) > 4:
        return "MERCHANT_CODE_LENGTH_INVALID", f"tag 52 is {mcc!r}"
    if not (mcc.isascii() and mcc.isdigit()):
        return "INVALID_MERCHANT_CATEGORY_CODE", f"tag 52 is {mcc!r}"
    currency = v["53"]
    if currency != "116" and currency != "840":
        if len(currency) > 3:
            return "TRANSACTION_CURRENCY_LENGTH_INVALID", f"tag 53 is {currency!r}"
        return "UNSUPPORTED_CURRENCY", f"currency {currency!r} is not 116 or 840"
    amount = v.get("54")
    if amount is not None and (len(amount) > 13 or not _PLAIN_AMOUNT.match(amount)):
        return "TRANSACTION_AMOUNT_INVALID", f"amount {amount!r} is not valid"
    country = v["58"]
    if country != "KH":
        if len(country) > 3:
            return "COUNTRY_CODE_LENGTH_INVALID", f"tag 58 is {country!r}"
        return "KHQR_INVALID", f"country code {country!r} is not KH"
    name = v["59"]
    if name == "":
        return "MERCHANT_NAME_REQUIRED", "merchant name is empty"
    if len(name) > 25:
        return "MERCHANT_NAME_LENGTH_INVALID", "merchant name is over 25 characters"
    city = v["60"]
    if city == "":
        return "MERCHANT_CITY_TAG_REQUIRED", "merchant city is empty"
    if len(city) > 15:
        return "MERCHANT_CITY_LENGTH_INVALID", "merchant city is over 15 characters"
    for sub, text in additional.items():
        if (text == "" or len(text) > 25) and sub in _ADDITIONAL_RULES:
            name, label = _ADDITIONAL_RULES[sub]
            return name, f"{label} (62.{sub}) is empty or over 25 characters"
    if language:
        problem = _language_problem(language)
        if problem:
            return problem
    if poi == "12":
        expiration = stamps.get("01")
        if (
            len(expiration or "") != 13
            or expiration[0] == "0"
            or not _digits(expiration)
        ):
            # The SDK reads Number(x): no digits or zero is "missing", other
            # numbers that are not 13 digits long have the wrong length.
            if not expiration or not _digits(expiration) or int(expiration) == 0:
                return "EXPIRATION_TIMESTAMP_REQUIRED", "99.01 is missing or zero"
            if len(str(int(expiration))) != 13:
                return "EXPIRATION_TIMESTAMP_LENGTH_INVALID", f"99.01 is {expiration!r}"
        created = stamps.get("00")
        if created and _digits(created) and int(expiration) < int(created):
            return "EXPIRATION_TIMESTAMP_IN_THE_PAST", "expiration is before creation"
    return None


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


_ADDITIONAL_RULES = {
    "01": ("BILL_NUMBER_LENGTH_INVALID", "bill number"),
    "02": ("MOBILE_NUMBER_LENGTH_INVALID", "mobile number"),
    "03": ("STORE_LABEL_LENGTH_INVALID", "store label"),
    "07": ("TERMINAL_LABEL_LENGTH_INVALID", "terminal label"),
    "08": ("PURPOSE_OF_TRANSACTION_LENGTH_INVALID", "purpose of transaction"),
}


def _language_problem(language: dict[str, str]) -> tuple[str, str] | None:
    preference = language.get("00")
    name = language.get("01")
    city = language.get("02")
    if preference and not name:
        return (
            "MERCHANT_NAME_ALTERNATE_LANGUAGE_REQUIRED",
            "64.00 is set but 64.01 is not",
        )
    if name is not None:
        if preference is None:
            return "LANGUAGE_PREFERENCE_REQUIRED", "64.01 is set but 64.00 is not"
        if preference == "" or len(preference) > 2:
            return "LANGUAGE_PREFERENCE_LENGTH_INVALID", f"64.00 is {preference!r}"
        if name == "" or len(name) > 25:
            return (
                "MERCHANT_NAME_ALTERNATE_LANGUAGE_LENGTH_INVALID",
                "64.01 is empty or over 25 characters",
            )
    if city is not None and (city == "" or len(city) > 15):
        return (
            "MERCHANT_CITY_ALTERNATE_LANGUAGE_LENGTH_INVALID",
            "64.02 is empty or over 15 characters",
        )
    return None


def verify(qr: str, *, now_ms: int | None = None) -> Verification:
    """Structure, CRC, the KHQR rules and (dynamic codes) expiry, as one answer."""
    try:
        decoded = decode(qr)
    except KhqrDecodeError as exc:
        return Verification(False, str(exc), exc.name)
    if not decoded.is_khqr:
        return Verification(False, decoded.reason, decoded.reason_code)
    if decoded.is_dynamic:
        if now_ms is None:
            now_ms = time.time_ns() // 1_000_000
        if decoded.expiration_ms is not None and decoded.expiration_ms < now_ms:
            return Verification(
                False,
                f"{CODES['KHQR_EXPIRED'].message}: expired at {decoded.expiration_ms}",
                "KHQR_EXPIRED",
            )
    return Verification(True)
