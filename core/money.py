"""Money: exact amounts as Decimal beside their currency. No Django imports.

The database keeps integer minor units with exponent 2 for every currency (ISO 4217
says 2 for KHR too); what differs per currency is how many places people see and may
type: whole riel for KHR, cents for USD and satang for THB.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

STORAGE_EXPONENT = 2
_STORAGE_QUANTUM = Decimal(1).scaleb(-STORAGE_EXPONENT)


@dataclass(frozen=True)
class Currency:
    code: str
    numeric: str
    places: int  # shown and entered
    symbol: str


CURRENCIES: dict[str, Currency] = {
    "KHR": Currency("KHR", "116", 0, "៛"),
    "USD": Currency("USD", "840", 2, "$"),
    "THB": Currency("THB", "764", 2, "฿"),
}
CURRENCY_CHOICES = [(code, code) for code in CURRENCIES]


class MoneyError(ValueError):
    """An amount that cannot be money in its currency."""


def currency_get(code: str) -> Currency:
    try:
        return CURRENCIES[code.upper()]
    except (KeyError, AttributeError):
        raise MoneyError(
            f"unknown currency {code!r}; use one of KHR, USD, THB"
        ) from None


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-currency_get(currency).places)


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round to the places shown for the currency, half up (never banker's)."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def parse_amount(text: str | int | Decimal, currency: str) -> Decimal:
    """Read an amount exactly; refuse text that is not a plain decimal number, and
    refuse more places than the currency has (fractional riel is an error)."""
    if isinstance(text, (float, bool)):
        raise MoneyError("amounts must be given as text or Decimal, not float")
    raw = str(text).strip()
    if not raw:
        raise MoneyError("amount is empty")
    if not _is_plain_decimal(raw):
        raise MoneyError(f"{raw!r} is not a plain decimal amount (digits and one '.')")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise MoneyError(f"{raw!r} is not a number") from None
    places = currency_get(currency).places
    if value != value.quantize(quantum(currency), rounding=ROUND_HALF_UP):
        if places == 0:
            raise MoneyError(f"{raw} {currency}: riel amounts are whole numbers")
        raise MoneyError(f"{raw} {currency}: at most {places} decimal places")
    return value + Decimal(0).scaleb(-places)  # normalise the exponent


def _is_plain_decimal(raw: str) -> bool:
    body = raw[1:] if raw[:1] in "+-" else raw
    whole, dot, frac = body.partition(".")
    if not whole and not frac:
        return False
    return (not whole or whole.isascii() and whole.isdigit()) and (
        not dot or (frac.isascii() and frac.isdigit())
    )


def decimal_from_wire(value: object) -> Decimal:
    """An amount as a wire format carries it (a JSON number or a string) as an exact
    Decimal, via its text; refuses missing values, booleans, containers, NaN and
    infinities. Floats go through repr, the shortest text that is that float."""
    if value is None or isinstance(value, bool | dict | list | tuple):
        raise MoneyError(f"{value!r} is not an amount")
    text = repr(value) if isinstance(value, float) else str(value).strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise MoneyError(f"{value!r} is not an amount") from None
    if not amount.is_finite():
        raise MoneyError(f"{value!r} is not a finite amount")
    return amount


def amount_to_wire(amount: Decimal | None, currency: str) -> str | None:
    """An amount as every wire format writes it (JSON, CSV, webhooks): signed, '.'
    decimal point, no grouping, the currency's places ('-12.50', '1500'); None stays
    None. A code outside the table keeps the amount's own places."""
    if amount is None:
        return None
    if currency not in CURRENCIES:
        return format(amount, "f")
    return format(quantize(amount, currency), "f")


def rate_to_wire(rate: Decimal | None) -> str | None:
    """An FX rate as it was printed: every decimal kept, never an exponent."""
    return None if rate is None else format(rate, "f")


def to_minor(amount: Decimal, currency: str | None = None) -> int:
    """Decimal major units -> integer minor units; refuses anything inexact."""
    if not isinstance(amount, Decimal):
        if isinstance(amount, int) and not isinstance(amount, bool):
            amount = Decimal(amount)
        else:
            raise MoneyError(f"amount must be Decimal, got {type(amount).__name__}")
    if not amount.is_finite():
        raise MoneyError("amount must be a finite number")
    scaled = amount.scaleb(STORAGE_EXPONENT)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount} has more than {STORAGE_EXPONENT} decimal places")
    if currency is not None and currency_get(currency).places == 0 and amount % 1:
        raise MoneyError(f"{amount} {currency}: riel amounts are whole numbers")
    return int(scaled)


def from_minor(minor: int) -> Decimal:
    return (Decimal(int(minor)).scaleb(-STORAGE_EXPONENT)).quantize(_STORAGE_QUANTUM)


def format_amount(amount: Decimal | None, currency: str, *, sign: bool = False) -> str:
    """'1,234,500 KHR', '-12.50 USD': grouped thousands, the currency's places."""
    if amount is None:
        return ""
    value = quantize(amount, currency)
    places = currency_get(currency).places
    text = f"{value:,.{places}f}"
    if sign and value > 0:
        text = "+" + text
    return f"{text} {currency_get(currency).code}"


def format_number(amount: Decimal | None, currency: str) -> str:
    """The amount alone, grouped, in the currency's places (for tables)."""
    if amount is None:
        return ""
    places = currency_get(currency).places
    return f"{quantize(amount, currency):,.{places}f}"


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise MoneyError("Money.amount must be a Decimal")
        currency_get(self.currency)

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot mix {self.currency} and {other.currency}")

    def __str__(self) -> str:
        return format_amount(self.amount, self.currency)
