"""The FX rule of a cross-border line, with the bank's rounding allowed for.

`original_amount × fx_rate = |amount| + fee` holds only up to the precision the bank
printed: a rate written with six decimals stands for any rate within half a unit of
its last decimal, and the bank rounds the converted amount its own way (half up,
half even, down). So a line may differ from the product by up to

    |original_amount| × ½ unit of the rate's last printed decimal
    + 1 minor unit of the settlement currency

(DESIGN.md "FX on cross-border lines"). A larger difference is kept as the bank
wrote it and flagged (`fx_mismatch`), never a reason to refuse the bank's file.

Pure: no Django.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from core.money import quantum

FX_MISMATCH = "fx_mismatch"
RATE_MAX_CHARS = 40


def rate_from_text(text: object) -> Decimal:
    """The rate exactly as printed (its exponent kept: '0.027925' has 6 places,
    '0.0280' has 4); raises ValueError for anything that is not a positive number."""
    if isinstance(text, Decimal):
        rate = text
    elif isinstance(text, (bool, float)) or text is None:
        raise ValueError(f"{text!r} is not a rate written as text")
    else:
        try:
            rate = Decimal(str(text).strip().replace(",", ""))
        except InvalidOperation:
            raise ValueError(f"{text!r} is not a number") from None
    if not rate.is_finite() or rate <= 0:
        raise ValueError(f"{text!r} must be a positive number")
    # the ledger keeps a rate as its text (ExactDecimalField, 40 characters); past
    # that no bank printed it, and the product with an amount would overflow
    if len(format(rate, "f")) > RATE_MAX_CHARS:
        raise ValueError(f"{str(text)[:48]!r} is out of range for a rate")
    return rate


def fx_tolerance(original: Decimal, rate: Decimal, currency: str) -> Decimal:
    """How far |amount| + fee may lie from |original| × rate: the rate's printed
    precision carried through the original amount, plus one minor unit."""
    exponent = rate.as_tuple().exponent
    assert isinstance(exponent, int)  # a finite rate (rate_from_text checks)
    half_unit = Decimal(5).scaleb(exponent - 1)  # 0.027925 -> 0.0000005
    return abs(original) * half_unit + quantum(currency)


def fx_check(
    original: Decimal,
    rate_text: object,
    amount: Decimal,
    fee: Decimal | None,
    currency: str,
) -> Decimal | None:
    """None when `|amount| + fee` is `|original| × rate` within the bank-rounding
    tolerance; else the difference, (|amount| + fee) − |original| × rate, exact."""
    rate = rate_from_text(rate_text)
    converted = abs(original) * rate
    booked = abs(amount) + abs(fee or 0)
    difference = booked - converted
    if abs(difference) <= fx_tolerance(original, rate, currency):
        return None
    return difference


def fx_mismatch_message(
    *,
    original: Decimal,
    original_currency: str,
    rate_text: object,
    amount: Decimal,
    fee: Decimal | None,
    currency: str,
    difference: Decimal,
) -> str:
    """What an accountant needs to see about a flagged line, in one sentence."""
    rate = rate_from_text(rate_text)
    converted = abs(original) * rate
    booked = abs(amount) + abs(fee or 0)
    tolerance = fx_tolerance(original, rate, currency)
    return (
        f"{abs(original)} {original_currency} × {rate} = {converted} {currency}, but "
        f"|amount| + fee = {booked} {currency}: {difference:+} {currency}, beyond "
        f"the bank-rounding tolerance of ±{tolerance.normalize():f}"
    )
