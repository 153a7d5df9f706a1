"""KHQR encoder: the NBC SDK's `generateIndividual` / `generateMerchant`, in Python.

Same input, same string, same error as `bakong-khqr` (tag order, UTF-16 length
counting, amount formatting, validation order); better where the SDK is wrong (see
the README's list of deliberate differences): it refuses amounts such as NaN,
``1,000`` or ``1e21`` and templates longer than 99 characters instead of writing
them into a code that banks refuse.
"""

from __future__ import annotations

import binascii
import hashlib
import re
import time
from decimal import Decimal, InvalidOperation

from .errors import KhqrError
from .model import EncodedKhqr, KhqrFields
from .tlv import crc_hex

_PLAIN_AMOUNT = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z")
_DIGITS = re.compile(r"[0-9]+\Z")
_CURRENCIES = {
    "KHR": "116",
    "USD": "840",
    "khr": "116",
    "usd": "840",
    "116": "116",
    "840": "840",
    116: "116",
    840: "840",
}
_LENGTHS = ["0" + str(n) for n in range(10)] + [str(n) for n in range(10, 100)]


def text_length(value: str) -> int:
    """Length as the SDK (JavaScript) counts it: UTF-16 code units."""
    if value.isascii():
        return len(value)
    return len(value.encode("utf-16-le", "surrogatepass")) // 2


def _template(tag: str, value: str, overflow: list[tuple[str, int]]) -> str:
    """A template's TLV; one too long for a two-digit length is noted, not raised.

    The SDK writes a three-digit length there and then rejects its own code. Tonle
    refuses, but only after every check the SDK makes, so that wherever the SDK
    reports an error Tonle reports the same one.
    """
    n = len(value) if value.isascii() else text_length(value)
    if n > 99:
        overflow.append((tag, n))
        return ""
    return tag + _LENGTHS[n] + value


_TEMPLATE_FIELDS = {
    "29": "bakong_account_id",
    "30": "bakong_account_id",
    "62": "bill_number",
    "64": "merchant_name_alternate_language",
}


def _blank(value: object) -> bool:
    """Null, empty or the number 0: what the SDK's checks read as no value."""
    return value is None or value == "" or (type(value) is int and value == 0)


def _text(value: object, field: str) -> str | None:
    """A text field as the SDK writes it: an int as its digits (the SDK's own
    README passes merchantID as a number); absent when null, empty or 0 (the SDK
    drops those optional fields). Floats and booleans are refused (the SDK would
    write "1.5" or "true" into the code)."""
    if type(value) is str:
        return value or None
    if _blank(value):
        return None
    if type(value) is int:
        return str(value)
    raise KhqrError(
        "INVALID_FIELD_TYPE",
        f"{field} must be text or a whole number, not {type(value).__name__}",
        field=field,
    )


def _check(value: str, limit: int, error: str, field: str) -> None:
    n = len(value) if value.isascii() else text_length(value)
    if n > limit:
        raise KhqrError(
            error, f"{field} is {n} characters long; the limit is {limit}", field=field
        )


def _amount_text(raw: object) -> str:
    """The amount as text (before the SDK's per-currency rule); refuses junk."""
    if isinstance(raw, (bool, float)):
        raise KhqrError(
            "TRANSACTION_AMOUNT_INVALID",
            "amount must be a Decimal, an int or a decimal string, never a float",
            field="amount",
        )
    if isinstance(raw, int):
        text = str(raw)
    elif isinstance(raw, Decimal):
        if not raw.is_finite():
            raise KhqrError(
                "TRANSACTION_AMOUNT_INVALID",
                f"amount {raw} is not a number",
                field="amount",
            )
        if raw.adjusted() > 20:
            raise KhqrError(
                "TRANSACTION_AMOUNT_INVALID",
                f"amount {raw} is longer than 13 characters",
                field="amount",
            )
        text = format(raw, "f")
    elif isinstance(raw, str):
        text = raw
    else:
        raise KhqrError(
            "TRANSACTION_AMOUNT_INVALID",
            f"amount has the wrong type ({type(raw).__name__})",
            field="amount",
        )
    if text.startswith("-"):
        raise KhqrError(
            "TRANSACTION_AMOUNT_INVALID", f"amount {text} is negative", field="amount"
        )
    if not _PLAIN_AMOUNT.match(text):
        raise KhqrError(
            "TRANSACTION_AMOUNT_INVALID",
            f"amount {text!r} is not a plain decimal number (digits and one '.')",
            field="amount",
        )
    return text


