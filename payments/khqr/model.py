"""Plain dataclasses in and out of the codec (no Django here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from typing import Any, Literal

MerchantType = Literal["individual", "merchant"]

CURRENCY_NUMERIC = {"KHR": "116", "USD": "840", "THB": "764"}
CURRENCY_ALPHA = {v: k for k, v in CURRENCY_NUMERIC.items()}

# The SDK's input names (camelCase) for each of our snake_case fields.
SDK_NAMES = {
    "bakong_account_id": "bakongAccountID",
    "merchant_name": "merchantName",
    "merchant_city": "merchantCity",
    "merchant_id": "merchantID",
    "acquiring_bank": "acquiringBank",
    "account_information": "accountInformation",
    "amount": "amount",
    "currency": "currency",
    "bill_number": "billNumber",
    "mobile_number": "mobileNumber",
    "store_label": "storeLabel",
    "terminal_label": "terminalLabel",
    "purpose_of_transaction": "purposeOfTransaction",
    "language_preference": "languagePreference",
    "merchant_name_alternate_language": "merchantNameAlternateLanguage",
    "merchant_city_alternate_language": "merchantCityAlternateLanguage",
    "upi_merchant_account": "upiMerchantAccount",
    "merchant_category_code": "merchantCategoryCode",
    "expiration_ms": "expirationTimestamp",
}


@dataclass(frozen=True, slots=True)
class KhqrFields:
    """What to encode: the NBC SDK's IndividualInfo / MerchantInfo, snake_cased.

    ``amount`` is a ``Decimal`` (or an ``int``, or a plain decimal string such as
    ``"12.50"``); ``None`` or zero makes a static code. ``currency`` is ``"KHR"`` /
    ``"USD"`` (the SDK's numeric 116 / 840 are accepted too). Timestamps are Unix
    milliseconds; ``created_ms`` defaults to now. Text fields (all but
    ``bakong_account_id``) also take an ``int``, written as its digits, as the SDK
    does; 0 counts as empty there.
    """

    bakong_account_id: str | None
    merchant_name: str | int | None
    merchant_city: str | int | None = None
    type: MerchantType = "individual"
    merchant_id: str | int | None = None
    acquiring_bank: str | int | None = None
    account_information: str | int | None = None
    amount: Decimal | int | str | None = None
    currency: str | int | None = "KHR"
    bill_number: str | int | None = None
    mobile_number: str | int | None = None
    store_label: str | int | None = None
    terminal_label: str | int | None = None
    purpose_of_transaction: str | int | None = None
    language_preference: str | int | None = None
    merchant_name_alternate_language: str | int | None = None
    merchant_city_alternate_language: str | int | None = None
    upi_merchant_account: str | int | None = None
    merchant_category_code: str | int | None = None
    created_ms: int | None = None
    expiration_ms: int | None = None


@dataclass(frozen=True, slots=True)
class EncodedKhqr:
    qr: str
    md5: str


@dataclass(frozen=True, slots=True)
class Tlv:
    """One data object; ``children`` is set when the value is a parsed template."""

    tag: str
    value: str
    children: tuple[Tlv, ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.children is None:
            return {"tag": self.tag, "value": self.value}
        return {
            "tag": self.tag,
            "value": self.value,
            "children": [c.as_dict() for c in self.children],
        }


@dataclass(frozen=True, slots=True)
class PromptPay:
    """Thai PromptPay (ThaiQR) account template: credit transfer or bill payment."""

    aid: str
    kind: str  # mobile | national_id | ewallet | bank_account | bill_payment | other
    proxy: str | None = None  # the PromptPay id (phone, tax id, e-wallet id ...)
    biller_id: str | None = None
    reference_1: str | None = None
    reference_2: str | None = None


@dataclass(slots=True)
class DecodedKhqr:
    """Every field of a merchant-presented EMVCo QR, KHQR names where they exist.

    ``amount`` is the decimal string exactly as written in tag 54. ``currency`` is
    ``KHR`` / ``USD`` / ``THB`` when known, else the numeric code as written.
    ``is_khqr`` says whether the code follows the KHQR rules (time aside: an
    expired dynamic code is still a KHQR; ``verify`` also checks expiry), and
    ``reason`` says why not. ``tags`` is the whole TLV tree in the order written,
    nested templates parsed (built on first use: most callers never need it).
    """

    qr: str = field(repr=False)
    scheme: str  # khqr | promptpay | emvco
    payload_format_indicator: str | None = None
    point_of_initiation: str | None = None  # static | dynamic | raw value
    type: MerchantType | None = None
    bakong_account_id: str | None = None
    account_information: str | None = None
    merchant_id: str | None = None
    acquiring_bank: str | None = None
    upi_merchant_account: str | None = None
    merchant_category_code: str | None = None
    currency: str | None = None
    amount: str | None = None
    country_code: str | None = None
    merchant_name: str | None = None
    merchant_city: str | None = None
    postal_code: str | None = None
    bill_number: str | None = None
    mobile_number: str | None = None
    store_label: str | None = None
    loyalty_number: str | None = None
    reference_label: str | None = None
    customer_label: str | None = None
    terminal_label: str | None = None
    purpose_of_transaction: str | None = None
    language_preference: str | None = None
    merchant_name_alternate_language: str | None = None
    merchant_city_alternate_language: str | None = None
    created_ms: int | None = None
    expiration_ms: int | None = None
    promptpay: PromptPay | None = None
    crc: str | None = None
    crc_valid: bool = False
    is_khqr: bool = False
    reason: str | None = None
    reason_code: str | None = None

    @property
    def is_dynamic(self) -> bool:
        return self.point_of_initiation == "dynamic"

    @property
    def tags(self) -> tuple[Tlv, ...]:
        from .decoder import parse

        return parse(self.qr)

    def as_dict(self, *, with_tags: bool = False) -> dict[str, Any]:
        """JSON-ready dict: the DESIGN contract's field names, amount as text."""
        data = {name: getattr(self, name) for name in _DECODED_FIELDS}
        if self.promptpay is not None:
            data["promptpay"] = asdict(self.promptpay)
        if with_tags:
            data["tags"] = [t.as_dict() for t in self.tags]
        return data


# as_dict's keys: every field but the code itself, in order.
_DECODED_FIELDS = tuple(f.name for f in fields(DecodedKhqr) if f.name != "qr")


@dataclass(frozen=True, slots=True)
class Verification:
    valid: bool
    reason: str | None = None
    reason_code: str | None = None

    def __bool__(self) -> bool:
        return self.valid
