from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import (
    Money,
    MoneyError,
    amount_to_wire,
    decimal_from_wire,
    format_amount,
    from_minor,
    parse_amount,
    quantize,
    to_minor,
)


def test_parse_amount_rejects_fractional_riel():
    with pytest.raises(MoneyError, match="riel amounts are whole numbers"):
        parse_amount("1000.5", "KHR")


def test_parse_amount_accepts_whole_riel_written_with_zero_cents():
    assert parse_amount("1000.00", "KHR") == Decimal("1000")


def test_parse_amount_rejects_a_third_usd_place():
    with pytest.raises(MoneyError, match="at most 2 decimal places"):
        parse_amount("1.005", "USD")


@pytest.mark.parametrize(
    "text", ["1,000", "1e3", "NaN", "inf", "", " ", "12a", "1.2.3", "-", "."]
)
def test_parse_amount_rejects_text_that_is_not_a_plain_decimal(text):
    with pytest.raises(MoneyError):
        parse_amount(text, "USD")


def test_parse_amount_refuses_floats():
    with pytest.raises(MoneyError, match="not float"):
        parse_amount(1.5, "USD")


def test_parse_amount_rejects_unknown_currency():
    with pytest.raises(MoneyError, match="unknown currency"):
        parse_amount("1", "EUR")


def test_quantize_rounds_half_up_not_to_even():
    assert quantize(Decimal("2.5"), "KHR") == Decimal("3")
    assert quantize(Decimal("0.125"), "USD") == Decimal("0.13")


def test_to_minor_refuses_inexact_amounts():
    with pytest.raises(MoneyError, match="more than 2 decimal places"):
        to_minor(Decimal("0.001"))


@given(st.integers(min_value=-(10**18), max_value=10**18))
def test_minor_units_round_trip_exactly(minor):
    assert to_minor(from_minor(minor)) == minor


def test_format_amount_groups_and_uses_currency_places():
    assert format_amount(Decimal("1234500"), "KHR") == "1,234,500 KHR"
    assert format_amount(Decimal("-12.5"), "USD") == "-12.50 USD"


def test_money_refuses_mixing_currencies():
    with pytest.raises(MoneyError, match="cannot mix KHR and USD"):
        Money(Decimal(1), "KHR") + Money(Decimal(1), "USD")


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (12.5, "12.5"),
        ("40000", "40000"),
        (" 0.10 ", "0.10"),
        (100, "100"),
        (0.1, "0.1"),
    ],
)
def test_decimal_from_wire_reads_numbers_and_strings_exactly(wire, expected):
    assert decimal_from_wire(wire) == Decimal(expected)
    assert str(decimal_from_wire(wire)) == expected


@pytest.mark.parametrize("wire", [None, True, [], {}, "abc", "NaN", "Infinity", ""])
def test_decimal_from_wire_refuses_what_is_not_an_amount(wire):
    with pytest.raises(MoneyError, match="amount"):
        decimal_from_wire(wire)


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (Decimal("-12.5"), "USD", "-12.50"),
        (Decimal("1234567.891"), "THB", "1234567.89"),
        (Decimal("1500.00"), "KHR", "1500"),
        (Decimal("1E+3"), "USD", "1000.00"),  # never an exponent on the wire
        (Decimal("0.005"), "USD", "0.01"),  # half up, never half even
        (None, "USD", None),
    ],
)
def test_amount_to_wire_writes_the_currencys_places_without_grouping(
    amount, currency, text
):
    assert amount_to_wire(amount, currency) == text


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2))
def test_amount_to_wire_reads_back_as_the_same_amount(amount):
    assert parse_amount(amount_to_wire(amount, "USD"), "USD") == amount