def _is_zero(raw: object) -> bool:
    """JavaScript's `amount == undefined || amount == 0` (static code test)."""
    if raw is None or raw == "":
        return True
    if isinstance(raw, (int, Decimal)) and not isinstance(raw, bool):
        return raw.is_finite() and raw == 0 if isinstance(raw, Decimal) else raw == 0
    if isinstance(raw, str) and _PLAIN_AMOUNT.match(raw):
        return Decimal(raw) == 0
    return False


def _format_amount(raw: object, currency: str) -> str:
    text = _amount_text(raw)
    if currency == "116":
        value = Decimal(text)
        if value != value.to_integral_value():
            raise KhqrError(
                "TRANSACTION_AMOUNT_INVALID",
                f"amount {text} KHR has fractional riel",
                field="amount",
            )
        text = str(int(value))
    elif "." in text:
        _, fraction = text.split(".", 1)
        if len(fraction) > 2:
            raise KhqrError(
                "TRANSACTION_AMOUNT_INVALID",
                f"amount {text} USD has more than 2 decimal places",
                field="amount",
            )
        text = f"{Decimal(text):.2f}"
    if len(text) > 13:
        raise KhqrError(
            "TRANSACTION_AMOUNT_INVALID",
            f"amount {text} is longer than 13 characters",
            field="amount",
        )
    return text


def _millis(value: object, field: str) -> int | None:
    """A timestamp as the SDK reads it (`Number(x)`); None when absent or zero."""
    if value is None or value == "" or value == 0:
        return None
    if isinstance(value, (bool, float)):
        raise KhqrError(
            "TIMESTAMP_INVALID", f"{field} must be an int of milliseconds", field=field
        )
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if _DIGITS.match(value):
            return int(value)
        try:
            value = Decimal(value)
        except InvalidOperation:
            return None  # Number("abc") is NaN: the SDK reports it as missing
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        if value == value.to_integral_value():
            return int(value)
        raise KhqrError(
            "EXPIRATION_TIMESTAMP_LENGTH_INVALID",
            f"{field} {value} is not a whole number of milliseconds",
            field=field,
        )
    raise KhqrError(
        "TIMESTAMP_INVALID", f"{field} must be an int of milliseconds", field=field
    )


