"""The committed SDK fixtures (tests/khqr/fixtures/sdk_cases.json), loaded once."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from payments.khqr import cli

FIXTURES = Path(__file__).parent / "fixtures" / "sdk_cases.json"

# What Tonle answers, on purpose, where the SDK is wrong (README: "Differences"):
# the error's name, or a pattern of names (fnmatch).
DIFFERENCES = {
    "amount_not_plain_decimal": "TRANSACTION_AMOUNT_INVALID",
    "template_over_99": "TEMPLATE_LENGTH_INVALID",
    "language_preference_required": "LANGUAGE_PREFERENCE_REQUIRED",
    # a number for a text field, longer than the field's limit: the SDK skips
    # its length check for numbers; Tonle checks the digits
    "number_past_limit": "*_LENGTH_INVALID",
    # a fraction or a boolean for a text field (the SDK writes "1.5" or "true"),
    # or a number for the account id (the SDK crashes)
    "not_text_or_int": "INVALID_FIELD_TYPE",
}

# SDK decode keys -> Tonle's DecodedKhqr fields.
SDK_DECODE_KEYS = {
    "merchantType": "type",
    "bakongAccountID": "bakong_account_id",
    "accountInformation": "account_information",
    "merchantID": "merchant_id",
    "acquiringBank": "acquiring_bank",
    "billNumber": "bill_number",
    "mobileNumber": "mobile_number",
    "storeLabel": "store_label",
    "terminalLabel": "terminal_label",
    "purposeOfTransaction": "purpose_of_transaction",
    "languagePreference": "language_preference",
    "merchantNameAlternateLanguage": "merchant_name_alternate_language",
    "merchantCityAlternateLanguage": "merchant_city_alternate_language",
    "creationTimestamp": "created_ms",
    "expirationTimestamp": "expiration_ms",
    "payloadFormatIndicator": "payload_format_indicator",
    "pointofInitiationMethod": "point_of_initiation",
    "unionPayMerchant": "upi_merchant_account",
    "merchantCategoryCode": "merchant_category_code",
    "transactionCurrency": "currency",
    "transactionAmount": "amount",
    "countryCode": "country_code",
    "merchantName": "merchant_name",
    "merchantCity": "merchant_city",
    "crc": "crc",
}


def _js(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$js"}:
            return Decimal(value["$js"])
        return {k: _js(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_js(v) for v in value]
    return value


@cache
def load() -> dict[str, Any]:
    text = FIXTURES.read_text(encoding="utf-8")
    return _js(cli.loads(text))


def encode_cases() -> list[dict[str, Any]]:
    return load()["encode"]


def decode_cases() -> list[dict[str, Any]]:
    return load()["decode"]


def sdk_decode_as_tonle(sdk: dict[str, Any]) -> dict[str, Any]:
    """The SDK's decode answer in Tonle's names and types."""
    out: dict[str, Any] = {}
    for key, ours in SDK_DECODE_KEYS.items():
        value = sdk.get(key)
        if ours == "type":
            value = {"29": "individual", "30": "merchant"}.get(value)
        elif ours == "point_of_initiation":
            value = {"11": "static", "12": "dynamic"}.get(value, value)
        elif ours == "currency":
            value = {"116": "KHR", "840": "USD", "764": "THB"}.get(value, value)
        elif ours in ("created_ms", "expiration_ms") and value is not None:
            # Tonle's timestamps are ints; a non-numeric one (ABA writes hex) is
            # None there and stays readable, as written, in ``tags``.
            value = int(value) if value.isdigit() else None
        out[ours] = value
    return out
