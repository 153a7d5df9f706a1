"""Errors of the KHQR codec.

The first block carries the codes and messages of the NBC SDK (`bakong-khqr`,
``src/constant/errorCode.js``) unchanged, typos included, so that a developer moving
from the SDK sees the same answers. The second block is Tonle's own: inputs the SDK
accepts but should not (it then emits a code that banks refuse), numbered from 100.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErrorCode:
    name: str
    code: int
    message: str


_SDK_CODES = (
    ("BAKONG_ACCOUNT_ID_REQUIRED", 1, "Bakong Account ID cannot be null or empty"),
    ("MERCHANT_NAME_REQUIRED", 2, "Merchant name cannot be null or empty"),
    ("BAKONG_ACCOUNT_ID_INVALID", 3, "Bakong Account ID is invalid"),
    ("TRANSACTION_AMOUNT_INVALID", 4, "Amount is invalid"),
    ("MERCHANT_TYPE_REQUIRED", 5, "Merchant type cannot be null or empty"),
    ("BAKONG_ACCOUNT_ID_LENGTH_INVALID", 6, "Bakong Account ID Length is Invalid"),
    ("MERCHANT_NAME_LENGTH_INVALID", 7, "Merchant Name Length is invalid"),
    ("KHQR_INVALID", 8, "KHQR provided is invalid"),
    ("CURRENCY_TYPE_REQUIRED", 9, "Currency type cannot be null or empty"),
    ("BILL_NUMBER_LENGTH_INVALID", 10, "Bill Name Length is invalid"),
    ("STORE_LABEL_LENGTH_INVALID", 11, "Store Label Length is invalid"),
    ("TERMINAL_LABEL_LENGTH_INVALID", 12, "Terminal Label Length is invalid"),
    (
        "CONNECTION_TIMEOUT",
        13,
        "Cannot reach Bakong Open API service. Please check internet connection",
    ),
    ("INVALID_DEEP_LINK_SOURCE_INFO", 14, "Source Info for Deep Link is invalid"),
    ("INTERNAL_SREVER", 15, "Internal server error"),
    (
        "PAYLOAD_FORMAT_INDICATOR_LENGTH_INVALID",
        16,
        "Payload Format indicator Length is invalid",
    ),
    ("POINT_INITIATION_LENGTH_INVALID", 17, "Point of initiation Length is invalid"),
    ("MERCHANT_CODE_LENGTH_INVALID", 18, "Merchant code Length is invalid"),
    (
        "TRANSACTION_CURRENCY_LENGTH_INVALID",
        19,
        "Transaction currency Length is invalid",
    ),
    ("COUNTRY_CODE_LENGTH_INVALID", 20, "Country code Length is invalid"),
    ("MERCHANT_CITY_LENGTH_INVALID", 21, "Merchant city Length is invalid"),
    ("CRC_LENGTH_INVALID", 22, "CRC Length is invalid"),
    (
        "PAYLOAD_FORMAT_INDICATOR_TAG_REQUIRED",
        23,
        "Payload format indicator tag required",
    ),
    ("CRC_TAG_REQUIRED", 24, "CRC tag required"),
    ("MERCHANT_CATEGORY_TAG_REQUIRED", 25, "Merchant category tag required"),
    ("COUNTRY_CODE_TAG_REQUIRED", 26, "Country Code cannot be null or empty"),
    ("MERCHANT_CITY_TAG_REQUIRED", 27, "Merchant City cannot be null or empty"),
    ("UNSUPPORTED_CURRENCY", 28, "Unsupported currency"),
    ("INVALID_DEEP_LINK_URL", 29, "Deep Link URL is not valid"),
    ("MERCHANT_ID_REQUIRED", 30, "Merchant ID cannot be null or empty"),
    ("ACQUIRING_BANK_REQUIRED", 31, "Acquiring Bank cannot be null or empty"),
    ("MERCHANT_ID_LENGTH_INVALID", 32, "Merchant ID Length is invalid"),
    ("ACQUIRING_BANK_LENGTH_INVALID", 33, "Acquiring Bank Length is invalid"),
    ("MOBILE_NUMBER_LENGTH_INVALID", 34, "Mobile Number Length is invalid"),
    (
        "ACCOUNT_INFORMATION_LENGTH_INVALID",
        35,
        "Account Information Length is invalid",
    ),
    ("TAG_NOT_IN_ORDER", 36, "Tag is not in order"),
    (
        "LANGUAGE_PREFERENCE_REQUIRED",
        37,
        "Language Preference cannot be null or empty",
    ),
    (
        "LANGUAGE_PREFERENCE_LENGTH_INVALID",
        38,
        "Language Preference Length is invalid",
    ),
    (
        "MERCHANT_NAME_ALTERNATE_LANGUAGE_REQUIRED",
        39,
        "Merchant Name Alternate Language cannot be null or empty",
    ),
    (
        "MERCHANT_NAME_ALTERNATE_LANGUAGE_LENGTH_INVALID",
        40,
        "Merchant Name Alternate Language Length is invalid",
    ),
    (
        "MERCHANT_CITY_ALTERNATE_LANGUAGE_LENGTH_INVALID",
        41,
        "Merchant City Alternate Language Length is invalid",
    ),
    (
        "PURPOSE_OF_TRANSACTION_LENGTH_INVALID",
        42,
        "Purpose of Transaction Length is invalid",
    ),
    (
        "UPI_ACCOUNT_INFORMATION_LENGTH_INVALID",
        43,
        "Upi Account Information Length is invalid",
    ),
    (
        "UPI_ACCOUNT_INFORMATION_INVALID_CURRENCY",
        44,
        "Upi Account Information Length does not accept USD",
    ),
    (
        "EXPIRATION_TIMESTAMP_REQUIRED",
        45,
        "Expiration timestamp is required for dynamic KHQR",
    ),
    ("KHQR_EXPIRED", 46, "This dynamic KHQR has expired"),
    (
        "INVALID_DYNAMIC_KHQR",
        47,
        "This dynamic KHQR has invalid field transaction amount",
    ),
    ("POINT_OF_INITIATION_METHOD_INVALID", 48, "Point of Initiation Method is invalid"),
    (
        "EXPIRATION_TIMESTAMP_LENGTH_INVALID",
        49,
        "Expiration timestamp length is invalid",
    ),
    ("EXPIRATION_TIMESTAMP_IN_THE_PAST", 50, "Expiration timestamp is in the past"),
    ("INVALID_MERCHANT_CATEGORY_CODE", 51, "Invalid merchant category code"),
)

# Tonle's own refusals: each one is an input the SDK mishandles (see the README).
_TONLE_CODES = (
    (
        "TEMPLATE_LENGTH_INVALID",
        100,
        "Template is longer than 99 characters and cannot be encoded",
    ),
    ("INVALID_FIELD_TYPE", 101, "Field has the wrong type"),
    ("UNKNOWN_FIELD", 102, "Unknown field"),
    ("MERCHANT_TYPE_INVALID", 103, "Merchant type must be individual or merchant"),
    ("TIMESTAMP_INVALID", 104, "Timestamp must be a whole number of milliseconds"),
)

CODES: dict[str, ErrorCode] = {
    name: ErrorCode(name, code, message)
    for name, code, message in _SDK_CODES + _TONLE_CODES
}
BY_NUMBER: dict[int, ErrorCode] = {c.code: c for c in CODES.values()}


class KhqrError(ValueError):
    """The codec's one error: an SDK code and message, plus what exactly is wrong.

    ``code``, ``name`` and ``message`` are the SDK's; ``detail`` says in plain words
    what was refused and ``field`` names the input field (snake_case) when there is
    one.
    """

    def __init__(
        self, name: str, detail: str | None = None, *, field: str | None = None
    ) -> None:
        error = CODES[name]
        self.name = error.name
        self.code = error.code
        self.message = error.message
        self.detail = detail
        self.field = field
        super().__init__(f"{error.message}: {detail}" if detail else error.message)

    def as_dict(self) -> dict[str, object]:
        answer: dict[str, object] = {
            "error": self.name,
            "code": self.code,
            "message": self.message,
        }
        if self.detail:
            answer["detail"] = self.detail
        if self.field:
            answer["field"] = self.field
        return answer


class KhqrDecodeError(KhqrError):
    """The string is not well-formed EMVCo TLV (truncated, lying length, ...)."""

    def __init__(self, detail: str, *, offset: int | None = None) -> None:
        self.offset = offset
        super().__init__("KHQR_INVALID", detail)