def encode(fields: KhqrFields, *, now_ms: int | None = None) -> EncodedKhqr:
    """Encode a KHQR exactly as the NBC SDK does; raise KhqrError as it would."""
    is_merchant = fields.type == "merchant"
    if not is_merchant and fields.type != "individual":
        raise KhqrError(
            "MERCHANT_TYPE_INVALID", f"type {fields.type!r} is not known", field="type"
        )
    raw_amount = fields.amount
    dynamic = not _is_zero(raw_amount)
    parts = ["000201010212" if dynamic else "000201010211"]

    # Tag 15: UnionPay merchant account (written when truthy).
    upi = _text(fields.upi_merchant_account, "upi_merchant_account")
    if upi is not None:
        _check(
            upi, 99, "UPI_ACCOUNT_INFORMATION_LENGTH_INVALID", "upi_merchant_account"
        )

    # Tag 29 / 30: the account template.
    account = fields.bakong_account_id
    if account is None or account == "":
        raise KhqrError(
            "BAKONG_ACCOUNT_ID_REQUIRED",
            "bakong_account_id is required",
            field="bakong_account_id",
        )
    if not isinstance(account, str):
        raise KhqrError(
            "INVALID_FIELD_TYPE",
            "bakong_account_id must be text",
            field="bakong_account_id",
        )
    _check(account, 32, "BAKONG_ACCOUNT_ID_LENGTH_INVALID", "bakong_account_id")
    if "@" not in account:
        raise KhqrError(
            "BAKONG_ACCOUNT_ID_INVALID",
            f"bakong_account_id {account!r} is not of the form name@bank",
            field="bakong_account_id",
        )
    template = "00" + _LENGTHS[min(text_length(account), 99)] + account
    if is_merchant:
        merchant_id = fields.merchant_id
        if _blank(merchant_id):
            raise KhqrError(
                "MERCHANT_ID_REQUIRED", "merchant_id is required", field="merchant_id"
            )
        merchant_id = _text(merchant_id, "merchant_id")
        _check(merchant_id, 32, "MERCHANT_ID_LENGTH_INVALID", "merchant_id")
        bank = fields.acquiring_bank
        if _blank(bank):
            raise KhqrError(
                "ACQUIRING_BANK_REQUIRED",
                "acquiring_bank is required",
                field="acquiring_bank",
            )
        bank = _text(bank, "acquiring_bank")
        _check(bank, 32, "ACQUIRING_BANK_LENGTH_INVALID", "acquiring_bank")
        template += "01" + _LENGTHS[text_length(merchant_id)] + merchant_id
        template += "02" + _LENGTHS[text_length(bank)] + bank
        account_tag = "30"
    else:
        info = _text(fields.account_information, "account_information")
        if info is not None:
            _check(
                info, 32, "ACCOUNT_INFORMATION_LENGTH_INVALID", "account_information"
            )
            template += "01" + _LENGTHS[text_length(info)] + info
        bank = _text(fields.acquiring_bank, "acquiring_bank")
        if bank is not None:
            _check(bank, 32, "ACQUIRING_BANK_LENGTH_INVALID", "acquiring_bank")
            template += "02" + _LENGTHS[text_length(bank)] + bank
        account_tag = "29"

    # Tag 52: merchant category code.
    mcc = fields.merchant_category_code
    if mcc is None or mcc == "" or mcc == 0:
        mcc = "5999"
    elif isinstance(mcc, int) and not isinstance(mcc, bool):
        mcc = str(mcc)
    elif not isinstance(mcc, str):
        raise KhqrError(
            "INVALID_FIELD_TYPE",
            "merchant_category_code must be text",
            field="merchant_category_code",
        )
    if len(mcc) > 4:
        raise KhqrError(
            "MERCHANT_CODE_LENGTH_INVALID",
            f"merchant_category_code {mcc!r} is longer than 4 digits",
            field="merchant_category_code",
        )
    if not _DIGITS.match(mcc):
        raise KhqrError(
            "INVALID_MERCHANT_CATEGORY_CODE",
            f"merchant_category_code {mcc!r} is not 4 digits",
            field="merchant_category_code",
        )

    # Tag 53: currency.
    raw_currency = fields.currency
    if raw_currency is None or raw_currency == "":
        currency = "116"
    else:
        currency = _CURRENCIES.get(raw_currency)
        if currency is None:
            if isinstance(raw_currency, bool) or not isinstance(
                raw_currency, (str, int)
            ):
                raise KhqrError(
                    "INVALID_FIELD_TYPE", "currency must be text", field="currency"
                )
            if isinstance(raw_currency, str) and len(raw_currency) > 3:
                raise KhqrError(
                    "TRANSACTION_CURRENCY_LENGTH_INVALID",
                    f"currency {raw_currency!r} is longer than 3 characters",
                    field="currency",
                )
            raise KhqrError(
                "UNSUPPORTED_CURRENCY",
                f"currency {raw_currency!r} is not KHR (116) or USD (840)",
                field="currency",
            )
    if upi is not None and currency == "840":
        raise KhqrError(
            "UPI_ACCOUNT_INFORMATION_INVALID_CURRENCY",
            "a UnionPay merchant account needs KHR",
            field="upi_merchant_account",
        )
    if upi is not None:
        parts.append("15" + _LENGTHS[text_length(upi)] + upi)
    overflow: list[tuple[str, int]] = []
    parts.append(_template(account_tag, template, overflow))
    parts.append("5204" + mcc if len(mcc) == 4 else "52" + _LENGTHS[len(mcc)] + mcc)
    parts.append("5303" + currency)

    # Tag 54: amount (dynamic codes only).
    if dynamic:
        amount = _format_amount(raw_amount, currency)
        parts.append("54" + _LENGTHS[len(amount)] + amount)
    parts.append("5802KH")

    # Tag 59 / 60: merchant name and city.
    name = fields.merchant_name
    if _blank(name):
        raise KhqrError(
            "MERCHANT_NAME_REQUIRED", "merchant_name is required", field="merchant_name"
        )
    name = _text(name, "merchant_name")
    _check(name, 25, "MERCHANT_NAME_LENGTH_INVALID", "merchant_name")
    parts.append("59" + _LENGTHS[text_length(name)] + name)
    city = fields.merchant_city or "Phnom Penh"
    city = _text(city, "merchant_city")
    _check(city, 15, "MERCHANT_CITY_LENGTH_INVALID", "merchant_city")
    parts.append("60" + _LENGTHS[text_length(city)] + city)

    # Tag 62: additional data.
    extra = []
    for sub, attr, error in _ADDITIONAL:
        value = _text(getattr(fields, attr), attr)
        if value is not None:
            _check(value, 25, error, attr)
            extra.append(sub + _LENGTHS[text_length(value)] + value)
    additional = "".join(extra) if extra else None

    # Tag 64: merchant information in an alternate language.
    language = _language_template(fields)

    # Tag 99: creation and expiration timestamps (dynamic codes only).
    timestamps = None
    if dynamic:
        timestamps = _timestamps(fields, now_ms)

    if additional is not None:
        parts.append(_template("62", additional, overflow))
    if language is not None:
        parts.append("64" + _LENGTHS[text_length(language)] + language)
    if timestamps is not None:
        parts.append(timestamps)
    if overflow:
        tag, n = overflow[0]
        raise KhqrError(
            "TEMPLATE_LENGTH_INVALID",
            f"tag {tag} would be {n} characters long; the limit is 99",
            field=_TEMPLATE_FIELDS[tag],
        )
    parts.append("6304")
    body = "".join(parts)
    try:
        data = body.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise KhqrError(
            "INVALID_FIELD_TYPE", "text holds an unpaired surrogate (not Unicode)"
        ) from exc
    qr = body + crc_hex(binascii.crc_hqx(data, 0xFFFF))
    return EncodedKhqr(
        qr=qr, md5=hashlib.md5(qr.encode("utf-8"), usedforsecurity=False).hexdigest()
    )


