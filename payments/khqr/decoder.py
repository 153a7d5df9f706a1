"""Decode and verify any EMVCo merchant-presented QR: KHQR, ThaiQR / PromptPay, ...

``decode`` raises KhqrDecodeError only when the string is not well-formed TLV; a
well-formed string that breaks a KHQR rule decodes, with ``is_khqr`` false and the
reason. ``verify`` is structure + CRC + the KHQR rules + expiry.
"""

from __future__ import annotations

import binascii
import re
import time

from .errors import CODES, KhqrDecodeError
from .model import CURRENCY_ALPHA, DecodedKhqr, PromptPay, Tlv, Verification
from .tlv import from_units, has_astral, split, to_units

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
_REQUIRED = (
    ("00", "PAYLOAD_FORMAT_INDICATOR_TAG_REQUIRED"),
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


def _sub(children: tuple[Tlv, ...] | None) -> dict[str, str]:
    if not children:
        return {}
    out: dict[str, str] = {}
    for c in children:
        out.setdefault(c.tag, c.value)
    return out


def _millis(text: str | None) -> int | None:
    if text is not None and _DIGITS.match(text):
        return int(text)
    return None


def _utf16_len(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def decode(qr: str) -> DecodedKhqr:
    """Decode a merchant-presented QR into every field and nested template."""
    tags = parse(qr)
    first: dict[str, Tlv] = {}
    duplicate = None
    for t in tags:
        if t.tag in first:
            duplicate = duplicate or t.tag
        else:
            first[t.tag] = t

    def value(tag: str) -> str | None:
        t = first.get(tag)
        return None if t is None else t.value

    # The account template: KHQR's 29 (individual) / 30 (merchant), or PromptPay.
    promptpay = None
    for t in tags:
        if "26" <= t.tag <= "51" and t.children:
            sub = _sub(t.children)
            aid = sub.get("00", "")
            if aid.startswith(_PROMPTPAY_AID):
                if t.tag == "30" or aid.endswith("12"):
                    promptpay = PromptPay(
                        aid=aid,
                        kind="bill_payment",
                        biller_id=sub.get("01"),
                        reference_1=sub.get("02"),
                        reference_2=sub.get("03"),
                    )
                else:
                    kind = next((k for k in _PROMPTPAY_KINDS if k in sub), None)
                    promptpay = PromptPay(
                        aid=aid,
                        kind=_PROMPTPAY_KINDS.get(kind, "other"),
                        proxy=sub.get(kind) if kind else None,
                    )
                break
    account_tag = None
    if promptpay is None:
        account_tag = "29" if "29" in first else "30" if "30" in first else None
    account = _sub(first[account_tag].children) if account_tag else {}
    additional = _sub(first["62"].children) if "62" in first else {}
    language = _sub(first["64"].children) if "64" in first else {}
    stamps = _sub(first["99"].children) if "99" in first else {}

    crc = value("63")
    crc_valid = (
        crc is not None
        and tags[-1].tag == "63"
        and len(crc) == 4
        and crc.upper() == crc16(qr[:-4])
    )
    poi_raw = value("01")
    currency_raw = value("53")
    fields = {
        "scheme": "promptpay" if promptpay else "khqr" if account_tag else "emvco",
        "payload_format_indicator": value("00"),
        "point_of_initiation": _POI.get(poi_raw, poi_raw),
        "type": {"29": "individual", "30": "merchant"}.get(account_tag),
        "bakong_account_id": account.get("00"),
        "account_information": account.get("01") if account_tag == "29" else None,
        "merchant_id": account.get("01") if account_tag == "30" else None,
        "acquiring_bank": account.get("02"),
        "upi_merchant_account": value("15"),
        "merchant_category_code": value("52"),
        "currency": CURRENCY_ALPHA.get(currency_raw, currency_raw),
        "amount": value("54"),
        "country_code": value("58"),
        "merchant_name": value("59"),
        "merchant_city": value("60"),
        "postal_code": value("61"),
        "bill_number": additional.get("01"),
        "mobile_number": additional.get("02"),
        "store_label": additional.get("03"),
        "loyalty_number": additional.get("04"),
        "reference_label": additional.get("05"),
        "customer_label": additional.get("06"),
        "terminal_label": additional.get("07"),
        "purpose_of_transaction": additional.get("08"),
        "language_preference": language.get("00"),
        "merchant_name_alternate_language": language.get("01"),
        "merchant_city_alternate_language": language.get("02"),
        "created_ms": _millis(stamps.get("00")),
        "expiration_ms": _millis(stamps.get("01")),
        "promptpay": promptpay,
        "crc": crc,
        "crc_valid": crc_valid,
        "tags": tags,
    }
    problem = _khqr_problem(
        qr,
        tags,
        first,
        duplicate,
        account_tag,
        account,
        additional,
        language,
        stamps,
        promptpay,
        crc_valid,
    )
    if problem is None:
        return DecodedKhqr(is_khqr=True, **fields)
    name, detail = problem
    return DecodedKhqr(
        is_khqr=False,
        reason=f"{CODES[name].message}: {detail}",
        reason_code=name,
        **fields,
    )


def _khqr_problem(
    qr,
    tags,
    first,
    duplicate,
    account_tag,
    account,
    additional,
    language,
    stamps,
    promptpay,
    crc_valid,
) -> tuple[str, str] | None:
    """The first KHQR rule the code breaks, as (error name, detail); None if none."""
    crc = first.get("63")
    if crc is None:
        return "CRC_TAG_REQUIRED", "there is no CRC (tag 63)"
    if len(crc.value) != 4 or not _HEX4.match(crc.value):
        return "CRC_LENGTH_INVALID", f"CRC {crc.value!r} is not four hex digits"
    if not crc_valid:
        return "KHQR_INVALID", f"CRC is {crc.value}, the data says {crc16(qr[:-4])}"
    if duplicate is not None:
        return "KHQR_INVALID", f"tag {duplicate} appears more than once"
    if tags[0].tag != "00":
        return "KHQR_INVALID", "the payload format indicator (tag 00) is not first"
    if promptpay is not None:
        return "KHQR_INVALID", "a Thai PromptPay (ThaiQR) code, not a KHQR"
    v = {t: x.value for t, x in first.items()}
    poi = v.get("01")
    if poi == "12":
        if "54" not in v:
            return "INVALID_DYNAMIC_KHQR", "a dynamic code (01 = 12) has no amount"
        if "99" not in v:
            return "EXPIRATION_TIMESTAMP_REQUIRED", "a dynamic code has no tag 99"
    if "54" in v and "99" not in v:
        return "EXPIRATION_TIMESTAMP_REQUIRED", "a code with an amount has no tag 99"
    for tag, name in _REQUIRED[:1]:
        if tag not in v:
            return name, f"tag {tag} is missing"
    if account_tag is None:
        return "MERCHANT_TYPE_REQUIRED", "there is no account template (tag 29 or 30)"
    for tag, name in _REQUIRED[1:]:
        if tag not in v:
            return name, f"tag {tag} is missing"
    if "29" in v and "30" in v:
        return "KHQR_INVALID", "both tag 29 (individual) and tag 30 (merchant)"
    if v["00"] != "01":
        if len(v["00"]) > 2:
            return "PAYLOAD_FORMAT_INDICATOR_LENGTH_INVALID", f"tag 00 is {v['00']!r}"
        return "KHQR_INVALID", f"payload format indicator {v['00']!r} is not 01"
    if poi is not None:
        if len(poi) > 2:
            return "POINT_INITIATION_LENGTH_INVALID", f"tag 01 is {poi!r}"
        if poi not in _POI:
            return "POINT_OF_INITIATION_METHOD_INVALID", f"tag 01 is {poi!r}"
    for sub in first[account_tag].children or ():
        if sub.tag in account and account[sub.tag] is not sub.value:
            return "KHQR_INVALID", f"subtag {sub.tag} of tag {account_tag} repeats"
    bakong = account.get("00")
    if not bakong:
        return "BAKONG_ACCOUNT_ID_REQUIRED", f"tag {account_tag} has no subtag 00"
    if _utf16_len(bakong) > 32:
        return "BAKONG_ACCOUNT_ID_LENGTH_INVALID", f"{bakong!r} is over 32 characters"
    if "@" not in bakong:
        return "BAKONG_ACCOUNT_ID_INVALID", f"{bakong!r} is not of the form name@bank"
    if "01" in account and _utf16_len(account["01"]) > 32:
        name = (
            "ACCOUNT_INFORMATION_LENGTH_INVALID"
            if account_tag == "29"
            else "MERCHANT_ID_LENGTH_INVALID"
        )
        return name, f"subtag 01 of tag {account_tag} is over 32 characters"
    if "02" in account:
        if account["02"] == "":
            return "ACQUIRING_BANK_REQUIRED", "the acquiring bank (subtag 02) is empty"
        if _utf16_len(account["02"]) > 32:
            return (
                "ACQUIRING_BANK_LENGTH_INVALID",
                "acquiring bank is over 32 characters",
            )
    mcc = v["52"]
    if len(mcc) > 4:
        return "MERCHANT_CODE_LENGTH_INVALID", f"tag 52 is {mcc!r}"
    if not _DIGITS.match(mcc):
        return "INVALID_MERCHANT_CATEGORY_CODE", f"tag 52 is {mcc!r}"
    currency = v["53"]
    if len(currency) > 3:
        return "TRANSACTION_CURRENCY_LENGTH_INVALID", f"tag 53 is {currency!r}"
    if currency not in ("116", "840"):
        return "UNSUPPORTED_CURRENCY", f"currency {currency!r} is not 116 or 840"
    if "54" in v:
        amount = v["54"]
        if len(amount) > 13 or not _PLAIN_AMOUNT.match(amount):
            return "TRANSACTION_AMOUNT_INVALID", f"amount {amount!r} is not valid"
    country = v["58"]
    if len(country) > 3:
        return "COUNTRY_CODE_LENGTH_INVALID", f"tag 58 is {country!r}"
    if country != "KH":
        return "KHQR_INVALID", f"country code {country!r} is not KH"
    if _utf16_len(v["59"]) > 25:
        return "MERCHANT_NAME_LENGTH_INVALID", "merchant name is over 25 characters"
    if v["59"] == "":
        return "MERCHANT_NAME_REQUIRED", "merchant name is empty"
    if _utf16_len(v["60"]) > 15:
        return "MERCHANT_CITY_LENGTH_INVALID", "merchant city is over 15 characters"
    if v["60"] == "":
        return "MERCHANT_CITY_TAG_REQUIRED", "merchant city is empty"
    for sub, name, label in _ADDITIONAL_RULES:
        text = additional.get(sub)
        if text is not None and (text == "" or _utf16_len(text) > 25):
            return name, f"{label} (62.{sub}) is empty or over 25 characters"
    if language:
        problem = _language_problem(language)
        if problem:
            return problem
    if poi == "12":
        expiration = stamps.get("01")
        if not expiration or not _DIGITS.match(expiration) or int(expiration) == 0:
            return "EXPIRATION_TIMESTAMP_REQUIRED", "tag 99 has no expiration (99.01)"
        if len(str(int(expiration))) != 13:
            return "EXPIRATION_TIMESTAMP_LENGTH_INVALID", f"99.01 is {expiration!r}"
        created = stamps.get("00")
        if created and _DIGITS.match(created) and int(expiration) < int(created):
            return "EXPIRATION_TIMESTAMP_IN_THE_PAST", "expiration is before creation"
    return None


_ADDITIONAL_RULES = (
    ("01", "BILL_NUMBER_LENGTH_INVALID", "bill number"),
    ("02", "MOBILE_NUMBER_LENGTH_INVALID", "mobile number"),
    ("03", "STORE_LABEL_LENGTH_INVALID", "store label"),
    ("07", "TERMINAL_LABEL_LENGTH_INVALID", "terminal label"),
    ("08", "PURPOSE_OF_TRANSACTION_LENGTH_INVALID", "purpose of transaction"),
)


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
        if name == "" or _utf16_len(name) > 25:
            return (
                "MERCHANT_NAME_ALTERNATE_LANGUAGE_LENGTH_INVALID",
                "64.01 is empty or over 25 characters",
            )
    if city is not None and (city == "" or _utf16_len(city) > 15):
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