_ADDITIONAL = (
    ("01", "bill_number", "BILL_NUMBER_LENGTH_INVALID"),
    ("02", "mobile_number", "MOBILE_NUMBER_LENGTH_INVALID"),
    ("03", "store_label", "STORE_LABEL_LENGTH_INVALID"),
    ("07", "terminal_label", "TERMINAL_LABEL_LENGTH_INVALID"),
    ("08", "purpose_of_transaction", "PURPOSE_OF_TRANSACTION_LENGTH_INVALID"),
)


def _language_template(fields: KhqrFields) -> str | None:
    preference = _text(fields.language_preference, "language_preference")
    name = _text(
        fields.merchant_name_alternate_language, "merchant_name_alternate_language"
    )
    city = _text(
        fields.merchant_city_alternate_language, "merchant_city_alternate_language"
    )
    if preference is None and name is None and city is None:
        return None
    if preference is not None and name is None:
        raise KhqrError(
            "MERCHANT_NAME_ALTERNATE_LANGUAGE_REQUIRED",
            "merchant_name_alternate_language is required with language_preference",
            field="merchant_name_alternate_language",
        )
    template = ""
    if name is not None:
        if preference is None:
            # The SDK crashes here (TypeError) and returns junk as the code.
            raise KhqrError(
                "LANGUAGE_PREFERENCE_REQUIRED",
                "language_preference is required with merchant_name_alternate_language",
                field="language_preference",
            )
        _check(
            preference, 2, "LANGUAGE_PREFERENCE_LENGTH_INVALID", "language_preference"
        )
        _check(
            name,
            25,
            "MERCHANT_NAME_ALTERNATE_LANGUAGE_LENGTH_INVALID",
            "merchant_name_alternate_language",
        )
        template += "00" + _LENGTHS[text_length(preference)] + preference
        template += "01" + _LENGTHS[text_length(name)] + name
    if city is not None:
        _check(
            city,
            15,
            "MERCHANT_CITY_ALTERNATE_LANGUAGE_LENGTH_INVALID",
            "merchant_city_alternate_language",
        )
        template += "02" + _LENGTHS[text_length(city)] + city
    return template


def _timestamps(fields: KhqrFields, now_ms: int | None) -> str:
    expiration = _millis(fields.expiration_ms, "expiration_ms")
    if expiration is None:
        raise KhqrError(
            "EXPIRATION_TIMESTAMP_REQUIRED",
            "a dynamic code (with an amount) needs expiration_ms",
            field="expiration_ms",
        )
    if len(str(expiration)) != 13:
        raise KhqrError(
            "EXPIRATION_TIMESTAMP_LENGTH_INVALID",
            f"expiration_ms {expiration} is not 13 digits of Unix milliseconds",
            field="expiration_ms",
        )
    if now_ms is None:
        now_ms = time.time_ns() // 1_000_000
    created = _millis(fields.created_ms, "created_ms")
    if created is None:
        created = now_ms
    if len(str(created)) != 13:
        raise KhqrError(
            "TIMESTAMP_INVALID",
            f"created_ms {created} is not 13 digits of Unix milliseconds",
            field="created_ms",
        )
    if expiration < created:
        raise KhqrError(
            "EXPIRATION_TIMESTAMP_IN_THE_PAST",
            f"expiration_ms {expiration} is before created_ms {created}",
            field="expiration_ms",
        )
    if expiration < now_ms:
        raise KhqrError(
            "KHQR_EXPIRED",
            f"expiration_ms {expiration} is before now ({now_ms})",
            field="expiration_ms",
        )
    return f"99340013{created}0113{expiration}"
